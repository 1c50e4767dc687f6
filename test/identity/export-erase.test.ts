// Subject access and erasure end to end through the CLI (child processes), on
// a database with a person's query-log rows on two devices and addresses, an
// alert with its history and outcome, a review request and an old RADIUS
// record: `identity export` holds them all in a ZIP a DPO can open;
// `identity erase` leaves no trace of their user name, email or display name
// (`strings` over the database, its WAL and a backup made afterwards), keeps
// every count, and writes one change-log row that does not name them.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { unzipSync, strFromU8 } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReviewRequest } from '../../src/changes/review-request.js';
import { ensureSeeded } from '../../src/changes/seed.js';
import { loadConfig } from '../../src/config.js';
import { verifyChain } from '../../src/admin/changelog.js';
import { AlertEngine } from '../../src/alerts/engine.js';
import { recordRequester } from '../../src/identity/review-requests.js';
import { newBatch, pushRow } from '../../src/store/batch.js';
import { openDatabase } from '../../src/store/db.js';
import { topClients } from '../../src/store/rollups.js';
import { search } from '../../src/store/search.js';
import { LogWriter } from '../../src/store/writer.js';
import { parseAlerts } from '../alerts/helpers/setup.js';
import { runCli } from '../helpers/cli.js';
import { havePrograms } from '../helpers/programs.js';

const run = promisify(execFile);
const NAMES = ['jquartermaine', 'Josephine Quartermaine', 'jq.pupil@school.example', 'Quartermaine', 'Josephines-iPad'];
const T0 = Date.UTC(2026, 6, 14, 9, 0, 0);

describe.skipIf(!havePrograms('strings', 'unzip'))('identity export and erase through the CLI', () => {
  let dir: string;
  let config: string;
  let db: string;
  let jo: number;
  let before: { rows: number; top: unknown };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-erase-'));
    db = join(dir, 'gatehouse.db');
    config = join(dir, 'gatehouse.yaml');
    writeFileSync(
      config,
      [
        'links: [{ name: p, upstreams: ["udp://127.0.0.1:9"] }]',
        'categories: [{ id: adult, name: Adult content, severity: high }, { id: iwf, name: IWF list, illegal: true, severity: critical }]',
        'groups: [{ name: pupils, default: true, block: [adult] }]',
        `store: { path: ${db} }`,
      ].join('\n'),
    );
    const d = openDatabase(db);
    const person = d.prepare(
      'INSERT INTO identity_people (user_key, display_name, email, aliases_json, in_roster, roster_source, first_seen, last_seen, updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, 0) RETURNING id',
    );
    // Josephine has left: taken off the roster (its import keeps her details), nobody has her address.
    jo = person
      .pluck()
      .get('jquartermaine', 'Josephine Quartermaine', 'jq.pupil@school.example', '["jq2019"]', 0, 'file:roster.csv', T0) as number;
    const other = person.pluck().get('akhan', 'Aisha Khan', 'akhan@school.example', '[]', 1, 'file:roster.csv', T0) as number;
    const device = d.prepare(
      'INSERT INTO identity_devices (key, host_name, named, name, owner, first_seen, last_seen, updated_at) VALUES (?, ?, ?, ?, ?, 0, 0, 0) RETURNING id',
    );
    const ipad = device.pluck().get('mac:02:00:00:00:00:01', 'Josephines-iPad', 0, null, null) as number;
    const laptop = device.pluck().get('mac:02:00:00:00:00:02', 'lib-03', 1, 'Library laptop 3', 'jq.pupil@school.example') as number;
    const kiosk = device.pluck().get('mac:02:00:00:00:00:03', 'kiosk', 0, null, null) as number;
    d.prepare(
      "INSERT INTO identity_addresses (source, address, person_id, device_id, user_name, mac, origin, session_id, started_at, updated_at, expires_at) VALUES ('radius', '10.0.0.5', ?, ?, 'SCHOOL\\JQuartermaine', '02:00:00:00:00:01', '10.0.0.1', 's1', ?, ?, ?)",
    ).run(jo, ipad, T0, T0, T0 + 3_600_000);
    // Rows rewritten over time (a roster change, Interim-Updates) leave old copies in the pages' free space.
    for (const name of ['Josephine Q', 'Josephine Quartermaine (Y9)', 'Josephine Quartermaine'])
      d.prepare('UPDATE identity_people SET display_name = ?, last_seen = last_seen + 1 WHERE id = ?').run(name, jo);
    for (let i = 1; i <= 3; i++)
      d.prepare('UPDATE identity_addresses SET updated_at = ?, session_id = ? WHERE person_id = ?').run(
        T0 + i * 600_000,
        `s${'1'.repeat(i)}`,
        jo,
      );
    const writer = new LogWriter(d);
    writer.setDictionaries({ groups: ['pupils'], categories: ['adult', 'iwf'], links: ['p'], illegal: [false, true] });
    const b = newBatch(200);
    for (let i = 0; i < 60; i++)
      pushRow(
        b,
        T0 + i * 60_000,
        '10.0.0.5',
        0,
        `site${i % 9}.example`,
        1,
        i % 10 === 0 ? 1 : 0,
        i % 10 === 0 ? 0 : -1,
        0,
        0,
        100,
        false,
        -1,
        -1,
        false,
        0,
        jo,
        ipad,
      );
    for (let i = 0; i < 30; i++)
      pushRow(b, T0 + i * 60_000 + 500, '10.0.0.6', 0, `lib${i % 4}.example`, 1, 0, -1, 0, 0, 100, false, -1, -1, false, 0, jo, laptop);
    for (let i = 0; i < 40; i++)
      pushRow(b, T0 + i * 60_000 + 700, '10.0.0.7', 0, `kiosk${i % 4}.example`, 1, 0, -1, 0, 0, 100, false, -1, -1, false, 0, other, kiosk);
    writer.writeBatch(b);
    const engine = new AlertEngine({ db: d, config: parseAlerts({}), categories: [{ id: 'adult', name: 'Adult content' }] });
    engine.observe({
      at: T0,
      client: '10.0.0.5',
      group: 'pupils',
      category: 'adult',
      severity: 'high',
      domain: 'site0.example',
      circumvention: false,
      illegal: false,
      personId: jo,
      deviceId: ipad,
    });
    engine.flush();
    const alertId = engine.list().items[0].id;
    engine.acknowledge(alertId, 'dsl');
    engine.close(alertId, 'dsl', 'Spoke with the pupil: Josephine Quartermaine said it was a mistake');
    await engine.stop();
    ensureSeeded(d, loadConfig(config), T0);
    const request = createReviewRequest(
      d,
      loadConfig(config),
      {
        domain: 'games.example',
        group: 'pupils',
        clientAddress: '10.0.0.5',
        requesterName: 'Josephine Quartermaine',
        reason: 'jquartermaine needs it for homework',
      },
      T0,
    );
    recordRequester(d, request, { personId: jo, deviceId: ipad });
    before = {
      rows: search(d, { from: 0, to: T0 + 86_400_000, limit: 10_000 }).rows.length,
      top: topClients(d, { from: 0, to: T0 + 86_400_000 }),
    };
    d.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('export holds everything about the person, readable as CSV and JSON, and nothing of anyone else', async () => {
    const out = join(dir, 'sar.zip');
    const r = await runCli(['identity', 'export', '--user', 'SCHOOL\\JQuartermaine', '--out', out, '--config', config]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`person #${jo}, 90 lookups, 1 alerts, 1 review requests`);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    // Unzipped as any tool would: a plain ZIP.
    const listing = await run('unzip', ['-l', out]);
    for (const f of ['README.txt', 'person.json', 'lookups.csv', 'alerts.csv', 'alert-history.csv', 'review-requests.csv'])
      expect(listing.stdout).toContain(f);
    const files = unzipSync(readFileSync(out));
    const text = (f: string) => strFromU8(files[f]);
    const person = JSON.parse(text('person.json'));
    expect(person.person).toMatchObject({
      id: jo,
      userName: 'jquartermaine',
      displayName: 'Josephine Quartermaine',
      email: 'jq.pupil@school.example',
      aliases: ['jq2019'],
    });
    expect(person.devices.map((x: { mac: string }) => x.mac).sort()).toEqual(['02:00:00:00:00:01', '02:00:00:00:00:02']);
    expect(person.counts).toEqual({ lookups: 90, alerts: 1, reviewRequests: 1 });
    const lookups = text('lookups.csv').trimEnd().split('\r\n');
    expect(lookups).toHaveLength(91);
    expect(lookups.slice(1).every((l) => l.includes(',jquartermaine,Josephine Quartermaine,'))).toBe(true);
    expect(text('lookups.csv')).not.toContain('kiosk');
    expect(text('alerts.csv')).toMatch(
      /Adult content,site0\.example,10\.0\.0\.5,Josephines-iPad,02:00:00:00:00:01,pupils,1,closed,Spoke with the pupil/,
    );
    expect(text('alert-history.csv').trimEnd().split('\r\n')).toHaveLength(3);
    expect(text('review-requests.csv')).toMatch(
      /R-0000\d\d,[^,]+,games\.example,,pupils,10\.0\.0\.5,Josephine Quartermaine,jquartermaine needs it for homework,draft/,
    );
    expect(text('README.txt')).toContain('data protection officer');
    // The export is change-logged: who, when, whose (by number only: the log is never edited, and an erasure must leave no name).
    const d = openDatabase(db, { readonly: true });
    const logged = d.prepare("SELECT actor, entity_id, after_json FROM change_log WHERE entity = 'person' AND action = 'export'").all() as {
      actor: string;
      entity_id: string;
      after_json: string;
    }[];
    d.close();
    expect(logged).toHaveLength(1);
    expect(logged[0].entity_id).toBe(String(jo));
    expect(logged[0].actor).toMatch(/^cli \(/);
    expect(JSON.parse(logged[0].after_json)).toEqual({ exported: `person #${jo}`, lookups: 90, alerts: 1, requests: 1 });
    expect(logged[0].after_json).not.toMatch(/quartermaine/i);
    // Never overwritten.
    expect((await runCli(['identity', 'export', '--user', 'jquartermaine', '--out', out, '--config', config])).code).toBe(1);
    expect((await runCli(['identity', 'export', '--user', 'nobody-here', '--out', join(dir, 'x.zip'), '--config', config])).code).toBe(3);
  });

  it('erase is refused without --yes, for a person on the roster, and with a reason that names them', async () => {
    let r = await runCli(['identity', 'erase', '--user', 'jquartermaine', '--reason', 'left', '--config', config]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('nothing changed: add --yes');
    r = await runCli(['identity', 'erase', '--user', 'akhan', '--reason', 'left', '--yes', '--config', config]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('still on the roster');
    r = await runCli([
      'identity',
      'erase',
      '--user',
      'jquartermaine',
      '--reason',
      'Josephine Quartermaine left',
      '--yes',
      '--config',
      config,
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('must not name the person');
    const d = openDatabase(db, { readonly: true });
    expect(d.prepare('SELECT count(*) FROM identity_people').pluck().get()).toBe(2);
    d.close();
  });

  it('erase leaves no trace of the name on disk, keeps every count, and change-logs it without the name', async () => {
    const r = await runCli([
      'identity',
      'erase',
      '--user',
      'jq.pupil@school.example',
      '--reason',
      'left July 2027; request of 2027-09-01',
      '--approved-by',
      'DPO',
      '--yes',
      '--config',
      config,
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`erased person #${jo}: 90 lookups, 1 alerts and 1 review requests keep their counts without the name`);
    const backup = join(dir, 'after.db');
    expect((await runCli(['backup', backup, '--db', db])).code).toBe(0);
    const files = [db, `${db}-wal`, backup].filter((f) => existsSync(f));
    for (const file of files) {
      const { stdout } = await run('strings', ['-a', '-n', '4', file], { maxBuffer: 256 * 2 ** 20 });
      for (const name of NAMES) expect(stdout.toLowerCase(), `${file} holds ${name}`).not.toContain(name.toLowerCase());
      // Not vacuous: the other pupil and the log's names are still there.
      if (file !== `${db}-wal`) {
        expect(stdout).toContain('Aisha Khan');
        expect(stdout).toContain('site1.example');
      }
    }
    const d = openDatabase(db, { readonly: true });
    try {
      const rows = search(d, { from: 0, to: T0 + 86_400_000, limit: 10_000 }).rows;
      expect(rows).toHaveLength(before.rows);
      expect(topClients(d, { from: 0, to: T0 + 86_400_000 })).toEqual(before.top);
      const hers = rows.filter((x) => x.client !== '10.0.0.7');
      expect(hers).toHaveLength(90);
      expect(hers.every((x) => x.user === null && x.erased)).toBe(true);
      // The school's device keeps its name; the iPad's host name went.
      expect(new Set(hers.map((x) => x.device))).toEqual(new Set([null, 'Library laptop 3']));
      expect(rows.filter((x) => x.client === '10.0.0.7').every((x) => x.user === 'akhan')).toBe(true);
      expect(search(d, { from: 0, to: T0 + 86_400_000, user: 'jquartermaine' }).rows).toEqual([]);
      const alert = d.prepare('SELECT person_id, outcome, count FROM alerts').get() as {
        person_id: number | null;
        outcome: string;
        count: number;
      };
      expect(alert).toEqual({ person_id: null, outcome: 'Spoke with the pupil: [erased] said it was a mistake', count: 1 });
      const change = d.prepare("SELECT * FROM change_log WHERE entity = 'person' AND action = 'erase'").all() as Record<string, string>[];
      expect(change).toHaveLength(1);
      expect(change[0]).toMatchObject({
        action: 'erase',
        entity_id: String(jo),
        approver: 'DPO',
        reason: 'left July 2027; request of 2027-09-01',
      });
      expect(change[0].actor).toMatch(/^cli \(/);
      expect(JSON.parse(change[0].after_json)).toEqual({
        erased: `person #${jo}`,
        kept: { lookups: 90, alerts: 1, requests: 1, devices: 2, addresses: 1 },
      });
      expect(verifyChain(d).ok).toBe(true);
      // The id is never given out again.
      expect(d.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'identity_people'").pluck().get()).toBeGreaterThanOrEqual(jo + 1);
    } finally {
      d.close();
    }
    expect(
      (await runCli(['identity', 'export', '--user', 'jquartermaine', '--out', join(dir, 'again.zip'), '--config', config])).code,
    ).toBe(3);
  });
});
