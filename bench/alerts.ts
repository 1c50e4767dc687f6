// Alert benchmarks (run: npx tsx bench/alerts.ts [--alerts N] [--gap-ms N] [--flood N]).
//  1. observe() cost on the hot path: a device hammering one blocked name
//     (throttled repeats), and many devices each raising a new alert.
//  2. Lookup-to-channel latency at the default settings (flush every 250 ms):
//     observe() → a real HTTP webhook receiver and a real SMTP server process
//     (smtp-server), p50 / p99 / max. The target is under 10 s.
// Every phase is bounded by its count and a deadline. Loopback only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { alertsSchema } from '../src/alerts/config.js';
import { AlertEngine } from '../src/alerts/engine.js';
import type { AlertEvent } from '../src/alerts/types.js';
import { openDatabase } from '../src/store/db.js';
import { SmtpSink } from '../test/alerts/helpers/smtp.js';
import { WebhookSink } from '../test/alerts/helpers/webhook.js';

const { values } = parseArgs({
  options: {
    alerts: { type: 'string', default: '200' },
    'gap-ms': { type: 'string', default: '25' },
    flood: { type: 'string', default: '2000000' },
  },
});
const alertCount = Number(values.alerts);
const gapMs = Number(values['gap-ms']);
const flood = Number(values.flood);
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-alerts-bench-'));
const categories = [{ id: 'adult', name: 'Pornography', illegal: false }];

function ev(client: string, at: number): AlertEvent {
  return { at, client, group: 'pupils', category: 'adult', severity: 'high', domain: 'bad.example', circumvention: false, illegal: false };
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summary(latencies: number[]): { n: number; p50: number; p99: number; max: number } {
  const s = [...latencies].sort((a, b) => a - b);
  return { n: s.length, p50: Math.round(pct(s, 50)), p99: Math.round(pct(s, 99)), max: Math.round(s[s.length - 1]) };
}

async function hotPath(): Promise<void> {
  const db = openDatabase(join(dir, 'hot.db'));
  const engine = new AlertEngine({ db, config: alertsSchema.parse({}), categories });
  engine.start();
  const t0 = Date.now();
  // Warm up, then time a flood from one client: every call after the first is a repeat.
  for (let i = 0; i < 10_000; i++) engine.observe(ev('10.9.9.9', t0));
  let start = process.hrtime.bigint();
  for (let i = 0; i < flood; i++) engine.observe(ev('10.9.9.9', t0 + (i >> 10)));
  let ns = Number(process.hrtime.bigint() - start);
  console.log(
    `observe, one client hammering (throttled repeat): ${(ns / flood).toFixed(0)} ns/call, ${Math.round(flood / (ns / 1e9)).toLocaleString('en-GB')} calls/s`,
  );
  // New alerts: each observe() raises one (distinct clients), then the flush writes them.
  const n = 50_000;
  start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) engine.observe(ev(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, t0));
  ns = Number(process.hrtime.bigint() - start);
  console.log(`observe, new alert each call: ${(ns / n).toFixed(0)} ns/call (memory only)`);
  // Let the engine's own timer write them, in slices, and watch how long the event loop is held.
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  start = process.hrtime.bigint();
  const deadline = Date.now() + 60_000;
  while ((db.prepare('SELECT count(*) FROM alerts').pluck().get() as number) < n + 1 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
  ns = Number(process.hrtime.bigint() - start);
  loop.disable();
  console.log(
    `timer flush of ${n.toLocaleString('en-GB')} new alerts (slices of 250 per transaction): ${(ns / 1e6).toFixed(0)} ms in all, ` +
      `longest event-loop stall ${(loop.max / 1e6).toFixed(1)} ms`,
  );
  const counted = db.prepare('SELECT sum(count) FROM alerts').pluck().get() as number;
  console.log(`  stored lookups: ${counted.toLocaleString('en-GB')} (expected ${(flood + 10_000 + n).toLocaleString('en-GB')})`);
  await engine.stop();
  db.close();
}

async function latency(): Promise<void> {
  const hook = await WebhookSink.start();
  const smtp = await SmtpSink.start();
  const db = openDatabase(join(dir, 'latency.db'));
  const engine = new AlertEngine({
    db,
    categories,
    config: alertsSchema.parse({
      channels: {
        webhook: { url: hook.url, secret: 'bench-webhook-secret-0123' },
        email: { host: '127.0.0.1', port: smtp.port, starttls: false, from: 'gatehouse@school.example', to: ['dsl@school.example'] },
      },
    }),
  });
  engine.start();
  const sentAt = new Map<string, number>();
  const hookLatency: number[] = [];
  const mailLatency: number[] = [];
  hook.onPost = (p) => {
    const client = JSON.parse(p.body).alerts[0].client as string;
    hookLatency.push(performance.now() - sentAt.get(client)!);
  };
  let mailsSeen = 0;
  const pollMail = () => {
    for (; mailsSeen < smtp.mails.length; mailsSeen++) {
      const client = /from (\S+)/.exec(smtp.mails[mailsSeen].headers.get('subject')!)![1];
      mailLatency.push(performance.now() - sentAt.get(client)!);
    }
  };
  const mailPoller = setInterval(pollMail, 2);
  for (let i = 0; i < alertCount; i++) {
    const client = `10.1.${i >> 8}.${i & 255}`;
    sentAt.set(client, performance.now());
    engine.observe(ev(client, Date.now()));
    await new Promise((r) => setTimeout(r, gapMs));
  }
  const deadline = Date.now() + 60_000;
  while ((hookLatency.length < alertCount || smtp.mails.length < alertCount) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 10));
  pollMail();
  clearInterval(mailPoller);
  console.log(`lookup → webhook received (${alertCount} alerts, one every ${gapMs} ms, flushMs 250):`, summary(hookLatency), 'ms');
  console.log(`lookup → SMTP server received:`, summary(mailLatency), 'ms');
  if (hookLatency.length < alertCount || mailLatency.length < alertCount) console.log('  WARNING: not every alert arrived within 60 s');
  await engine.stop();
  db.close();
  await hook.stop();
  await smtp.stop();
}

try {
  console.log(`node ${process.version}`);
  await hotPath();
  await latency();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
