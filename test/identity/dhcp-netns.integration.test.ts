// DHCP leases end to end, with real parts: a real DHCP server (Kea, then
// dnsmasq) in one network namespace hands a lease to a real client (ISC
// dhclient, sending a host name) in another, over a veth pair the test makes.
// Gatehouse runs in the server's namespace, reads the server's real lease
// file, and the client's queries from its leased address (dig inside the
// client's namespace) arrive with its MAC and host name; `gatehouse identity
// show` (the CLI, another process) says the same; a released lease goes.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { findProgram, havePrograms } from '../helpers/programs.js';
import { canMakeNamespaces, makeVethPair, type VethPair } from '../helpers/netns.js';
import { parseDig } from '../helpers/dig.js';

const root = join(import.meta.dirname, '../..');
const namespaces = canMakeNamespaces();
if (!namespaces) {
  const message = 'network namespaces need root and iproute2 (ip netns)';
  if (process.env.CI === 'true') throw new Error(`${message}; CI runs as root`);
  console.warn(`skipping: ${message}`);
}
const ready = namespaces && havePrograms('kea-dhcp4', 'dnsmasq', 'dhclient', 'dig');

interface Probe {
  address: string;
  name: string;
  group: string;
  identity: { mac?: string; deviceName?: string; deviceId?: number; from: Record<string, string> } | null;
}

describe.skipIf(!ready)('DHCP lease files from real servers, in network namespaces', () => {
  const cleanups: (() => void | Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  const stopChild = async (child: ChildProcess) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await Promise.race([new Promise((r) => child.once('exit', r)), new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };

  async function scenario(server: 'kea' | 'dnsmasq') {
    const pair: VethPair = await makeVethPair();
    cleanups.push(() => pair.remove());
    const dir = mkdtempSync(join(tmpdir(), `gh-dhcp-${server}-`));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const leaseFile = join(dir, server === 'kea' ? 'kea-leases4.csv' : 'dnsmasq.leases');

    // The DHCP server, in the server namespace.
    let dhcpd: ChildProcess;
    if (server === 'kea') {
      writeFileSync(
        join(dir, 'kea.json'),
        JSON.stringify({
          Dhcp4: {
            'interfaces-config': { interfaces: [pair.serverIf], 'dhcp-socket-type': 'raw' },
            'lease-database': { type: 'memfile', persist: true, name: leaseFile, 'lfc-interval': 0 },
            'valid-lifetime': 600,
            subnet4: [{ id: 1, subnet: '198.18.0.0/24', pools: [{ pool: '198.18.0.100 - 198.18.0.150' }] }],
            loggers: [{ name: 'kea-dhcp4', output_options: [{ output: 'stdout' }], severity: 'WARN' }],
          },
        }),
      );
      dhcpd = pair.spawn(pair.server, findProgram('kea-dhcp4')!, ['-c', join(dir, 'kea.json')], {
        env: { ...process.env, KEA_PIDFILE_DIR: dir, KEA_LOCKFILE_DIR: dir },
        stdio: 'ignore',
      });
    } else {
      writeFileSync(leaseFile, '');
      dhcpd = pair.spawn(
        pair.server,
        findProgram('dnsmasq')!,
        [
          '-k',
          '--conf-file=/dev/null',
          '--port=0',
          `--interface=${pair.serverIf}`,
          '--bind-interfaces',
          '--dhcp-range=198.18.0.100,198.18.0.150,10m',
          `--dhcp-leasefile=${leaseFile}`,
          '--dhcp-authoritative',
          '--user=root',
          '--pid-file=',
        ],
        { stdio: 'ignore' },
      );
    }
    cleanups.push(() => stopChild(dhcpd));

    // Gatehouse, in the server namespace, listening on the veth address.
    writeFileSync(join(dir, 'adult.txt'), 'adult.test\n');
    const config = join(dir, 'gatehouse.yaml');
    writeFileSync(
      config,
      [
        `dns: { listen: ["${pair.serverAddress}:0"], block: { mode: address, a: 10.0.0.1, aaaa: "::1" } }`,
        'links: [{ name: primary, upstreams: ["udp://127.0.0.1:9"], timeoutMs: 300 }]',
        'health: { probeIntervalMs: 60000 }',
        'categories: [{ id: adult, name: Adult }]',
        `lists: [{ id: adult-list, category: adult, source: "file:${join(dir, 'adult.txt')}", format: domains }]`,
        'groups: [{ name: wifi, networks: ["198.18.0.0/24"], block: [adult] }, { name: guests, default: true, block: [adult] }]',
        `store: { path: ${join(dir, 'gatehouse.db')} }`,
        'checks: { schedule: "" }',
        `identity: { dhcp: [{ format: ${server}, path: ${leaseFile}, pollSeconds: 1 }] }`,
      ].join('\n'),
    );
    const gh = pair.spawn(
      pair.server,
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'fixtures/serve-probe.ts'), config],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    cleanups.push(() => stopChild(gh));
    const probes: Probe[] = [];
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('gatehouse did not start in the namespace')), 30_000);
      createInterface({ input: gh.stdout! }).on('line', (line) => {
        const m = /^ready (\d+)$/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        } else if (line.startsWith('{"probe"')) probes.push(JSON.parse(line) as Probe);
      });
      gh.once('exit', (code) => reject(new Error(`gatehouse exited (${code})`)));
    });

    // The DHCP client, in the client namespace, giving its host name.
    writeFileSync(join(dir, 'dhclient.conf'), 'send host-name "pupil-laptop";\n');
    writeFileSync(
      join(dir, 'dhclient-script'),
      '#!/bin/sh\ncase "$reason" in BOUND|RENEW|REBIND|REBOOT) ip addr add "$new_ip_address/24" dev "$interface" ;; esac\nexit 0\n',
      { mode: 0o755 },
    );
    const dhclientArgs = [
      '-cf',
      join(dir, 'dhclient.conf'),
      '-sf',
      join(dir, 'dhclient-script'),
      '-lf',
      join(dir, 'client.leases'),
      '-pf',
      join(dir, 'dhclient.pid'),
    ];
    const bound = await pair.exec(pair.client, findProgram('dhclient')!, ['-1', '-v', ...dhclientArgs, pair.clientIf], 60_000);
    cleanups.push(async () => {
      await pair.exec(pair.client, findProgram('dhclient')!, ['-x', ...dhclientArgs, pair.clientIf]).catch(() => undefined);
    });
    const leased = /bound to ([\d.]+)/.exec(bound.stdout + bound.stderr)?.[1];
    expect(leased, bound.stderr).toMatch(/^198\.18\.0\.1\d\d$/);
    const link = await pair.exec(pair.client, findProgram('ip')!, ['link', 'show', pair.clientIf]);
    const mac = /link\/ether ([0-9a-f:]{17})/.exec(link.stdout)![1];

    // The client's queries from its leased address carry its identity once Gatehouse has read the lease.
    const ask = async (name: string) => {
      const out = await pair.exec(pair.client, findProgram('dig')!, [
        `@${pair.serverAddress}`,
        '-p',
        String(port),
        name,
        'A',
        '+tries=1',
        '+time=3',
      ]);
      return parseDig(out.stdout);
    };
    let probe: Probe | undefined;
    const deadline = Date.now() + 15_000;
    for (let i = 0; Date.now() < deadline; i++) {
      const name = `www${i}.adult.test`;
      const answer = await ask(name);
      expect(answer.answers[0]?.data).toBe('10.0.0.1');
      await expect.poll(() => probes.find((p) => p.name === name)).toBeDefined();
      probe = probes.find((p) => p.name === name);
      if (probe?.identity) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(probe).toMatchObject({
      address: leased,
      group: 'wifi',
      identity: { mac, deviceName: 'pupil-laptop', from: { mac: 'dhcp', deviceName: 'dhcp' } },
    });
    expect(probe!.identity!.deviceId).toBeGreaterThan(0);

    // The CLI, another process, reads the same from the database.
    const show = async () => {
      const out = await pair
        .exec(
          pair.server,
          process.execPath,
          ['--import', 'tsx', join(root, 'src/cli.ts'), 'identity', 'show', leased!, '--json', '--config', config],
          60_000,
        )
        .catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
      return JSON.parse(out.stdout) as {
        identity?: { mac?: string; deviceName?: string };
        records: { source: string; origin: string; hostName?: string }[];
      };
    };
    await expect.poll(async () => (await show()).identity?.mac, { timeout: 20_000, interval: 500 }).toBe(mac);
    const view = await show();
    expect(view.identity?.deviceName).toBe('pupil-laptop');
    expect(view.records).toMatchObject([{ source: 'dhcp', origin: leaseFile, hostName: 'pupil-laptop' }]);

    // Releasing the lease takes the identity away.
    await pair.exec(pair.client, findProgram('dhclient')!, ['-r', ...dhclientArgs, pair.clientIf]);
    await expect.poll(async () => (await show()).identity, { timeout: 20_000, interval: 500 }).toBeUndefined();
  }

  it('Kea (memfile lease file) and dhclient', async () => {
    await scenario('kea');
  }, 120_000);

  it('dnsmasq (dnsmasq.leases) and dhclient', async () => {
    await scenario('dnsmasq');
  }, 120_000);
});
