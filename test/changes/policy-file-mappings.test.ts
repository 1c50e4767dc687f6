// Roster group mappings through the real command line: `policy export` writes
// them, an edited copy's `policy import` asks for the mapping differences as
// one change request, which changes nothing until an approver approves it;
// `identity show` reads the mappings in force from the policy, not the file;
// and on a database an older version seeded (no mappings in its policy yet)
// export and import refuse until the service has taken them from the file.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { verifyChain } from '../../src/admin/changelog.js';
import { ChangeControl } from '../../src/changes/service.js';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { openDatabase } from '../../src/store/db.js';
import { runCli } from '../helpers/cli.js';
import { head, serviceOn } from './helpers.js';

let dir: string;
let configFile: string;
const cli = (args: string[]) => runCli([...args, '--config', configFile]);
const record = ['--requester', 'Head of Year 9', '--subject-area', 'Pastoral', '--reason', 'Year 9 move to the sixth-form filter'];

const service = () => serviceOn(configFile);

const configText = (store: string, mappings: string) => `links: [{ name: primary, upstreams: ["udp://127.0.0.1:53"] }]
categories: [{ id: adult, name: Adult content }, { id: games, name: Games }]
groups:
  - { name: pupils, networks: ["10.1.0.0/16"], block: [adult, games] }
  - { name: sixthform, networks: ["10.2.0.0/16"], block: [adult] }
  - { name: staff, default: true }
store: { path: ${store} }
identity:
  groups: ${mappings}
`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gh-policy-mappings-'));
  configFile = join(dir, 'gatehouse.yaml');
  writeFileSync(
    configFile,
    configText(join(dir, 'gatehouse.db'), '[{ orgUnit: /Students, group: pupils }, { role: Teacher, group: staff }]'),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('roster group mappings in policy export and import', () => {
  it('exports them, imports an edited copy as one request, and applies it only once approved', async () => {
    service().close();
    const exported = await cli(['policy', 'export', '--out', join(dir, 'policy.yaml')]);
    expect(exported.code).toBe(0);
    const policy = parse(readFileSync(join(dir, 'policy.yaml'), 'utf8')) as { identityGroups: Record<string, string>[] };
    expect(policy.identityGroups).toEqual([
      { orgUnit: '/Students', group: 'pupils' },
      { role: 'Teacher', group: 'staff' },
    ]);
    policy.identityGroups = [
      { orgUnit: '/Students', group: 'pupils' },
      { orgUnit: '/Students/Year 12', group: 'sixthform' },
    ];
    writeFileSync(join(dir, 'edited.yaml'), JSON.stringify(policy));

    const imported = await cli(['policy', 'import', join(dir, 'edited.yaml'), ...record]);
    expect(imported.code, imported.err).toBe(0);
    expect(imported.out).toMatch(/^change request #2 submitted: it waits for an approver/);
    expect(imported.out).toContain(
      'People in org unit /Students/Year 12: Filtered as: the group of their network (no roster mapping) → sixthform',
    );
    expect(imported.out).toContain('People with role Teacher: Filtered as: staff → the group of their network (no roster mapping)');

    const s = service();
    expect(s.changes.doc.identityGroups).toHaveLength(2);
    expect(s.changes.doc.identityGroups[1]).toEqual({ role: 'Teacher', group: 'staff' });
    s.changes.approve(2, head);
    expect(s.changes.doc.identityGroups).toEqual(policy.identityGroups);
    expect(verifyChain(s.db).ok).toBe(true);
    s.close();
    expect((await cli(['policy', 'import', join(dir, 'edited.yaml'), ...record])).out).toMatch(/^no differences/);
  }, 60_000);

  it('imports a config file’s identity.groups, refusing a mapping to a group the policy does not have', async () => {
    const other = join(dir, 'other.yaml');
    writeFileSync(
      other,
      configText(join(dir, 'gatehouse.db'), '[{ orgUnit: /Students, group: pupils }, { yearGroup: "13", group: sixthform }]'),
    );
    const dry = await cli(['policy', 'import', other, ...record, '--dry-run']);
    expect(dry.code, dry.err).toBe(0);
    expect(dry.out).toContain('People in year group 13: Filtered as: the group of their network (no roster mapping) → sixthform');
    expect(dry.out).toContain(
      'People in org unit /Students/Year 12: Filtered as: sixthform → the group of their network (no roster mapping)',
    );
    // A policy file without the sixthform group, whose mappings still name it: refused, saying why, nothing written.
    const policy = parse((await cli(['policy', 'export'])).out) as { groups: { name: string }[] };
    policy.groups = policy.groups.filter((g) => g.name !== 'sixthform');
    writeFileSync(join(dir, 'dropped.yaml'), JSON.stringify(policy));
    const refused = await cli(['policy', 'import', join(dir, 'dropped.yaml'), ...record]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain(
      'roster mapping for org unit /Students/Year 12: there is no group "sixthform" in the policy (a group a roster mapping uses cannot be removed',
    );
    const s = service();
    expect(s.db.prepare('SELECT count(*) FROM change_requests').pluck().get()).toBe(2);
    s.close();
  }, 60_000);

  it('refuses export and import on a policy an older version seeded, until the service takes the mappings from the file', async () => {
    const file = join(dir, 'older.yaml');
    writeFileSync(file, configText(join(dir, 'older.db'), '[{ orgUnit: /Students, group: pupils }]'));
    const config = loadConfig(file);
    let db = openDatabase(config.store.path);
    new ChangeControl({ db, config: () => config, logger: silentLogger() }).load();
    // As the older version wrote it: no mappings in the policy.
    db.exec('DROP TRIGGER governed_policy_no_update');
    db.prepare("UPDATE governed_policy SET doc_json = json_remove(doc_json, '$.identityGroups')").run();
    db.close();
    const refused = await runCli(['policy', 'export', '--config', file]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('does not hold the roster group mappings yet: start (or restart) the service once');
    writeFileSync(join(dir, 'any.yaml'), 'kind: gatehouse-policy\ngroups: [{ name: staff, default: true }]\n');
    expect((await runCli(['policy', 'import', join(dir, 'any.yaml'), ...record, '--config', file])).err).toContain(
      'does not hold the roster group mappings yet',
    );
    db = openDatabase(config.store.path);
    new ChangeControl({ db, config: () => config, logger: silentLogger() }).load();
    db.close();
    const after = await runCli(['policy', 'export', '--config', file]);
    expect(after.code).toBe(0);
    expect((parse(after.out) as { version: number; identityGroups: unknown }).identityGroups).toEqual([
      { orgUnit: '/Students', group: 'pupils' },
    ]);
  }, 60_000);
});
