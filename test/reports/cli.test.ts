// `gatehouse report` as a real process on a database holding a known week:
// the PDF read back with pdftotext holds the week's figures, the CSV its
// tables, the HTML file its charts; bad input gets a clear error.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/db.js';
import { runCli } from '../helpers/cli.js';
import { SmtpSink } from '../alerts/helpers/smtp.js';
import { WEEK, testConfig, testConfigYaml, writeKnownEvents, writeKnownWeeks } from './helpers.js';

let dir: string;
let configFile: string;

let smtp: SmtpSink;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gh-report-cli-'));
  configFile = join(dir, 'gatehouse.yaml');
  smtp = await SmtpSink.start();
  const alerts = `alerts:
  channels:
    email: { host: 127.0.0.1, port: ${smtp.port}, starttls: false, from: gatehouse@school.example, to: [it@school.example], timeoutMs: 2000 }`;
  writeFileSync(configFile, testConfigYaml(dir, alerts, '  board: { recipients: [chair@board.example] }'));
  const db = openDatabase(join(dir, 'gh.db'));
  writeKnownWeeks(db, testConfig(dir));
  writeKnownEvents(db);
  db.close();
}, 60_000);

afterAll(async () => {
  await smtp?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const week = ['--from', '2026-11-02', '--to', '2026-11-08'];

describe('gatehouse report', () => {
  it('writes the weekly report as a PDF with the week’s figures', async () => {
    const out = join(dir, 'weekly.pdf');
    const r = await runCli(['report', 'weekly', '--config', configFile, ...week, '--out', out]);
    expect(r.err).toContain('using database');
    expect(r.code).toBe(0);
    expect(readFileSync(out).subarray(0, 5).toString()).toBe('%PDF-');
    const text = execFileSync('pdftotext', ['-layout', out, '-'], { encoding: 'utf8' });
    expect(text).toContain('Weekly monitoring report');
    expect(text).toContain('St Åidan’s Academy');
    expect(text).toContain('Mon 2 Nov 2026 to Sun 8 Nov 2026');
    expect(text).toContain(WEEK.queries.toLocaleString('en-GB'));
    expect(text).toContain(WEEK.blocked.toLocaleString('en-GB'));
    expect(text).not.toContain(WEEK.illegalName);
  }, 60_000);

  it('writes the CSV of its tables and a stand-alone HTML file with its charts', async () => {
    const csv = join(dir, 'board.csv');
    expect(
      (await runCli(['report', 'board', '--config', configFile, '--from', '2026-10-01', '--to', '2026-11-30', '--out', csv])).code,
    ).toBe(0);
    const text = readFileSync(csv, 'utf8');
    expect(text).toMatch(/^report,board,/);
    expect(text).toContain('table,changes,Filtering changes');
    expect(text).toContain('Allow bbc.co.uk for pupils');
    expect(text).not.toContain('Zoë Brontë');
    const page = join(dir, 'weekly.html');
    expect((await runCli(['report', 'weekly', '--config', configFile, ...week, '--out', page])).code).toBe(0);
    const html = readFileSync(page, 'utf8');
    expect(html).toMatch(/<img src="data:image\/svg\+xml;base64,/);
    expect(html).toMatch(/@page\s*\{\s*size: A4/);
    expect(html).not.toContain(WEEK.illegalName);
  }, 60_000);

  it('sends the board extract now to its recipients through the outbox, and records the sending', async () => {
    const r = await runCli(['report', 'board', '--config', configFile, '--from', '2026-10-01', '--to', '2026-11-30', '--send']);
    expect(r.err).toContain('using database');
    expect(r.out).toMatch(/^sent \(sending \d+\) by email$/m);
    const mails = smtp.mails.filter((m) => m.headers.get('x-gatehouse-kind') === 'report');
    expect(mails.length).toBe(1);
    expect(mails[0].to).toEqual(['chair@board.example']);
    expect(mails[0].raw).not.toContain('Zo=C3=AB'); // no pupil's name, in any encoding
    const db = openDatabase(join(dir, 'gh.db'), { readonly: true });
    try {
      const row = db
        .prepare(
          "SELECT s.requested_by, o.delivered_at FROM report_sendings s JOIN alert_outbox o ON o.kind = 'report' AND json_extract(o.payload, '$.sending') = s.id",
        )
        .get() as { requested_by: string; delivered_at: number | null };
      expect(row.requested_by).toMatch(/^cli \(/);
      expect(row.delivered_at).not.toBeNull();
    } finally {
      db.close();
    }
  }, 60_000);

  it.each([
    [['report', 'daily'], /name one report: weekly, board or annual/],
    [['report', 'weekly', '--out', 'x.docx'], /must end in \.pdf, \.html or \.csv/],
    [['report', 'weekly', '--from', '2026-02-30'], /"2026-02-30" is not a date/],
    [['report', 'annual', '--from', '2025-01-01', '--to', '2026-11-30'], /at most 366/],
  ])('refuses %j with a clear error and writes nothing', async (args, message) => {
    const r = await runCli([...args, '--config', configFile]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });
});
