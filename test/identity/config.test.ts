// The identity section of the config file: off by default, every error named
// by key and line, relative paths resolved from the config file.
import { describe, expect, it } from 'vitest';
import { parseConfig, ConfigError } from '../../src/config.js';

const base =
  'links: [{ name: p, upstreams: ["udp://127.0.0.1:53"] }]\ngroups: [{ name: pupils, networks: ["10.0.0.0/8"] }, { name: guests, default: true }]\n';

const problems = (text: string) => {
  try {
    parseConfig(base + text, '/etc/gatehouse/gatehouse.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  return [];
};

describe('identity config', () => {
  it('has every source off by default', () => {
    expect(parseConfig(base).identity).toEqual({ precedence: 'person', domains: [], dhcp: [], roster: [], groups: [] });
  });

  it('resolves relative paths from the config file', () => {
    const c = parseConfig(
      base +
        'identity:\n  dhcp: [{ format: kea, path: leases.csv }]\n  roster: [{ source: "file:roster.csv", format: google }]\n  radius: { listen: "0.0.0.0:1813", clients: [{ network: 10.0.0.0/24, secretFile: radius.secret }] }\n',
      '/etc/gatehouse/gatehouse.yaml',
    );
    expect(c.identity.dhcp[0]).toMatchObject({ path: '/etc/gatehouse/leases.csv', dateOrder: 'dmy', pollSeconds: 5 });
    expect(c.identity.roster[0]).toMatchObject({
      source: 'file:/etc/gatehouse/roster.csv',
      refresh: '*/15 * * * *',
      maxRemovedPercent: 50,
    });
    expect(c.identity.radius).toMatchObject({ sessionTimeoutSeconds: 3600, clients: [{ secretFile: '/etc/gatehouse/radius.secret' }] });
  });

  it.each([
    ['identity:\n  groups: [{ orgUnit: /Students, group: nobody }]\n', 'identity.groups[0].group: unknown group "nobody"'],
    [
      'identity:\n  groups: [{ orgUnit: /Students, role: x, group: pupils }]\n',
      'identity.groups[0]: give exactly one of orgUnit, role and yearGroup',
    ],
    [
      'identity:\n  radius: { listen: "0.0.0.0:1813", clients: [{ network: 10.0.0.0/24 }] }\n',
      'identity.radius.clients[0]: give exactly one of secret and secretFile',
    ],
    [
      'identity:\n  radius: { listen: "0.0.0.0:1813", clients: [{ network: 10.0.0.300/24, secret: x }] }\n',
      'identity.radius.clients[0].network: "10.0.0.300/24" is not a network in CIDR notation',
    ],
    ['identity:\n  dhcp: [{ format: isc, path: x }]\n', 'identity.dhcp[0].format:'],
    [
      'identity:\n  dhcp: [{ format: windows-csv, path: x, timezone: Mars/Olympus }]\n',
      'identity.dhcp[0].timezone: unknown time zone "Mars/Olympus"',
    ],
    ['identity:\n  roster: [{ source: "https://x/roster.csv", format: google }]\n', 'identity.roster[0].source: expected file:PATH'],
    ['identity:\n  precedence: device\n', 'identity.precedence:'],
  ])('names the key of %j', (text, message) => {
    expect(problems(text).join('\n')).toContain(message);
  });
});
