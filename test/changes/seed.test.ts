// The first start on a database an older version filled: its exceptions move
// into the governed policy with their own record (change #2, after the seed),
// its pending block-page requests become drafts (never one that hit an
// illegal category), each with a change-log row, and the chain verifies.
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/admin/changelog.js';
import { listRequests } from '../../src/changes/store.js';
import { migrate, migrations } from '../../src/store/migrations.js';
import { changeHarness, type ChangeHarness } from './helpers.js';

let h: ChangeHarness;
afterEach(() => h?.close());

/** A database as version 5 left it, with exceptions and requests. */
function olderVersion(path: string): void {
  const db = new Database(path);
  migrate(db, migrations.slice(0, 5));
  const ins = db.prepare(
    `INSERT INTO exceptions (domain, action, groups_json, requester, subject_area, reason, approver, created_by, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, 'boss', 1700000000000)`,
  );
  ins.run('maps.example.org', 'allow', '["pupils"]', 'Ms Khan', 'Geography', 'Fieldwork', 'Mr Jones');
  ins.run('time-waster.example', 'deny', '["staff", "oldgroup"]', 'Head of Maths', 'Maths', 'Distracting', 'Mrs Patel');
  ins.run('gone.example', 'allow', '["oldgroup"]', 'x', 'y', 'z', 'w');
  const req = db.prepare(
    `INSERT INTO exception_requests (domain, category, group_name, client_address, requester_name, reason, created_at, status) VALUES (?, ?, ?, ?, ?, ?, 1700000000000, ?)`,
  );
  req.run('history.example.org', 'social', 'pupils', '10.0.0.7', 'Sam', 'project', 'pending');
  req.run('secret.example', 'iwf', 'pupils', '10.0.0.8', 'x', 'x', 'pending');
  req.run('old.example', null, 'pupils', '10.0.0.9', 'x', 'x', 'refused');
  db.close();
}

describe('the first start after upgrading', () => {
  it('moves the old exceptions and pending requests under change control, with their record', async () => {
    h = changeHarness({ db: olderVersion });
    await h.changes.start();
    expect(h.changes.version).toBe(2);
    expect(h.changes.doc.exceptions).toEqual([
      expect.objectContaining({
        id: 1,
        domain: 'maps.example.org',
        action: 'allow',
        groups: ['pupils'],
        requester: 'Ms Khan',
        approver: 'Mr Jones',
        changeId: 2,
      }),
      // A group the config no longer has is dropped from it; an exception left with none is not moved.
      expect.objectContaining({
        id: 2,
        domain: 'time-waster.example',
        action: 'deny',
        groups: ['staff'],
        approver: 'Mrs Patel',
        changeId: 2,
      }),
    ]);
    const requests = listRequests(h.db, {}).reverse();
    expect(requests.map((r) => [r.id, r.kind, r.status])).toEqual([
      [1, 'seed', 'applied'],
      [2, 'migration', 'applied'],
      [3, 'change', 'draft'],
    ]);
    expect(requests[2]).toMatchObject({ source: 'block-page', requester: 'Sam', reason: 'project', clientAddress: '10.0.0.7' });
    expect(requests[2].ops).toEqual([{ op: 'exception-add', domain: 'history.example.org', action: 'allow', groups: ['pupils'] }]);
    expect(JSON.stringify(requests)).not.toContain('secret.example');
    const log = h.db.prepare("SELECT entity_id, action FROM change_log WHERE entity = 'change' ORDER BY id").all();
    expect(log).toEqual([
      { entity_id: '1', action: 'seed' },
      { entity_id: '2', action: 'migration' },
      { entity_id: '3', action: 'create' },
    ]);
    expect(verifyChain(h.db).ok).toBe(true);
    // The old tables are kept, renamed, as they were.
    expect(h.db.prepare('SELECT count(*) FROM exceptions_before_change_control').pluck().get()).toBe(3);
  });
});
