// The reports on the running service, end to end: the weekly report's
// schedule comes round while the mail server (a real SMTP server process) is
// down; it is sent once when the server is back, with its PDF attached, the
// charts as inline PNGs, and a webhook gets the link. In Chromium the DSL opens
// the known week's report (its charts on the page's screenshot), sends it, and
// the PDF that arrives holds the week's figures (pdftotext); the sendings page
// shows each sending delivered.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type Gatehouse } from '../../src/app.js';
import { createUser } from '../../src/admin/users.js';
import { parseConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { localParts } from '../../src/admin/views/time.js';
import { openDatabase } from '../../src/store/db.js';
import { SmtpSink } from '../alerts/helpers/smtp.js';
import { WebhookSink } from '../alerts/helpers/webhook.js';
import { launchBrowser, loginInBrowser, type Browser } from '../helpers/browser.js';
import { waitFor } from '../alerts/helpers/wait.js';
import { havePrograms } from '../helpers/programs.js';
import { WEEK, ZONE, testConfig, testConfigYaml, writeKnownEvents, writeKnownWeeks } from './helpers.js';

const run = havePrograms('chromium', 'pdftotext');

function pdfText(dir: string, name: string, pdf: Buffer): string {
  const file = join(dir, name);
  writeFileSync(file, pdf);
  return execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
}

const reportMails = (smtp: SmtpSink) => smtp.mails.filter((m) => m.headers.get('x-gatehouse-kind') === 'report');

describe.skipIf(!run)('reports sent from the running service', () => {
  let dir: string;
  let smtp: SmtpSink;
  let hook: WebhookSink;
  let smtpPort: number;
  let gh: Gatehouse;
  let browser: Browser;
  let scheduledAt: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-report-send-'));
    // The mail server (a real SMTP server process) starts out of service: it answers 421 to every connection until up().
    smtp = await SmtpSink.start({ down: true });
    smtpPort = smtp.port;
    hook = await WebhookSink.start();
    const db = openDatabase(join(dir, 'gh.db'));
    writeKnownWeeks(db, testConfig(dir));
    writeKnownEvents(db);
    db.close();
    // The slot: far enough ahead for the service to have started on a loaded machine.
    scheduledAt = Math.ceil((Date.now() + 20_000) / 1000) * 1000;
    const p = localParts(scheduledAt, ZONE);
    const alerts = `alerts:
  enabled: true
  channels:
    email: { host: 127.0.0.1, port: ${smtpPort}, starttls: false, from: gatehouse@school.example, to: [it@school.example], timeoutMs: 2000 }
    webhook: { url: "http://127.0.0.1:${hook.port}/hook", timeoutMs: 2000 }
  delivery: { retryBaseMs: 300, retryMaxMs: 1000, flushMs: 20 }`;
    const reports = `  url: https://gatehouse.school.example
  weekly:
    schedule: "${p.second} ${p.minute} ${p.hour} * * *"
    recipients: [dsl@school.example, deputy@school.example]
    channels: [email, webhook]`;
    const text = testConfigYaml(dir, alerts, reports).replace(
      'admin: { listen: "127.0.0.1:0"',
      'admin: { listen: "127.0.0.1:0", allowedNetworks: ["127.0.0.0/8"]',
    );
    gh = buildApp(parseConfig(text, join(dir, 'gatehouse.yaml')), { logger: silentLogger() });
    await gh.start();
    expect(Date.now()).toBeLessThan(scheduledAt);
    await createUser(gh.db, { name: 'safeguard', role: 'dsl', password: 'Initial-Pass1', actor: 'test', now: Date.now() });
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await gh?.stop();
    await smtp?.stop();
    await hook?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends the scheduled report once the mail server is back, with its PDF and inline charts', async () => {
    // The slot passes with the mail server down: recorded, tried, waiting.
    const waiting = () =>
      gh.db.prepare("SELECT attempts, last_error, delivered_at FROM alert_outbox WHERE kind = 'report' AND channel = 'email'").all() as {
        attempts: number;
        last_error: string | null;
        delivered_at: number | null;
      }[];
    await waitFor(() => waiting().some((r) => r.attempts >= 2 && r.delivered_at === null), 60_000, 'the report to fail to send twice');
    expect(waiting()[0].last_error).toMatch(/421/);
    // The webhook was up: it got the link.
    const reportPosts = () =>
      hook.posts.map((p) => JSON.parse(p.body) as { kind: string; subject: string; link: string }).filter((p) => p.kind === 'report');
    await waitFor(() => reportPosts().length > 0, 10_000, 'the webhook post');
    const posted = reportPosts()[0];
    expect(posted.subject).toContain('Weekly monitoring report');
    expect(posted.link).toMatch(/^https:\/\/gatehouse\.school\.example\/reports\/weekly\?from=\d{4}-\d\d-\d\d&to=\d{4}-\d\d-\d\d$/);

    await smtp.up();
    await waitFor(() => reportMails(smtp).length > 0, 30_000, 'the report e-mail');
    await new Promise((r) => setTimeout(r, 1500)); // a duplicate, if any, would arrive meanwhile
    const mails = reportMails(smtp);
    expect(mails.length).toBe(1);
    expect(mails[0].to.sort()).toEqual(['deputy@school.example', 'dsl@school.example']);
    const mail: ParsedMail = await simpleParser(mails[0].raw, { keepCidLinks: true });
    expect(mail.subject).toContain('Weekly monitoring report: St Åidan’s Academy');
    const pdf = mail.attachments.find((a) => a.contentType === 'application/pdf')!;
    expect(pdf.filename).toMatch(/^gatehouse-weekly-\d{4}-\d\d-\d\d\.pdf$/);
    expect(pdfText(dir, 'scheduled.pdf', pdf.content)).toContain('Weekly monitoring report');
    // Charts as PNGs referenced by Content-ID from the HTML body (Outlook shows no SVG).
    const images = mail.attachments.filter((a) => a.contentType === 'image/png');
    expect(images.length).toBeGreaterThan(2);
    for (const i of images) {
      expect(i.content.subarray(1, 4).toString()).toBe('PNG');
      expect(mail.html).toContain(`cid:${i.cid}`);
    }
    expect(mail.html).not.toContain('<svg');
    expect(mail.html).not.toMatch(/<style|class="/);
    expect(mail.text).toContain('Lookups:');
    const sendings = gh.db.prepare("SELECT slot, requested_by FROM report_sendings WHERE report = 'weekly'").all() as {
      slot: number;
      requested_by: string;
    }[];
    expect(sendings).toEqual([{ slot: Math.floor(scheduledAt / 60_000) * 60_000, requested_by: 'schedule' }]);
  }, 120_000);

  it('shows the known week with its charts in Chromium, sends it, and the PDF received holds its figures', async () => {
    const page = await browser.context.newPage();
    await loginInBrowser(page, gh.adminUrl!, { name: 'safeguard', password: 'Initial-Pass1', newPassword: 'Changed-Pass2' });
    await page.goto(`${gh.adminUrl}/reports/weekly?from=2026-11-02&to=2026-11-08`);
    await page.waitForSelector('[data-chart="blocked-per-day"] img');
    // Each chart image loaded and drawn.
    const sizes = await page.$$eval('.report-chart img', (imgs) => imgs.map((i) => (i as HTMLImageElement).naturalWidth));
    expect(sizes.length).toBeGreaterThan(2);
    for (const w of sizes) expect(w).toBeGreaterThan(100);
    // The screenshot of a chart holds the bars' colour (Okabe–Ito blue, #0072B2).
    const shot = await page.locator('[data-chart="blocked-per-day"]').screenshot();
    const blue = await page.evaluate(async (b64) => {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.width;
      c.height = img.height;
      const g = c.getContext('2d')!;
      g.drawImage(img, 0, 0);
      const d = g.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4)
        if (Math.abs(d[i] - 0x00) < 30 && Math.abs(d[i + 1] - 0x72) < 30 && Math.abs(d[i + 2] - 0xb2) < 30) n++;
      return n;
    }, shot.toString('base64'));
    expect(blue).toBeGreaterThan(500);
    expect(await page.textContent('main')).toContain('Zoë Brontë (10.1.0.9)');
    expect(await page.textContent('main')).not.toContain(WEEK.illegalName);

    const before = reportMails(smtp).length;
    await Promise.all([page.waitForURL(/\/reports\?notice=queued/), page.click('form[action="/reports/weekly/send"] button')]);
    await waitFor(() => reportMails(smtp).length > before, 30_000, 'the report sent from the admin UI');
    const mail = await simpleParser(reportMails(smtp)[before].raw);
    const text = pdfText(dir, 'known.pdf', mail.attachments.find((a) => a.contentType === 'application/pdf')!.content);
    expect(text).toContain('Mon 2 Nov 2026 to Sun 8 Nov 2026');
    expect(text).toContain(WEEK.queries.toLocaleString('en-GB'));
    expect(text).toContain(`${WEEK.blocked.toLocaleString('en-GB')} (`);
    expect(text).toContain('Zoë Brontë (10.1.0.9)');
    expect(text).not.toContain(WEEK.illegalName);

    // The record of sendings: both, delivered, with who asked.
    await page.goto(`${gh.adminUrl}/reports`);
    for (let i = 0; i < 40 && (await page.locator('[data-table="sendings"] [data-delivery="waiting"]').count()) > 0; i++) {
      await new Promise((r) => setTimeout(r, 500));
      await page.reload();
    }
    const record = await page.textContent('[data-table="sendings"]');
    expect(record).toContain('schedule');
    expect(record).toContain('safeguard');
    expect(record).toContain('delivered');
    await page.close();
  }, 180_000);
});
