// The admin UI's subject access export and erasure, with inject, the real
// store and query-log writer: the DSL downloads a ZIP of everything held about
// a person (illegal names withheld, nobody else's rows); only an admin may
// erase, with a reason and the user name typed again; a person on the roster
// is refused with the reason shown; an erasure (in its worker, on its own
// connection) leaves the rows and counts without the name, is change-logged
// without it, and the person page is gone.
import { waitFor } from '../alerts/helpers/wait.js';
import { strFromU8, unzipSync } from 'fflate';
import { requestReference } from '../../src/admin/exceptions.js';
import { createReviewRequest } from '../../src/changes/review-request.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from './helpers.js';
import { loggedIn, pagesHarness, type PagesHarness } from './pages-helpers.js';

const GROUP = 0;
const CAT = { adult: 0, iwf: 1 };
const ILLEGAL = 'abuse-site.example';

describe('subject access export and erasure in the admin UI', () => {
  let h: PagesHarness;
  let admin: Client;
  let dsl: Client;
  let auditor: Client;
  let left: number;
  let onRoster: number;

  beforeAll(async () => {
    h = await pagesHarness({ deps: { isIllegal: (n) => n === ILLEGAL }, now: Math.floor(Date.now() / 60_000) * 60_000 });
    const person = h.db.prepare(
      'INSERT INTO identity_people (user_key, display_name, email, in_roster, roster_source, first_seen, last_seen, updated_at) VALUES (?, ?, ?, ?, ?, 0, 0, 0) RETURNING id',
    );
    left = person.pluck().get('tleaver', 'Tom <i>Leaver</i>', 'tleaver@school.example', 0, 'file:roster.csv') as number;
    onRoster = person.pluck().get('astays', 'Ann Stays', 'astays@school.example', 1, 'file:roster.csv') as number;
    const device = h.db
      .prepare(
        "INSERT INTO identity_devices (key, host_name, named, first_seen, last_seen, updated_at) VALUES ('mac:02:00:00:00:00:21', 'Toms-Phone', 0, 0, 0, 0) RETURNING id",
      )
      .pluck()
      .get() as number;
    const t = h.clock.now - 10 * 60_000;
    for (let i = 0; i < 12; i++)
      h.log.record(t + i * 1000, '127.0.0.7', GROUP, `tom${i}.example`, 1, 0, -1, 0, 0, 100, false, -1, -1, false, 0, left, device);
    h.log.record(t + 20_000, '127.0.0.7', GROUP, ILLEGAL, 1, 1, CAT.iwf, -1, 0, 10, false, -1, -1, false, 0, left, device);
    for (let i = 0; i < 3; i++)
      h.log.record(t + 30_000 + i, '127.0.0.8', GROUP, `ann${i}.example`, 1, 0, -1, 0, 0, 10, false, -1, -1, false, 0, onRoster, 0);
    await h.log.flush();
    admin = await loggedIn(h, 'itlead', 'admin');
    dsl = await loggedIn(h, 'dsl', 'dsl');
    auditor = await loggedIn(h, 'governor', 'auditor');
  });

  afterAll(async () => {
    await h?.close();
  });

  it('the DSL downloads everything held about the person as a ZIP; an auditor may not', async () => {
    const page = await dsl.get(`/people/${left}`);
    expect(page.body).toContain(`href="/people/${left}/export.zip"`);
    expect(page.body).not.toContain('id="person-erase"');
    const res = await dsl.get(`/people/${left}/export.zip`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/zip');
    expect(res.headers['content-disposition']).toMatch(
      new RegExp(`attachment; filename="gatehouse-person-${left}-\\d{4}-\\d\\d-\\d\\d\\.zip"`),
    );
    // Who exported whose data is change-logged, by the person's number only.
    // (Written once the ZIP has been written out, which may be just after the response ends.)
    const exported = () => h.db.prepare("SELECT actor, entity_id FROM change_log WHERE entity = 'person' AND action = 'export'").all();
    await waitFor(() => exported().length > 0, 5000, 'the export in the change log');
    expect(exported()).toEqual([{ actor: 'dsl (admin UI)', entity_id: String(left) }]);
    const files = unzipSync(new Uint8Array(res.rawPayload));
    expect(Object.keys(files).sort()).toEqual([
      'README.txt',
      'alert-history.csv',
      'alerts.csv',
      'lookups.csv',
      'person.json',
      'review-requests.csv',
    ]);
    const lookups = strFromU8(files['lookups.csv']);
    expect(lookups.trimEnd().split('\r\n')).toHaveLength(14);
    expect(lookups).toContain('tom3.example');
    expect(lookups).not.toContain(ILLEGAL);
    expect(lookups).toContain('withheld');
    expect(lookups).not.toContain('ann');
    expect(JSON.parse(strFromU8(files['person.json'])).person).toMatchObject({
      id: left,
      userName: 'tleaver',
      displayName: 'Tom <i>Leaver</i>',
    });
    expect(strFromU8(files['README.txt'])).toContain('dsl (admin UI)');
    expect((await auditor.get(`/people/${left}/export.zip`)).statusCode).toBe(403);
    expect((await dsl.get('/people/999999/export.zip')).statusCode).toBe(404);
  });

  it('a review request never puts the pupil’s typed name or reason into the change log', async () => {
    const id = createReviewRequest(
      h.db,
      h.config,
      { domain: 'homework.example', group: 'pupils', clientAddress: '127.0.0.7', requesterName: 'Tom Leaver', reason: 'for science' },
      h.clock.now,
    );
    // Each step of the request is a change-log row, which cannot be edited or erased: named by the reference only.
    const log = h.db.prepare("SELECT * FROM change_log WHERE entity = 'change' AND entity_id = ?").all(String(id));
    expect(log.length).toBeGreaterThan(0);
    expect(JSON.stringify(log)).not.toContain('Tom Leaver');
    expect(JSON.stringify(log)).not.toContain('for science');
    expect(JSON.stringify(log)).toContain(requestReference(id));
    h.db.prepare("UPDATE change_requests SET status = 'withdrawn' WHERE id = ?").run(id);
  });

  it('only an admin may erase, and only with a reason and the user name typed again', async () => {
    expect((await dsl.get(`/people/${left}/erase`)).statusCode).toBe(403);
    expect((await dsl.post(`/people/${left}/erase`, { reason: 'left', confirm: 'tleaver' })).statusCode).toBe(403);
    const form = await admin.get(`/people/${left}`);
    expect(form.body).toContain(`href="/people/${left}/erase"`);
    const page = await admin.get(`/people/${left}/erase`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Tom &lt;i&gt;Leaver&lt;/i&gt;');
    let res = await admin.post(`/people/${left}/erase`, { reason: 'left in July', approver: 'DPO', confirm: 'tleavr' });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('does not match: nothing was erased');
    res = await admin.post(`/people/${left}/erase`, { reason: '', confirm: 'tleaver' });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('Give the reason');
    // Without the CSRF token: refused before anything happens.
    res = await admin.post(`/people/${left}/erase`, { reason: 'left', confirm: 'tleaver' }, { csrf: false });
    expect(res.statusCode).toBe(403);
    res = await admin.post(`/people/${onRoster}/erase`, { reason: 'left', confirm: 'astays' });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('Not erased: #' + onRoster + ' is still on the roster');
    res = await admin.post(`/people/${left}/erase`, { reason: 'TLeaver left', confirm: 'tleaver' });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('must not name the person');
    expect(h.db.prepare('SELECT count(*) FROM identity_people').pluck().get()).toBe(2);
  });

  it('an erasure keeps the rows and counts without the name, and is change-logged without it', async () => {
    const res = await admin.post(`/people/${left}/erase`, {
      reason: 'left July 2027; request of 2027-09-01',
      approver: 'DPO',
      confirm: 'TLEAVER',
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.body).toContain(`Person #${left} was erased. 13 lookups, 0 alerts and`);
    expect((await admin.get(`/people/${left}`)).statusCode).toBe(404);
    const log = await admin.get('/querylog?client=127.0.0.7');
    expect(log.body.match(/tom\d+\.example/g)).toHaveLength(12);
    expect(log.body).not.toContain('tleaver');
    expect(log.body).not.toContain('Toms-Phone');
    const change = h.db
      .prepare("SELECT actor, action, approver, reason, after_json FROM change_log WHERE entity = 'person' AND action = 'erase'")
      .get() as Record<string, string>;
    expect(change).toMatchObject({ actor: 'itlead', action: 'erase', approver: 'DPO', reason: 'left July 2027; request of 2027-09-01' });
    expect(change.after_json).not.toMatch(/tleaver|Leaver/i);
    const stillThere = await admin.get(`/people/${onRoster}`);
    expect(stillThere.statusCode).toBe(200);
  });
});
