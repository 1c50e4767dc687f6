// deploy/nftables.conf: `nft --check` parses and validates the whole file
// without applying it. It runs inside a throwaway network namespace when it
// can (unshare -n), so this machine's own ruleset is never touched either way.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findProgram, havePrograms } from '../helpers/programs.js';

const repo = resolve(import.meta.dirname, '../..');
const file = join(repo, 'deploy/nftables.conf');
const text = readFileSync(file, 'utf8');

function nftCheck(path: string): { status: number | null; stderr: string; skipped?: string } {
  const nft = findProgram('nft')!;
  const unshare = findProgram('unshare');
  if (unshare) {
    const r = spawnSync(unshare, ['-n', nft, '-c', '-f', path], { encoding: 'utf8' });
    if (!/unshare failed|Operation not permitted/.test(r.stderr)) return { status: r.status, stderr: r.stderr };
  }
  const r = spawnSync(nft, ['-c', '-f', path], { encoding: 'utf8' });
  if (/Operation not permitted|Permission denied/.test(r.stderr))
    return { status: r.status, stderr: r.stderr, skipped: 'nft needs CAP_NET_ADMIN' };
  return { status: r.status, stderr: r.stderr };
}

describe('deploy/nftables.conf', () => {
  it('names the client interfaces, both internet links and Gatehouse at the top', () => {
    const head = text.slice(0, text.indexOf('table inet gatehouse'));
    for (const name of ['LAN_IFACES', 'WAN_PRIMARY', 'WAN_BACKUP', 'GATEHOUSE_V4', 'GATEHOUSE_V6']) {
      expect(head).toMatch(new RegExp(`^define ${name} = `, 'm'));
    }
  });

  it('redirects port 53 (UDP and TCP) and rejects port 853 (TCP and UDP) and known DoH addresses', () => {
    expect(text).toMatch(/meta l4proto \{ tcp, udp \} th dport 53 counter dnat ip to \$GATEHOUSE_V4/);
    expect(text).toMatch(/meta l4proto \{ tcp, udp \} th dport 53 counter dnat ip6 to \$GATEHOUSE_V6/);
    expect(text).toMatch(/tcp dport 853 counter reject/);
    expect(text).toMatch(/udp dport 853 counter reject/);
    expect(text).toMatch(/ip daddr @doh_v4 tcp dport 443 counter reject/);
    expect(text).toMatch(/ip6 daddr @doh_v6 udp dport 443 counter reject/);
    // Gatehouse's own DoT and DoH pass, before the rejects.
    const own = text.indexOf('ip daddr $GATEHOUSE_V4 tcp dport { 443, 853 } accept');
    expect(own).toBeGreaterThan(0);
    expect(own).toBeLessThan(text.indexOf('tcp dport 853 counter reject'));
    expect(text).toMatch(/ip6 daddr \$GATEHOUSE_V6 tcp dport \{ 443, 853 \} accept/);
    // The internet side is named only for NAT; the filtering follows the clients.
    expect(text).toMatch(/oifname \$WAN_IFACES masquerade/);
  });

  describe.skipIf(!findProgram('nft') && process.env.CI !== 'true')('with nft', () => {
    it('passes nft --check', (ctx) => {
      if (!havePrograms('nft')) return;
      const r = nftCheck(file);
      if (r.skipped) {
        // nft checks through the kernel's netlink interface: without the
        // privilege (an unprivileged CI container) there is nothing to check with.
        console.warn(`skipping: ${r.skipped}`);
        ctx.skip();
      }
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    });
  });
});
