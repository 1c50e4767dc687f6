// The change-log pages: date filter, CSV export, board extract, and the
// broken-chain indicator after tampering.
import { afterEach, describe, expect, it } from 'vitest';
import { appendChange } from '../../src/admin/changelog.js';
import { addUser, Client, harness, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.close());

const DAY = 86_400_000;

async function auditorWithHistory() {
  h = await harness();
  await addUser(h, 'governor', 'auditor');
  const now = h.clock.now; // 2026-03-02
  appendChange(h.db, { actor: 'it', entity: 'exception', action: 'create', after: { domain: 'old.example.org' }, at: now - 90 * DAY });
  appendChange(h.db, {
    actor: 'it',
    entity: 'exception',
    action: 'create',
    after: { domain: 'recent.example.org' },
    reason: 'maths',
    at: now - 10 * DAY,
  });
  const c = new Client(h);
  await c.login('governor');
  return c;
}

describe('change-log pages', () => {
  it('filters by date', async () => {
    const c = await auditorWithHistory();
    const all = (await c.get('/changelog')).body;
    expect(all).toContain('old.example.org');
    expect(all).toContain('recent.example.org');
    const recent = (await c.get('/changelog?from=2026-02-01&to=2026-03-02')).body;
    expect(recent).not.toContain('old.example.org');
    expect(recent).toContain('recent.example.org');
    expect(
      (await c.api('GET', '/api/changelog?from=2026-02-01'))
        .json()
        .map((r: { after_json: string }) => r.after_json)
        .join(),
    ).not.toContain('old.');
  });

  it('exports CSV for the chosen dates', async () => {
    const c = await auditorWithHistory();
    const res = await c.get('/changelog.csv?from=2025-11-01&to=2025-12-31');
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toContain('attachment; filename="gatehouse-changes-from-2025-11-01-to-2025-12-31.csv"');
    const lines = res.body.trim().split('\r\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('old.example.org');
  });

  it('prints the last two months for the safeguarding board', async () => {
    const c = await auditorWithHistory();
    const body = (await c.get('/changelog/extract')).body;
    expect(body).toContain('Safeguarding board extract');
    expect(body).toContain('recent.example.org');
    expect(body).not.toContain('old.example.org');
    expect(body).toContain('data-print');
  });

  it('shows where the chain is broken', async () => {
    const c = await auditorWithHistory();
    expect((await c.get('/changelog')).body).toContain('Chain verified');
    h.db.exec('DROP TRIGGER change_log_no_update');
    h.db.prepare("UPDATE change_log SET reason = 'approved' WHERE after_json LIKE '%recent%'").run();
    const row = (h.db.prepare("SELECT id FROM change_log WHERE after_json LIKE '%recent%'").get() as { id: number }).id;
    expect((await c.get('/changelog')).body).toContain(`Chain broken at row ${row}`);
    expect((await c.api('GET', '/api/changelog/verify')).json()).toMatchObject({ ok: false, brokenAt: row });
  });
});
