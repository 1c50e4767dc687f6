// The policy as a file, through the real command line: the seeded first change,
// `policy export` → edit → `policy import` → approval → the policy says what
// the file says (and a second import finds no difference); a config file's
// groups imported; bad files, missing records and illegal names refused with
// nothing written; `change list` / `change show`; the hash chain throughout.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { verifyChain } from '../../src/admin/changelog.js';
import { getRequest } from '../../src/changes/store.js';
import { runCli } from '../helpers/cli.js';
import { head, serviceOn } from './helpers.js';

let dir: string;
let configFile: string;
const cli = (args: string[]) => runCli([...args, '--config', configFile]);
const record = ['--requester', 'Head of IT', '--subject-area', 'Whole school', '--reason', 'Termly policy review'];

/** Open change control on the database as the service would (seeding it the first time). */
const service = () => serviceOn(configFile);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gh-policy-file-'));
  writeFileSync(join(dir, 'iwf.txt'), 'abuse-site.example\n');
  configFile = join(dir, 'gatehouse.yaml');
  writeFileSync(
    configFile,
    `links: [{ name: primary, upstreams: ["udp://127.0.0.1:53"] }]
categories:
  - { id: adult, name: Adult content }
  - { id: games, name: Games }
  - { id: iwf, name: IWF list, illegal: true }
lists:
  - { id: iwf-list, category: iwf, source: "file:iwf.txt", format: domains }
groups:
  - { name: pupils, networks: ["10.1.0.0/16"], block: [adult, iwf] }
  - { name: guests, default: true, block: [adult] }
store: { path: ${join(dir, 'gatehouse.db')} }
`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('policy export and import', () => {
  it('refuses before the service has seeded the policy', async () => {
    const res = await cli(['policy', 'export']);
    expect(res.code).toBe(1);
    expect(res.err).toContain('start the service once');
  });

  it('exports the seeded first change, imports an edited copy as one request, and after approval the policy is the file', async () => {
    const s = service();
    expect(getRequest(s.db, 1)).toMatchObject({ kind: 'seed', status: 'applied' });
    s.close();
    const exported = await cli(['policy', 'export', '--out', join(dir, 'policy.yaml')]);
    expect(exported.code).toBe(0);
    expect(exported.err).toContain('wrote policy version 1');
    const text = readFileSync(join(dir, 'policy.yaml'), 'utf8');
    expect(text).toMatch(/^# Gatehouse filtering policy: the governed policy, version 1/);
    const policy = parse(text) as { kind: string; groups: { name: string; block: string[] }[]; exceptions: unknown[] };
    expect(policy.kind).toBe('gatehouse-policy');
    expect(policy.groups.map((g) => [g.name, g.block])).toEqual([
      ['pupils', ['adult']],
      ['guests', ['adult']],
    ]);
    // Edit: pupils block games too; allow a site for pupils.
    policy.groups[0].block.push('games');
    policy.exceptions = [{ domain: 'Maps.Example.org', action: 'allow', groups: ['pupils'] }];
    writeFileSync(join(dir, 'edited.yaml'), JSON.stringify(policy));

    const dry = await cli(['policy', 'import', join(dir, 'edited.yaml'), ...record, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.out).toContain('pupils: Blocked categories: Adult content → Adult content, Games');
    const imported = await cli(['policy', 'import', join(dir, 'edited.yaml'), ...record]);
    expect(imported.code).toBe(0);
    expect(imported.out).toMatch(/^change request #2 submitted: it waits for an approver/);
    expect(imported.out).toContain('pupils: Exception for maps.example.org: no exception → allowed (with its subdomains)');
    expect(imported.err).toContain('using database');

    const list = await cli(['change', 'list']);
    expect(list.out.split('\n')[0]).toMatch(/^#2\tsubmitted\t-\tpupils: /);
    const show = await cli(['change', 'show', '2']);
    expect(show.out).toContain('Asked for by:  Head of IT (Whole school)');
    expect(show.out).toMatch(/submit\s+cli \(/);

    const t = service();
    expect(t.changes.version).toBe(1); // nothing changed before approval
    t.changes.approve(2, head);
    expect(t.changes.doc.groups[0].block).toEqual(['adult', 'games']);
    expect(t.changes.doc.exceptions.map((e) => [e.domain, e.approver, e.requester])).toEqual([['maps.example.org', 'head', 'Head of IT']]);
    expect(verifyChain(t.db).ok).toBe(true);
    t.close();
    // The file now says what the policy says.
    const again = await cli(['policy', 'import', join(dir, 'edited.yaml'), ...record]);
    expect(again.out).toMatch(/^no differences/);
    const back = parse((await cli(['policy', 'export'])).out) as { version: number; exceptions: { domain: string; record: string }[] };
    expect(back.version).toBe(2);
    expect(back.exceptions).toEqual([
      expect.objectContaining({ domain: 'maps.example.org', record: expect.stringContaining('approved by head') }),
    ]);
  }, 60_000);

  it('imports the groups of a config file, leaving exceptions alone, and notes illegal categories it leaves out', async () => {
    const res = await cli(['policy', 'import', configFile, ...record, '--draft']);
    expect(res.code).toBe(0);
    expect(res.err).toContain('note: group pupils: iwf left out');
    expect(res.out).toMatch(/^change request #3 saved as a draft/);
    expect(res.out).toContain('pupils: Blocked categories: Adult content, Games → Adult content');
    expect(res.out).not.toContain('maps.example.org');
  }, 30_000);

  it('refuses bad files, a missing record and names on illegal lists, writing nothing', async () => {
    const s = service();
    const count = () => s.db.prepare('SELECT count(*) FROM change_requests').pluck().get();
    const before = count();
    const cases: [string, string, string[], RegExp][] = [
      ['broken.yaml', 'kind: gatehouse-policy\ngroups: [ {', record, /broken\.yaml/],
      [
        'unknown.yaml',
        JSON.stringify({ kind: 'gatehouse-policy', groups: [{ name: 'pupils', block: ['nosuch'], default: true }] }),
        record,
        /unknown category "nosuch"/,
      ],
      [
        'norecord.yaml',
        JSON.stringify({ kind: 'gatehouse-policy', groups: [{ name: 'pupils', default: true }] }),
        [],
        /Requester: which member of staff/,
      ],
      [
        'illegal.yaml',
        JSON.stringify({
          kind: 'gatehouse-policy',
          groups: [
            { name: 'pupils', networks: ['10.1.0.0/16'], block: ['adult', 'games'] },
            { name: 'guests', default: true, block: ['adult'] },
          ],
          exceptions: [
            { domain: 'maps.example.org', action: 'allow', groups: ['pupils'] },
            { domain: 'www.abuse-site.example', action: 'allow', groups: ['pupils'] },
          ],
        }),
        record,
        /illegal content/,
      ],
    ];
    for (const [name, text, args, message] of cases) {
      writeFileSync(join(dir, name), text);
      const res = await cli(['policy', 'import', join(dir, name), ...args]);
      expect([name, res.code]).toEqual([name, 1]);
      expect(res.err).toMatch(message);
    }
    expect(count()).toBe(before);
    expect(s.db.prepare("SELECT count(*) FROM change_requests WHERE ops_json LIKE '%abuse-site%'").pluck().get()).toBe(0);
    expect((await cli(['policy', 'import'])).code).toBe(2);
    s.close();
  }, 60_000);
});
