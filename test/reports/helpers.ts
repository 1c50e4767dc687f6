// A known school week (and the four before it) written straight into a
// database: the figures the reports must show are worked out here by hand.
import type { Database } from 'better-sqlite3';
import { parseConfig, type Config } from '../../src/config.js';
import { LogWriter } from '../../src/store/writer.js';
import { newBatch, pushRow } from '../../src/store/batch.js';
import { loggedCategoryIds } from '../../src/resolver/categories.js';
import { DAILY_VERSION, localDayOf, localDayStart, rollupSpan, storeDay } from '../../src/store/daily.js';
import { buildMonths } from '../../src/store/daily-months.js';
import { safeguardingCategories } from '../../src/reports/input.js';
import { loadNameHider } from '../../src/store/hidden-names.js';

export const ZONE = 'Europe/London';
/** Monday 2 November 2026, 00:00 GMT. */
export const WEEK_FROM = Date.UTC(2026, 10, 2);
export const WEEK_TO = Date.UTC(2026, 10, 9);
export const DAY = 86_400_000;

/** The config file of the known school; `extra` adds top-level YAML (alerts, more reports keys). */
export function testConfigYaml(dir: string, extra = '', reports = ''): string {
  return `
dns: { listen: ["127.0.0.1:0"] }
links:
  - { name: fibre, upstreams: ["udp://127.0.0.1:53"] }
  - { name: satellite, upstreams: ["udp://127.0.0.1:54"] }
categories:
  - { id: adult, name: Adult content, severity: high }
  - { id: social, name: Social media }
  - { id: vpn, name: VPN and proxies, severity: medium, circumvention: true }
  - { id: iwf, name: Child abuse (IWF), illegal: true, severity: critical }
groups:
  - { name: pupils, networks: ["10.1.0.0/16"], block: [adult, social, vpn] }
  - { name: staff, networks: ["10.2.0.0/16"], default: true, block: [adult] }
store: { path: ${JSON.stringify(dir + '/gh.db')} }
admin: { listen: "127.0.0.1:0", timezone: ${ZONE}, blockPage: { listen: "127.0.0.1:0" } }
reports:
  site: "St Åidan’s Academy"
${reports}
${extra}
`;
}

export function testConfig(dir: string, extra = '', reports = ''): Config {
  return parseConfig(testConfigYaml(dir, extra, reports), dir + '/gatehouse.yaml');
}

/** What the known week adds up to. */
export const WEEK = {
  /** Per day d (0 = Monday): pupils' adult blocks. */
  adult: (d: number) => 10 + d,
  social: 20,
  /** All from 10.1.0.7. */
  vpn: 3,
  /** An IWF name, hidden before it is written. */
  iwf: 1,
  pupilsAllowed: 1000,
  staffAllowed: 500,
  blocked: 7 * (20 + 3 + 1) + [0, 1, 2, 3, 4, 5, 6].reduce((s, d) => s + 10 + d, 0),
  queries: 7 * 1500 + 7 * (20 + 3 + 1) + [0, 1, 2, 3, 4, 5, 6].reduce((s, d) => s + 10 + d, 0),
  /** The weeks before: 5 adult blocks a day from pupils, nothing else blocked. */
  previousAdultPerDay: 5,
  illegalName: 'abuse-site.example',
};

/** Five weeks of traffic ending with the known week, then its daily rollups (as the job makes them). */
export function writeKnownWeeks(db: Database, config: Config): void {
  const writer = new LogWriter(db);
  const cats = loggedCategoryIds(config.categories);
  writer.setDictionaries({
    groups: config.groups.map((g) => g.name),
    categories: cats,
    links: config.links.map((l) => l.name),
  });
  const hider = loadNameHider(config.store.path);
  const cat = (id: string) => cats.indexOf(id);
  for (let day = -28; day < 7; day++) {
    const start = WEEK_FROM + day * DAY + 8 * 3_600_000;
    const b = newBatch(4000);
    let t = start;
    const add = (client: string, group: number, name: string, action: number, category: number) =>
      pushRow(b, (t += 1000), client, group, name, 1, action, category, action === 0 ? 0 : -1, 0, 900, false);
    const week = day >= 0;
    for (let i = 0; i < (week ? WEEK.pupilsAllowed : 600); i++) add(`10.1.0.${i % 50}`, 0, `site${i % 40}.example`, 0, -1);
    for (let i = 0; i < (week ? WEEK.staffAllowed : 300); i++) add(`10.2.0.${i % 10}`, 1, `work${i % 20}.example`, 0, -1);
    if (week) {
      for (let i = 0; i < WEEK.adult(day); i++) add(`10.1.0.${i % 4}`, 0, `adult${i % 3}.example`, 1, cat('adult'));
      for (let i = 0; i < WEEK.social; i++) add(`10.1.0.${10 + (i % 5)}`, 0, 'social.example', 1, cat('social'));
      for (let i = 0; i < WEEK.vpn; i++) add('10.1.0.7', 0, 'vpn.example', 1, cat('vpn'));
      add('10.1.0.9', 0, hider.hide(WEEK.illegalName), 1, cat('iwf'));
    } else for (let i = 0; i < WEEK.previousAdultPerDay; i++) add(`10.1.0.${i}`, 0, 'adult0.example', 1, cat('adult'));
    writer.writeBatch(b);
  }
  // The daily job's work, done here synchronously.
  const opts = { clientCategories: safeguardingCategories(config) };
  for (let day = localDayOf(WEEK_FROM - 28 * DAY, ZONE); day < localDayOf(WEEK_TO, ZONE); day++)
    storeDay(db, day, ZONE, rollupSpan(db, localDayStart(day, ZONE), localDayStart(day + 1, ZONE), opts), 1, 0);
  buildMonths(db, ZONE, DAILY_VERSION, 0);
}

/** Alerts, checks, a change, a link failover and a failed list refresh in the known week. */
export function writeKnownEvents(db: Database): void {
  const alert = db.prepare(
    `INSERT INTO alerts (kind, created_at, last_at, client, client_name, group_name, category, severity, domain, illegal, circumvention, count, status, outcome, closed_at, closed_by)
     VALUES ('safeguarding', ?, ?, ?, ?, 'pupils', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  alert.run(
    WEEK_FROM + 3_600_000 * 9,
    WEEK_FROM + 3_600_000 * 9,
    '10.1.0.9',
    'Zoë Brontë',
    'iwf',
    'critical',
    null,
    1,
    0,
    1,
    'open',
    null,
    null,
    null,
  );
  alert.run(
    WEEK_FROM + DAY + 3_600_000 * 10,
    WEEK_FROM + DAY + 3_600_000 * 10,
    '10.1.0.1',
    null,
    'adult',
    'high',
    'adult1.example',
    0,
    0,
    12,
    'closed',
    'Spoke with the pupil or member of staff: agreed to stop',
    WEEK_FROM + DAY + 3_600_000 * 12,
    'dsl',
  );
  alert.run(
    WEEK_FROM + 2 * DAY + 3_600_000 * 11,
    WEEK_FROM + 2 * DAY + 3_600_000 * 11,
    '10.1.0.7',
    null,
    'vpn',
    'medium',
    'vpn.example',
    0,
    1,
    3,
    'acknowledged',
    null,
    null,
    null,
  );
  const check = db.prepare(
    `INSERT INTO checks (started_at, finished_at, run_by, trigger, server, ok, passed, failed, summary, cases_json, skipped_json) VALUES (?, ?, ?, ?, '127.0.0.1:53', ?, ?, ?, ?, '[]', '[]')`,
  );
  check.run(WEEK_FROM + 3_600_000 * 7.7, WEEK_FROM + 3_600_000 * 7.71, 'schedule', 'schedule', 1, 12, 0, 'all 12 cases as expected');
  check.run(
    WEEK_FROM + 3 * DAY + 3_600_000 * 7.7,
    WEEK_FROM + 3 * DAY + 3_600_000 * 7.71,
    'it-tech',
    'manual',
    0,
    11,
    1,
    '1 case failed: pupils adult',
  );
  // Two filtering changes as change control records them (src/changes/): one applied after
  // approval and tested, one block-page review request refused.
  const change = db.prepare(
    `INSERT INTO change_requests (kind, status, source, ops_json, summary, description_json, groups_json, requester, reason,
       created_by, created_at, decision, decided_by, decided_at, applied_at, applied_by, test_ok, test_summary, client_address)
     VALUES ('change', ?, ?, ?, ?, '[]', '["pupils"]', ?, ?, 'it-tech', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const applied = WEEK_FROM + 4 * DAY + 3_600_000 * 14;
  change.run(
    'applied',
    'ui',
    JSON.stringify([{ op: 'exception-add', domain: 'bbc.co.uk', action: 'allow', groups: ['pupils'] }]),
    'Allow bbc.co.uk for pupils',
    'Mr Ngũgĩ (history)',
    'Year 9 history project',
    applied - 3_600_000,
    'approved',
    'head',
    applied - 60_000,
    applied,
    'it-tech',
    1,
    'bbc.co.uk answers for pupils',
    null,
  );
  const refused = WEEK_FROM + 4 * DAY + 3_600_000 * 15;
  change.run(
    'refused',
    'block-page',
    JSON.stringify([{ op: 'exception-add', domain: 'games.example', action: 'allow', groups: ['pupils'] }]),
    'Allow games.example for pupils',
    'Zoë Brontë',
    'not for school',
    refused - 3_600_000,
    'refused',
    'it-tech',
    refused,
    null,
    null,
    null,
    null,
    '10.1.0.7',
  );
  const sw = db.prepare('INSERT INTO link_switch (at, from_link, to_link, reason) VALUES (?, ?, ?, ?)');
  sw.run(WEEK_FROM + 5 * DAY + 3_600_000 * 10, 'fibre', 'satellite', '3 consecutive failures');
  sw.run(WEEK_FROM + 5 * DAY + 3_600_000 * 12, 'satellite', 'fibre', 'primary healthy again');
  db.prepare('INSERT INTO list_refresh (at, list_id, ok, entries, error) VALUES (?, ?, ?, ?, ?)').run(
    WEEK_FROM + DAY,
    'ut1-adult',
    0,
    null,
    'HTTP 503',
  );
  db.prepare('INSERT INTO list_refresh (at, list_id, ok, entries, error) VALUES (?, ?, ?, ?, ?)').run(
    WEEK_FROM - DAY,
    'ut1-adult',
    1,
    1000,
    null,
  );
}
