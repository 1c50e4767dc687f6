// How long a report takes over a year of a big school's traffic (issue 16:
// "any report over any period up to a year builds in under 2 s on a year of 5
// million queries a day"). Reports read the daily rollups (store/daily.ts),
// never the query log, so the year is made as the rollups 5 million queries a
// day leave: per day, traffic by 4 groups × 30 categories × 2 links × 3
// actions, the top 1,000 names by queries and by blocks (20,000 names in all),
// the safeguarding-relevant blocks of 3,000 client addresses, and the day's
// summary. Then each report is built (the data; `buildReport`) and drawn (PDF
// with its charts; `makeReport`) over a year, and the weekly over a week.
//
//   npx tsx bench/reports.ts [--rounds 3]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/config.js';
import { buildReport } from '../src/reports/build.js';
import { reportInput } from '../src/reports/input.js';
import { makeReport } from '../src/reports/make.js';
import type { ReportKind } from '../src/reports/model.js';
import { reportFont } from '../src/reports/render/pdf.js';
import { openDatabase } from '../src/store/db.js';
import { localDayOf, localDayStart, storeDay, type SpanRollup } from '../src/store/daily.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' } } });
const rounds = Number(values.rounds);
const ZONE = 'Europe/London';
const PER_DAY = 5_000_000;
const CATEGORIES = Array.from({ length: 30 }, (_, i) => `cat${i}`);
const GROUPS = ['pupils', 'staff', 'guests', 'sixth-form'];

const dir = mkdtempSync(join(tmpdir(), 'gh-bench-reports-'));
const config = parseConfig(
  `dns: { listen: ["127.0.0.1:0"] }
links: [{ name: fibre, upstreams: ["udp://127.0.0.1:53"] }, { name: backup, upstreams: ["udp://127.0.0.1:54"] }]
categories:
${CATEGORIES.map((c, i) => `  - { id: ${c}, name: Category ${i}, severity: ${i < 6 ? 'high' : 'none'} }`).join('\n')}
groups:
${GROUPS.map((g, i) => `  - { name: ${g}, networks: ["10.${i}.0.0/16"], block: [${CATEGORIES.slice(0, 10).join(', ')}]${i === 1 ? ', default: true' : ''} }`).join('\n')}
store: { path: ${join(dir, 'gh.db')} }
`,
  join(dir, 'gatehouse.yaml'),
);

try {
  const db = openDatabase(config.store.path);
  const started = performance.now();
  // Dictionaries as the writer leaves them: groups, categories, links; names; clients.
  const dict = db.prepare('INSERT INTO dict (kind, name) VALUES (?, ?)');
  const id = (kind: string, name: string) => Number(dict.run(kind, name).lastInsertRowid);
  const grp = GROUPS.map((g) => id('group', g));
  const cat = CATEGORIES.map((c) => id('category', c));
  const link = ['fibre', 'backup'].map((l) => id('link', l));
  const lastDay = localDayOf(Date.now(), ZONE);
  db.transaction(() => {
    const n = db.prepare('INSERT INTO name_by_id (id, name, last_day) VALUES (?, ?, ?)');
    for (let i = 1; i <= 20_000; i++) n.run(i, `name${i}.example`, lastDay);
    const c = db.prepare('INSERT INTO client_by_id (id, address, last_day) VALUES (?, ?, ?)');
    for (let i = 1; i <= 3000; i++) c.run(i, `10.${i % 4}.${(i >> 8) & 255}.${i & 255}`, lastDay);
  })();
  const firstDay = lastDay - 365;
  for (let day = firstDay; day < lastDay; day++) {
    const traffic: SpanRollup['traffic'] = [];
    for (const g of grp)
      for (const c of [0, ...cat])
        for (const l of link)
          for (const action of [0, 1, 2])
            traffic.push({ grp: g, cat: c, link: l, action, n: 1 + ((day * 31 + g * 7 + c * 3 + action) % 400), cached: 10, lat: 900 });
    const names = Array.from({ length: 2000 }, (_, i) => ({
      name: 1 + ((day * 37 + i * 11) % 20_000),
      n: 5000 - i,
      blocked: i % 2 ? 100 - (i % 100) : 0,
    }));
    const uniqueNames = [...new Map(names.map((x) => [x.name, x])).values()];
    const clients: SpanRollup['clients'] = [];
    for (let i = 1; i <= 3000; i++)
      clients.push({ client: i, person: 0, device: 0, grp: grp[i % 4], cat: cat[i % 6], action: 1, n: 1 + (i % 30) });
    storeDay(
      db,
      day,
      ZONE,
      {
        traffic,
        names: uniqueNames,
        namesCutN: 3000,
        namesCutBlocked: 10,
        clients,
        queries: PER_DAY,
        blocked: PER_DAY / 20,
        activeMinutes: 1440,
        minutes: 1440,
        linkSwitches: 0,
        listFailures: 0,
        clientCategories: CATEGORIES.slice(0, 6),
        identity: false,
      },
      1,
      Date.now(),
    );
  }
  console.log(
    `a year of daily rollups for ${PER_DAY.toLocaleString('en-GB')} queries a day: made in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );

  const year = { from: localDayStart(firstDay, ZONE), to: localDayStart(lastDay, ZONE) };
  const week = { from: localDayStart(lastDay - 7, ZONE), to: localDayStart(lastDay, ZONE) };
  const font = reportFont();
  const cases: [ReportKind, string, { from: number; to: number }][] = [
    ['weekly', 'a week', week],
    ['weekly', 'a year', year],
    ['board', 'a year', year],
    ['annual', 'a year', year],
  ];
  console.log('report   period   build (data)   make PDF (data, charts, PDF)   best of ' + rounds);
  for (const [kind, label, period] of cases) {
    const input = reportInput(config, kind, period, Date.now());
    let build = Infinity;
    let pdf = Infinity;
    for (let r = 0; r < rounds; r++) {
      let t = performance.now();
      buildReport(db, input);
      build = Math.min(build, performance.now() - t);
      t = performance.now();
      await makeReport(db, input, 'pdf', font);
      pdf = Math.min(pdf, performance.now() - t);
    }
    console.log(
      `${kind.padEnd(8)} ${label.padEnd(8)} ${(build / 1000).toFixed(2).padStart(8)} s ${(pdf / 1000).toFixed(2).padStart(22)} s`,
    );
  }
  db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
