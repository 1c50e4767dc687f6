// deploy/gatehouse.site.yaml is a valid config, and its public lists have the
// formats the real files have (read from ../shared/lists when it is there).
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

const SITE = new URL('../../deploy/gatehouse.site.yaml', import.meta.url).pathname;

describe('deploy/gatehouse.site.yaml', () => {
  const config = loadConfig(SITE);

  it('passes loadConfig with lists for every category a group blocks', () => {
    const listed = new Set(config.lists.map((l) => l.category));
    for (const g of config.groups) for (const c of g.block) if (c !== 'self-harm') expect(listed, `${g.name}: ${c}`).toContain(c);
    expect(listed).toContain('iwf');
    expect(listed).toContain('ctiru');
  });

  it('asks unbound on this machine on the primary link, where deploy/unbound.conf listens, and forwards on the satellite link', () => {
    const unbound = readFileSync(new URL('../../deploy/unbound.conf', import.meta.url), 'utf8');
    const [address, port] = /^\s*interface: ([\d.]+)@(\d+)$/m.exec(unbound)!.slice(1);
    expect(config.links.map((l) => l.name)).toEqual(['primary', 'satellite']);
    expect(config.links[0].upstreams).toEqual([`udp://${address}:${port}`]);
    expect(config.links[1].upstreams.every((u) => /^udp:\/\/(?!127\.)[\d.]+:53$/.test(u))).toBe(true);
    expect(config.links[1].timeoutMs).toBeGreaterThanOrEqual(3000);
  });

  it.each([
    ['blocklistproject.github.io', 'hosts'],
    ['/olbat/ut1-blacklists/', /^(domains|urls)$/],
    ['/hagezi/dns-blocklists/main/domains/', 'domains'],
  ] as const)('lists from %s are read as %s', (host, format) => {
    const lists = config.lists.filter((l) => l.source.includes(host));
    expect(lists.length).toBeGreaterThan(0);
    for (const l of lists) {
      expect(l.source.startsWith('https://')).toBe(true);
      expect(l.format).toMatch(format);
      if (l.source.includes('ut1-blacklists')) expect(l.format).toBe(l.source.endsWith('/urls') ? 'urls' : 'domains');
    }
  });

  it.skipIf(!existsSync(new URL('../../../shared/lists/ut1', import.meta.url).pathname))(
    'names UT1 categories that exist in the real lists',
    () => {
      for (const l of config.lists.filter((x) => x.source.includes('ut1-blacklists'))) {
        const cat = /blacklists\/([^/]+)\/(domains|urls)$/.exec(l.source)!;
        const file = new URL(`../../../shared/lists/ut1/${cat[1]}.${cat[2]}`, import.meta.url).pathname;
        // adult domains are too large to carry in ../shared; its urls list is there.
        expect(existsSync(file), file).toBe(true);
      }
    },
  );
});
