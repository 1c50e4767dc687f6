// The whole system on loopback: an admin asks for an allow exception for
// pupils in the admin UI; real DNS queries (dig -b) see no change until an
// approver approves it, then the name resolves for a pupil address and stays
// blocked for a guest address. The change is tested against the running
// resolver and the result stored on it. An illegal name cannot be excepted.
// The change log shows the steps.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../src/admin/users.js';
import { getRequest } from '../../src/changes/store.js';
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
    await createUser(db, { name: 'head', role: 'approver', password: 'Install-Day1', actor: 'test', now: Date.now() });
    // The running app's admin UI, driven through inject with the real clock.
    const fake = { app: gh.app.admin!, db, clock: { now: Date.now() }, config: gh.config } as unknown as Harness;
    const c = new Client(fake);
    await c.login('itlead', 'Install-Day1', 'Term-Starts2');
    const head = new Client(fake);
    await head.login('head', 'Install-Day1', 'Senior-Leader3');

    const record = {
      what: 'exception',
      action: 'allow',
      groups: ['pupils'],
      requester: 'Ms Khan',
      subjectArea: 'Media studies',
      reason: 'Platform analysis',
      risk: 'low',
      backout: 'Revert it',
      submit: 'submit',
    };
    const asked = await c.post('/changes', { ...record, domain: 'social.test' });
    const id = Number(/\/changes\/(\d+)\?done=submitted/.exec(String(asked.headers.location))![1]);
    // Submitted, not approved: nothing changes.
    expect(await ask('127.0.0.2', 'www.social.test')).toBe('10.0.0.1');
    expect((await head.post(`/changes/${id}/approve`, {})).headers.location).toBe(`/changes/${id}?done=approved`);
    expect(await ask('127.0.0.2', 'www.social.test')).toBe('192.0.2.77');
    expect(await ask('127.0.0.4', 'www.social.test')).toBe('10.0.0.1');
    // Tested from a pupil address against the running resolver: success, and in the checks record.
    await gh.app.changes.idle();
    const tested = getRequest(db, id)!.test!;
    expect(tested).toMatchObject({ ok: true, summary: expect.stringContaining('1 of 1 checks passed') });
    expect(db.prepare('SELECT trigger, run_by, ok FROM checks WHERE id = ?').get(tested.checkId)).toEqual({
      trigger: 'change',
      run_by: `change #${id}`,
      ok: 1,
    });

    const illegal = await c.post('/changes', { ...record, domain: 'www.abuse.test' });
    expect(illegal.statusCode).toBe(422);
    expect(illegal.body).not.toContain('iwf-list');
    expect(await ask('127.0.0.2', 'www.abuse.test')).toBe('10.0.0.1');

    const log = (await c.get('/changelog')).body;
    expect(log).toContain('Chain verified');
    expect(log).toContain('Platform analysis');
  });
});
