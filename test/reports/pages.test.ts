// The reports in the admin UI (app.inject, the real store): each role sees
// the reports it may (the weekly report names pupils: DSL and IT only), the
// board extract and the annual pack name no pupil, device or address, no
// report anywhere holds an illegal-category name, and the PDF and CSV
// downloads carry the page's figures.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAdminApp } from '../../src/admin/app.js';
import { silentLogger } from '../../src/log.js';
import { openDatabase } from '../../src/store/db.js';
import { Client, addReadyUser, type Harness } from '../admin/helpers.js';
import { WEEK, testConfig, writeKnownEvents, writeKnownWeeks } from './helpers.js';

let h: Harness;
let dir: string;
const week = 'from=2026-11-02&to=2026-11-08';
const clients: Record<string, Client> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gh-report-pages-'));
  const config = testConfig(dir);
  const db = openDatabase(config.store.path);
  writeKnownWeeks(db, config);
  writeKnownEvents(db);
  const clock = { now: Date.UTC(2026, 10, 10, 9) };
  const app = await buildAdminApp({ config, db, logger: silentLogger(), now: () => clock.now });
  h = {
    app,
    db,
    config,
    clock,
    policyCalls: [],
    async close() {
      await app.close();
      db.close();
    },
  };
  for (const [name, role] of [
    ['safeguard', 'dsl'],
    ['tech', 'admin'],
    ['governor', 'auditor'],
  ] as const) {
    await addReadyUser(h, name, role);
    clients[name] = new Client(h);
    await clients[name].login(name);
  }
}, 120_000);

afterAll(async () => {
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** What names a pupil, a device or an address in the known week. */
const PUPIL = ['Zoë Brontë', '10.1.0.'];

describe('report pages', () => {
  it('shows the weekly report to the DSL, with the week’s figures and who had the most blocks', async () => {
    const res = await clients.safeguard.get(`/reports/weekly?${week}`);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('Weekly monitoring report');
    expect(res.body).toContain(WEEK.queries.toLocaleString('en-GB'));
    expect(res.body).toContain('Zoë Brontë (10.1.0.9)');
    expect(res.body).toMatch(/<img src="data:image\/svg\+xml;base64,[^"]+" alt="Blocked lookups per day/);
    expect(res.body).toContain('data-print');
    expect(res.body).not.toContain(WEEK.illegalName);
  });

  it('refuses the weekly report to an auditor, and shows them the board extract and the annual pack without pupils', async () => {
    expect((await clients.governor.get(`/reports/weekly?${week}`)).statusCode).toBe(403);
    expect((await clients.governor.get(`/reports/weekly/pdf?${week}`)).statusCode).toBe(403);
    const index = await clients.governor.get('/reports');
    expect(index.body).not.toContain('data-report="weekly"');
    for (const kind of ['board', 'annual']) {
      const res = await clients.governor.get(`/reports/${kind}?from=2026-11-01&to=2026-11-30`);
      expect(res.statusCode).toBe(200);
      for (const p of [...PUPIL, WEEK.illegalName]) expect(res.body).not.toContain(p);
    }
    const board = await clients.governor.get('/reports/board?from=2026-11-01&to=2026-11-30');
    expect(board.body).toContain('Allow bbc.co.uk for pupils');
    expect(board.body).toContain('a review request from the block page');
    // From change control's record: the approver, the test of the applied change, the refusal.
    expect(board.body).toContain('passed: bbc.co.uk answers for pupils');
    expect(board.body).toContain('Allow games.example for pupils (refused)');
    expect(board.body).not.toContain('not for school');
    expect(board.body).toContain('Signature');
  });

  it('gives the PDF and the CSV of a report, and neither holds an illegal name or, for the board, a pupil', async () => {
    for (const kind of ['weekly', 'board', 'annual']) {
      const q = kind === 'weekly' ? week : 'from=2026-10-01&to=2026-11-30';
      const pdf = await clients.tech.get(`/reports/${kind}/pdf?${q}`);
      expect(pdf.statusCode).toBe(200);
      expect(pdf.headers['content-type']).toBe('application/pdf');
      const file = join(dir, `${kind}.pdf`);
      writeFileSync(file, pdf.rawPayload);
      const text = execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' });
      const csv = await clients.tech.get(`/reports/${kind}/csv?${q}`);
      expect(csv.statusCode).toBe(200);
      expect(csv.headers['content-disposition']).toMatch(/attachment; filename="gatehouse-.*\.csv"/);
      for (const body of [text, csv.body]) {
        expect(body).not.toContain(WEEK.illegalName);
        if (kind !== 'weekly') for (const p of PUPIL) expect(body).not.toContain(p);
      }
      if (kind === 'weekly') {
        expect(text).toContain(WEEK.blocked.toLocaleString('en-GB'));
        expect(csv.body).toContain('table,blocked-by-category');
      }
    }
  });

  it('says what is wrong with a bad period and makes nothing', async () => {
    const res = await clients.safeguard.get('/reports/weekly?from=2026-11-31');
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('is not a date');
    const back = await clients.safeguard.get('/reports/board?from=2026-11-08&to=2026-11-01');
    expect(back.statusCode).toBe(400);
    expect(back.body).toContain('ends');
  });
});
