// A reload that reorders categories and adds a list: the matcher is rebuilt
// and the policy follows it, so the right names are blocked afterwards and
// answers keep coming throughout. The file's groups are not applied (the
// governed policy is): blocking the new category takes an approved change.
// A reload that drops a category the policy uses is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { startGatehouse, type Running } from '../helpers/gatehouse.js';
import { ask } from '../helpers/client.js';
import { parseConfig } from '../../src/config.js';

describe('reload with new categories and lists', () => {
  let up: FakeUpstream;
  let gh: Running;
  let dir: string;
  const text = (categories: string[], lists: string[], block: string) =>
    [
      'dns: { listen: ["127.0.0.1:0"], block: { mode: nxdomain } }',
      `links: [{ name: p, upstreams: ["${up.url}"] }]`,
      'health: { probeIntervalMs: 60000 }',
      'cache: { maxEntries: 0 }',
      `categories: [${categories.join(', ')}]`,
      `lists: [${lists.join(', ')}]`,
      `groups: [{ name: everyone, default: true, block: [${block}] }]`,
      `store: { path: ${join(dir, 'gh.db')} }`,
    ].join('\n');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-reload-'));
    writeFileSync(join(dir, 'gambling.txt'), 'casino.test\n');
    writeFileSync(join(dir, 'social.txt'), 'social.test\n');
    up = await startFakeUpstream({ 'www.casino.test': '192.0.2.1', 'www.social.test': '192.0.2.2', 'www.school.test': '192.0.2.3' });
    gh = await startGatehouse(
      text(
        ['{ id: gambling, name: Gambling }'],
        [`{ id: g, category: gambling, source: "file:${join(dir, 'gambling.txt')}", format: domains }`],
        'gambling',
      ),
    );
  });
  afterAll(async () => {
    await gh.stop();
    await up.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('blocks by the new categories once reloaded', async () => {
    expect((await ask(gh.port, 'www.casino.test')).rcode).toBe('NXDOMAIN');
    expect((await ask(gh.port, 'www.social.test')).addresses).toEqual(['192.0.2.2']);
    const next = parseConfig(
      text(
        ['{ id: social, name: Social }', '{ id: gambling, name: Gambling }'], // gambling moves from bit 0 to bit 1
        [
          `{ id: s, category: social, source: "file:${join(dir, 'social.txt')}", format: domains }`,
          `{ id: g, category: gambling, source: "file:${join(dir, 'gambling.txt')}", format: domains }`,
        ],
        'social, gambling',
      ),
      join(dir, 'gh.yaml'),
    );
    let failures = 0;
    let stop = false;
    const load = (async () => {
      while (!stop) {
        const r = await ask(gh.port, 'www.school.test').catch(() => undefined);
        if (!r || r.addresses[0] !== '192.0.2.3') failures++;
      }
    })();
    await gh.app.reload(next);
    stop = true;
    await load;
    expect(failures).toBe(0);
    expect((await ask(gh.port, 'www.casino.test')).rcode).toBe('NXDOMAIN');
    // The file now says "block social" too, but its groups are not the policy: not applied, and said so.
    expect((await ask(gh.port, 'www.social.test')).addresses).toEqual(['192.0.2.2']);
    expect(gh.app.changes.fileDiffers()).toBe(true);
    const c = gh.app.changes.create(
      {
        ops: [{ op: 'category-block', group: 'everyone', category: 'social' }],
        requester: 'Head of IT',
        subjectArea: 'whole school',
        reason: 'Social media off the school network',
        risk: 'low',
        backout: 'revert',
        source: 'test',
        submit: true,
      },
      { name: 'itlead', id: 1, role: 'admin' },
    );
    gh.app.changes.approve(c.id, { name: 'head', id: 2, role: 'approver', mfa: true });
    expect((await ask(gh.port, 'www.social.test')).rcode).toBe('NXDOMAIN');
    expect((await ask(gh.port, 'www.casino.test')).rcode).toBe('NXDOMAIN');
    expect((await ask(gh.port, 'www.school.test')).addresses).toEqual(['192.0.2.3']);
    expect(gh.app.changes.fileDiffers()).toBe(false);
  });

  it('refuses a reload that drops a category the governed policy uses, and keeps everything as it was', async () => {
    const without = parseConfig(
      text(
        ['{ id: social, name: Social }'],
        [`{ id: s, category: social, source: "file:${join(dir, 'social.txt')}", format: domains }`],
        'social',
      ),
      join(dir, 'gh.yaml'),
    );
    await expect(gh.app.reload(without)).rejects.toMatchObject({ code: 'GH_ERR_POLICY_CATEGORY' });
    expect((await ask(gh.port, 'www.casino.test')).rcode).toBe('NXDOMAIN');
    expect(gh.app.fileConfig.categories.map((c) => c.id)).toEqual(['social', 'gambling']);
  });
});
