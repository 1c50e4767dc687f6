// The whole system on loopback: an admin adds an allow exception for pupils in
// the admin UI, and real DNS queries (dig -b) see it at once: the name resolves
// for a pupil address and stays blocked for a guest address. An illegal name
// cannot be excepted. The change log shows the row.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../src/admin/users.js';
import { dig } from '../helpers/dig.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startGatehouse, type Running } from '../helpers/gatehouse.js';
import { havePrograms } from '../helpers/programs.js';
import { Client, type Harness } from './helpers.js';

const ready = havePrograms('dig');

describe.skipIf(!ready)('exceptions reach the resolver', () => {
  let upstream: FakeUpstream;
  let gh: Running;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-admin-system-'));
    upstream = await startFakeUpstream({ 'www.social.test': '192.0.2.77', 'www.abuse.test': '192.0.2.99' });
    writeFileSync(join(dir, 'social.txt'), 'social.test\n');
    writeFileSync(join(dir, 'iwf.txt'), 'abuse.test\n');
    gh = await startGatehouse(
      [
        'dns: { listen: ["127.0.0.1:0"], block: { mode: address, a: 10.0.0.1, aaaa: "::1", ttl: 60 } }',
        `links: [{ name: primary, upstreams: ["${upstream.url}"], timeoutMs: 1000 }]`,
        'health: { probeIntervalMs: 60000 }',
        'categories:',
        '  - { id: iwf, name: "Child abuse (IWF)", illegal: true, severity: critical }',
        '  - { id: social, name: Social networks }',
        'lists:',
        `  - { id: iwf-list, category: iwf, source: "file:${join(dir, 'iwf.txt')}", format: domains }`,
        `  - { id: social-list, category: social, source: "file:${join(dir, 'social.txt')}", format: domains }`,
        'groups:',
        '  - { name: pupils, networks: ["127.0.0.2/32"], block: [social] }',
        '  - { name: guests, default: true, block: [social] }',
        `store: { path: ${join(dir, 'gatehouse.db')} }`,
        'admin: { listen: "127.0.0.1:0", blockPage: { listen: "127.0.0.1:0" } }',
      ].join('\n'),
      { admin: true },
    );
  });

  afterAll(async () => {
    await gh?.stop();
    await upstream?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const ask = async (from: string, name: string) => (await dig('127.0.0.1', gh.port, name, 'A', ['-b', from])).answers.at(-1)?.data;

  it('applies an allow exception for pupils at once, and refuses one for illegal content', async () => {
    expect(await ask('127.0.0.2', 'www.social.test')).toBe('10.0.0.1');
    expect(await ask('127.0.0.4', 'www.social.test')).toBe('10.0.0.1');

    const db = gh.app.db;
    await createUser(db, { name: 'itlead', role: 'admin', password: 'Install-Day1', actor: 'test', now: Date.now() });
    // The running app's admin UI, driven through inject with the real clock.
    const c = new Client({ app: gh.app.admin!, db, clock: { now: Date.now() } } as unknown as Harness);
    await c.login('itlead', 'Install-Day1', 'Term-Starts2');

    const record = {
      action: 'allow',
      groups: ['pupils'],
      requester: 'Ms Khan',
      subjectArea: 'Media studies',
      reason: 'Platform analysis',
      approver: 'Mr Jones',
    };
    expect((await c.post('/exceptions', { ...record, domain: 'social.test' })).headers.location).toBe('/exceptions?done=added');
    expect(await ask('127.0.0.2', 'www.social.test')).toBe('192.0.2.77');
    expect(await ask('127.0.0.4', 'www.social.test')).toBe('10.0.0.1');

    const illegal = await c.post('/exceptions', { ...record, domain: 'www.abuse.test' });
    expect(illegal.statusCode).toBe(422);
    expect(illegal.body).not.toContain('iwf-list');
    expect(await ask('127.0.0.2', 'www.abuse.test')).toBe('10.0.0.1');

    const log = (await c.get('/changelog')).body;
    expect(log).toContain('Chain verified');
    expect(log).toContain('Platform analysis');
  });
});
