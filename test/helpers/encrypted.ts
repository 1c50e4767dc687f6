// A real Gatehouse with DoH and DoT on loopback port 0, for the encrypted DNS
// tests: its own certificates (tls-certs.ts), an nsd behind it for gh.test,
// a roster with a pupil and a teacher, and 127.0.0.1 playing "outside the
// school" (dns.allowNetworks names 127.0.0.2/32 only), so requests from
// 127.0.0.1 need an identity and those from 127.0.0.2 are in school.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startGatehouse, type Running } from './gatehouse.js';
import { startNsd, type NsdServer } from './nsd.js';
import { makeDnsCerts, type DnsCerts } from './tls-certs.js';
import { findProgram } from './programs.js';
import { parseDig } from './dig.js';

const run = promisify(execFile);

export const SALT = 'gatehouse-salt-1';
export const INSIDE = '127.0.0.2';
export const OUTSIDE = '127.0.0.1';

export const GH_ZONE = `$ORIGIN gh.test.
$TTL 300
@ IN SOA ns.gh.test. admin.gh.test. 1 3600 600 86400 300
@ IN NS ns.gh.test.
ns IN A 192.0.2.1
www IN A 192.0.2.10
adult IN A 192.0.2.66
page IN A 127.0.0.1
`;

export interface EncryptedGatehouse {
  gh: Running;
  nsd: NsdServer;
  certs: DnsCerts;
  dir: string;
  dohPort: number;
  dotPort: number;
  stop(): Promise<void>;
}

/** Start nsd and Gatehouse with doh, dot and tls; `doh`, `dot` and `tls` add keys to their sections, `extra` is appended to the config (YAML). */
export async function startEncrypted(
  opts: { doh?: string; dot?: string; tls?: string; extra?: string; admin?: boolean } = {},
): Promise<EncryptedGatehouse> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-enc-'));
  const certs = makeDnsCerts(join(dir, 'certs'));
  const nsd = await startNsd({ 'gh.test': GH_ZONE });
  writeFileSync(join(dir, 'adult.txt'), 'adult.gh.test\n');
  writeFileSync(
    join(dir, 'roster.csv'),
    [
      'username,email,name,org_unit',
      'pupil1,pupil1@school.example,Pupil One,/Students/Year 9',
      'teacher1,teacher1@school.example,Teacher One,/Staff',
    ].join('\n') + '\n',
  );
  const config = [
    'dns:',
    '  listen: ["127.0.0.1:0"]',
    `  allowNetworks: ["${INSIDE}/32"]`,
    '  rebindProtection: { allowDomains: [gh.test] }',
    `links: [{ name: primary, upstreams: ["udp://127.0.0.1:${nsd.port}"], timeoutMs: 1500 }]`,
    'categories: [{ id: adult, name: Adult, severity: high }]',
    `lists: [{ id: adult-list, category: adult, source: "file:${join(dir, 'adult.txt')}", format: domains }]`,
    'groups:',
    '  - { name: pupils, block: [adult] }',
    '  - { name: staff }',
    '  - { name: guests, default: true, block: [adult] }',
    'identity:',
    `  roster: [{ source: "file:${join(dir, 'roster.csv')}", format: generic }]`,
    '  groups: [{ orgUnit: /Students, group: pupils }, { orgUnit: /Staff, group: staff }]',
    `doh: { listen: ["127.0.0.1:0"], chromeSalt: ${SALT}${opts.doh ? `, ${opts.doh}` : ''} }`,
    `dot: { listen: ["127.0.0.1:0"]${opts.dot ? `, ${opts.dot}` : ''} }`,
    `tls: { certFile: "${certs.cert}", keyFile: "${certs.key}", hostname: dns.test${opts.tls ? `, ${opts.tls}` : ''} }`,
    `store: { path: "${join(dir, 'gh.db')}" }`,
    opts.extra ?? '',
  ].join('\n');
  let gh: Running;
  try {
    gh = await startGatehouse(config, { admin: opts.admin ?? false });
  } catch (err) {
    await nsd.stop();
    throw err;
  }
  const addresses = gh.app.encrypted!.addresses();
  return {
    gh,
    nsd,
    certs,
    dir,
    dohPort: addresses.doh[0].port,
    dotPort: addresses.dot[0].port,
    async stop() {
      await gh.stop();
      await nsd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** kdig over DoH or DoT with the test CA, parsed loosely: status, answers, EDE, and the raw text (errors included). */
export async function kdigEncrypted(
  e: Pick<EncryptedGatehouse, 'certs' | 'dohPort' | 'dotPort'>,
  how: { doh?: string; get?: boolean; dot?: boolean; sni?: string; from?: string },
  name: string,
  type = 'A',
): Promise<{ status: string; answers: string[]; raw: string }> {
  const args = ['-b', how.from ?? INSIDE, '@127.0.0.1', '+retry=0', '+time=3', `+tls-ca=${e.certs.ca}`, '+tls-hostname=dns.test'];
  if (how.dot) args.push('-p', String(e.dotPort), '+tls', ...(how.sni ? [`+tls-sni=${how.sni}`] : []));
  else args.push('-p', String(e.dohPort), `+https=${how.doh ?? '/dns-query'}`, ...(how.get ? ['+https-get'] : []));
  let raw: string;
  try {
    raw = (await run(findProgram('kdig')!, [...args, name, type], { timeout: 15_000 })).stdout;
  } catch (err) {
    const x = err as { stdout?: string; stderr?: string };
    raw = `${x.stdout ?? ''}${x.stderr ?? ''}`;
  }
  const parsed = parseDig(raw);
  return { status: parsed.status, answers: parsed.answers.map((a) => a.data), raw };
}
