// A scheduled report whose time came while the service was not running: sent
// when it starts again if the slot is at most a day old (to a real SMTP server
// process), once, however often it restarts; an older one only logged; none
// for a slot before the installation's first start. And
// lastSlot, the schedule's latest time, in the reports' time zone.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import cron from 'node-cron';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type Gatehouse } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { localParts } from '../../src/admin/views/time.js';
import { createLogger } from '../../src/log.js';
import { lastSlot } from '../../src/reports/service.js';
import { SmtpSink } from '../alerts/helpers/smtp.js';
import { waitFor } from '../alerts/helpers/wait.js';
import { ZONE, testConfigYaml } from './helpers.js';

const HOUR = 3_600_000;

describe('lastSlot', () => {
  const task = (pattern: string) => cron.createTask(pattern, () => undefined, { timezone: ZONE });

  it('finds the latest time a weekly schedule fired, in local time on both sides of the clock change', () => {
    const monday7 = task('0 7 * * 1');
    // Winter: 07:00 in London is 07:00 UTC; summer (BST): 06:00 UTC.
    expect(lastSlot(monday7, Date.UTC(2026, 10, 30, 9, 30), 7 * 24 * HOUR)).toBe(Date.UTC(2026, 10, 30, 7, 0));
    expect(lastSlot(monday7, Date.UTC(2026, 5, 1, 9, 30), 7 * 24 * HOUR)).toBe(Date.UTC(2026, 5, 1, 6, 0));
    // A minute before this week's: last week's.
    expect(lastSlot(monday7, Date.UTC(2026, 10, 30, 6, 59), 7 * 24 * HOUR)).toBe(Date.UTC(2026, 10, 23, 7, 0));
    // Nothing within the window.
    expect(lastSlot(monday7, Date.UTC(2026, 10, 30, 6, 59), 24 * HOUR)).toBeUndefined();
    void monday7.destroy();
  });

  it('reads a seconds field', () => {
    const daily = task('15 3 7 * * *');
    expect(lastSlot(daily, Date.UTC(2026, 10, 30, 12, 0), 24 * HOUR)).toBe(Date.UTC(2026, 10, 30, 7, 3, 15));
    // The slot's own second not reached yet: the day before.
    expect(lastSlot(daily, Date.UTC(2026, 10, 30, 7, 3, 14), 48 * HOUR)).toBe(Date.UTC(2026, 10, 29, 7, 3, 15));
    void daily.destroy();
  });
});

describe('a scheduled report missed while the service was not running', () => {
  let dir: string;
  let smtp: SmtpSink;
  const logged: string[] = [];

  const reportMails = () => smtp.mails.filter((m) => m.headers.get('x-gatehouse-kind') === 'report');

  /** The service with the weekly report scheduled at 30 s past the local minute of `slot`, on its weekday; `now` its clock. */
  function service(db: string, slot: number, now?: () => number): Gatehouse {
    const p = localParts(slot, ZONE);
    const alerts = `alerts:
  enabled: true
  channels:
    email: { host: 127.0.0.1, port: ${smtp.port}, starttls: false, from: gatehouse@school.example, to: [it@school.example], timeoutMs: 2000 }
  delivery: { retryBaseMs: 300, retryMaxMs: 1000, flushMs: 20 }`;
    const reports = `  weekly:
    schedule: "30 ${p.minute} ${p.hour} * * ${p.weekday}"
    recipients: [dsl@school.example]
    channels: [email]`;
    const text = testConfigYaml(dir, alerts, reports).replace(/^store: .*$/m, `store: { path: ${JSON.stringify(db)} }`);
    const logger = createLogger('info', { write: (line: string) => void logged.push(line) });
    return buildApp(parseConfig(text, join(dir, 'gatehouse.yaml')), { logger, ...(now ? { now } : {}) });
  }

  /** A database whose service first ran `hoursAgo` hours ago (its first policy version is that old), then stopped. */
  async function ranBefore(db: string, slot: number, hoursAgo: number): Promise<void> {
    const earlier = service(db, slot, () => Date.now() - hoursAgo * HOUR);
    await earlier.start();
    await earlier.stop();
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-report-catch-up-'));
    smtp = await SmtpSink.start();
  });

  afterAll(async () => {
    await smtp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is sent when the service starts within a day of it, once across restarts', async () => {
    const db = join(dir, 'recent.db');
    const slot = Math.floor((Date.now() - 2 * HOUR) / 60_000) * 60_000;
    await ranBefore(db, slot, 3);
    const first = service(db, slot);
    await first.start();
    try {
      await waitFor(() => reportMails().length > 0, 60_000, 'the caught-up report e-mail');
      const sendings = first.db.prepare("SELECT slot, requested_by, period_to FROM report_sendings WHERE report = 'weekly'").all() as {
        slot: number;
        requested_by: string;
        period_to: number;
      }[];
      expect(sendings).toEqual([{ slot, requested_by: 'schedule', period_to: expect.any(Number) }]);
      // The period is the one the slot stands for: the week before it.
      expect(sendings[0].period_to).toBeLessThanOrEqual(slot);
    } finally {
      await first.stop();
    }
    // Started again: the slot has its sending; nothing more goes.
    const second = service(db, slot);
    await second.start();
    await new Promise((r) => setTimeout(r, 3000));
    await second.stop();
    expect(reportMails().length).toBe(1);
    // Only the first start made it: the second found the slot (its minute) already sent.
    expect(logged.filter((l) => l.includes('sending a scheduled report the service was not running for'))).toHaveLength(1);
  }, 120_000);

  it('is only logged when the slot is over a day old', async () => {
    const before = reportMails().length;
    const slot = Math.floor((Date.now() - 30 * HOUR) / 60_000) * 60_000;
    await ranBefore(join(dir, 'old.db'), slot, 31);
    const gh = service(join(dir, 'old.db'), slot);
    await gh.start();
    try {
      await waitFor(
        () => logged.some((l) => l.includes('missed while the service was not running, over a day ago')),
        10_000,
        'the warning',
      );
      expect(gh.db.prepare('SELECT count(*) AS n FROM report_sendings').get()).toEqual({ n: 0 });
    } finally {
      await gh.stop();
    }
    expect(reportMails().length).toBe(before);
  }, 60_000);

  it('is not sent to a new installation: a slot before its first start', async () => {
    const before = reportMails().length;
    const slot = Math.floor((Date.now() - 2 * HOUR) / 60_000) * 60_000;
    const gh = service(join(dir, 'new.db'), slot);
    await gh.start();
    await new Promise((r) => setTimeout(r, 3000));
    try {
      expect(gh.db.prepare('SELECT count(*) AS n FROM report_sendings').get()).toEqual({ n: 0 });
    } finally {
      await gh.stop();
    }
    expect(reportMails().length).toBe(before);
  }, 60_000);
});
