// The engine's rules, throttling and thresholds, against a real SQLite database.
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { AlertEngine } from '../../src/alerts/engine.js';
import { AlertStore } from '../../src/alerts/store.js';
import { TestSite, event, parseAlerts } from './helpers/setup.js';

let site: TestSite;
afterEach(async () => site?.close());

describe('throttling', () => {
  it('turns 10,000 lookups from one client in a minute into one alert with the full count', () => {
    site = new TestSite();
    const engine = site.start({ throttle: { windowMinutes: 10 } });
    const t0 = Date.UTC(2026, 10, 23, 9, 0, 0);
    for (let i = 0; i < 10_000; i++) {
      engine.observe(event({ at: t0 + i * 6, domain: `x${i % 7}.bad.example` }));
      // Flushes happen in the middle of the flood, as the timer would do them.
      if (i % 997 === 0) engine.flush();
    }
    const { items, total } = engine.list();
    expect(total).toBe(1);
    expect(items[0].count).toBe(10_000);
    expect(items[0].createdAt).toBe(t0);
    expect(items[0].lastAt).toBe(t0 + 9_999 * 6);
    expect(engine.stats()).toMatchObject({ observed: 10_000, raised: 1, repeats: 9_999, dropped: 0, tracked: 1 });
  });

  it('makes one alert per window, and the counts add up to every lookup', () => {
    site = new TestSite();
    const engine = site.start({ throttle: { windowMinutes: 1 } });
    const t0 = Date.UTC(2026, 10, 23, 9, 0, 0);
    // 10,000 lookups spread over 5 minutes: windows of 1 minute make 5 alerts.
    for (let i = 0; i < 10_000; i++) engine.observe(event({ at: t0 + i * 30 }));
    const { items } = engine.list({ limit: 100 });
    expect(items.length).toBe(5);
    expect(items.reduce((n, a) => n + a.count, 0)).toBe(10_000);
  });

  it('keeps clients and categories apart', () => {
    site = new TestSite();
    const engine = site.start({});
    engine.observe(event({ client: '10.0.0.1' }));
    engine.observe(event({ client: '10.0.0.2' }));
    engine.observe(event({ client: '10.0.0.1', category: 'self-harm' }));
    engine.observe(event({ client: '10.0.0.1' }));
    const { items } = engine.list();
    expect(items.map((a) => `${a.client} ${a.category} ${a.count}`).sort()).toEqual([
      '10.0.0.1 adult 2',
      '10.0.0.1 self-harm 1',
      '10.0.0.2 adult 1',
    ]);
  });

  it('keeps each client and category apart past the bound of its remembered throttle keys', () => {
    site = new TestSite();
    const engine = site.start({ rules: [{ category: 'vpn-proxy', threshold: { count: 2, withinMinutes: 10 } }] });
    const t0 = Date.UTC(2026, 10, 23, 9, 0, 0);
    const vpn = (client: string, at: number) => engine.observe(event({ category: 'vpn-proxy', client, at }));
    // 70,000 devices once each (below the threshold of 2): more keys than the engine remembers (65,536).
    vpn('10.200.0.1', t0);
    for (let i = 0; i < 70_000; i++) vpn(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, t0 + 1);
    expect(engine.list().total).toBe(0);
    // The first device's second lookup, and a new device's first, after the memo started again.
    vpn('10.200.0.1', t0 + 2);
    vpn('10.200.0.2', t0 + 2);
    const { items } = engine.list();
    expect(items.map((a) => `${a.client} ${a.count}`)).toEqual(['10.200.0.1 2']);
  });

  it('keeps counting into the same alert after a restart', async () => {
    site = new TestSite();
    let engine = site.start({});
    engine.observe(event());
    engine.observe(event());
    engine = await site.restart({});
    engine.observe(event());
    const { items } = engine.list();
    expect(items.length).toBe(1);
    expect(items[0].count).toBe(3);
  });

  it('starts a new alert once the DSL has closed the last one', () => {
    site = new TestSite();
    const engine = site.start({});
    engine.observe(event());
    const first = engine.list().items[0];
    engine.close(first.id, 'dsl', 'Spoke to the pupil');
    engine.observe(event());
    const { items } = engine.list();
    expect(items.length).toBe(2);
    expect(items.map((a) => a.status)).toEqual(['open', 'closed']);
  });

  it('notices an alert closed from another connection (the admin UI) and counts later lookups in a new one', () => {
    site = new TestSite();
    const engine = site.start({});
    for (let i = 0; i < 3; i++) engine.observe(event());
    engine.flush();
    const first = engine.list().items[0];
    const admin = site.open();
    new AlertStore(admin).close(first.id, 'dsl', 'Handled');
    admin.close();
    for (let i = 0; i < 5; i++) engine.observe(event());
    // The flush finds the alert closed: the 5 lookups become a new alert.
    engine.flush();
    const { items } = engine.list();
    expect(items.map((a) => [a.status, a.count])).toEqual([
      ['open', 5],
      ['closed', 3],
    ]);
    engine.observe(event());
    expect(engine.list().items[0].count).toBe(6);
  });
});

describe('rules', () => {
  it('uses the category severity, overridden per group', () => {
    site = new TestSite();
    const engine = site.start({
      rules: [
        { group: 'pupils', category: 'adult', severity: 'critical' },
        { group: 'staff', severity: 'low' },
      ],
    });
    engine.observe(event({ group: 'pupils', client: '10.0.0.1' }));
    engine.observe(event({ group: 'guests', client: '10.0.0.2' }));
    engine.observe(event({ group: 'staff', client: '10.0.0.3' }));
    const byClient = new Map(engine.list().items.map((a) => [a.client, a.severity]));
    expect(byClient).toEqual(
      new Map([
        ['10.0.0.1', 'critical'],
        ['10.0.0.2', 'high'],
        ['10.0.0.3', 'low'],
      ]),
    );
  });

  it('does not alert on severity none, whether from the category or a rule', () => {
    site = new TestSite();
    const engine = site.start({ rules: [{ group: 'staff', category: 'adult', severity: 'none' }] });
    engine.observe(event({ category: 'ads' }));
    engine.observe(event({ group: 'staff' }));
    expect(engine.list().total).toBe(0);
    expect(engine.stats().ignored).toBe(2);
  });

  it('waits for N lookups within M minutes when a threshold is set', () => {
    site = new TestSite();
    const engine = site.start({ rules: [{ category: 'vpn-proxy', threshold: { count: 3, withinMinutes: 1 } }] });
    const t0 = Date.UTC(2026, 10, 23, 9, 0, 0);
    const vpn = (at: number) => engine.observe(event({ category: 'vpn-proxy', at }));
    // Three lookups, but spread over more than a minute: no alert.
    vpn(t0);
    vpn(t0 + 40_000);
    vpn(t0 + 80_000);
    expect(engine.list().total).toBe(0);
    // A third within a minute of the two before it: alert, counting all three.
    vpn(t0 + 100_000);
    let alerts = engine.list().items;
    expect(alerts.length).toBe(1);
    expect(alerts[0].count).toBe(3);
    expect(alerts[0].createdAt).toBe(t0 + 40_000);
    // Other categories keep the default threshold of 1.
    engine.observe(event({ at: t0 }));
    alerts = engine.list().items;
    expect(alerts.length).toBe(2);
  });

  it('never keeps the domain of an illegal category, even if the event forgets the flag', () => {
    site = new TestSite();
    const engine = site.start({});
    engine.observe(event({ category: 'iwf', domain: 'abuse.example', client: '10.0.0.1' }));
    engine.observe(event({ category: 'iwf', domain: 'abuse2.example', illegal: false, client: '10.0.0.2' }));
    const { items } = engine.list();
    expect(items.length).toBe(2);
    for (const a of items) {
      expect(a.domain).toBeNull();
      expect(a.illegal).toBe(true);
    }
    const dump = JSON.stringify(site.db.prepare('SELECT * FROM alerts').all());
    expect(dump).not.toContain('abuse');
  });
});

describe('operational alerts', () => {
  it('stores them apart from the safeguarding inbox and throttles repeats', () => {
    site = new TestSite();
    const engine = site.start({ operational: { throttleMinutes: 5 } });
    engine.operational({ kind: 'link-failover', message: 'primary down, now on backup', details: { from: 'fibre', to: '4g' } });
    engine.operational({ kind: 'querylog-dropped', message: '120 rows dropped', details: { rows: 120 } });
    engine.operational({ kind: 'querylog-dropped', message: '40 rows dropped', details: { rows: 40 } });
    engine.observe(event());
    expect(engine.list().total).toBe(1);
    const ops = engine.list({ kind: 'operational' }).items;
    expect(ops.map((a) => `${a.category} ${a.count} ${a.severity}`).sort()).toEqual(['link-failover 1 high', 'querylog-dropped 2 high']);
    const failover = ops.find((a) => a.category === 'link-failover')!;
    expect(failover.details).toEqual({ from: 'fibre', to: '4g' });
    expect(failover.message).toBe('primary down, now on backup');
  });

  it('throttles each subject apart (every account locked is its own alert), across a restart and after a close', async () => {
    site = new TestSite();
    let engine = site.start({ operational: { throttleMinutes: 15 } });
    const locked = (account: string) =>
      engine.operational({ kind: 'account-locked', subject: account, message: `${account} locked`, details: { account } });
    locked('boss');
    locked('dsl1');
    locked('boss');
    const counts = () =>
      engine
        .list({ kind: 'operational' })
        .items.map((a) => `${a.details!.subject} ${a.count} ${a.status}`)
        .sort();
    expect(counts()).toEqual(['boss 2 open', 'dsl1 1 open']);
    engine = await site.restart({ operational: { throttleMinutes: 15 } });
    locked('dsl1');
    expect(counts()).toEqual(['boss 2 open', 'dsl1 2 open']);
    const boss = engine.list({ kind: 'operational' }).items.find((a) => a.details!.subject === 'boss')!;
    engine.close(boss.id, 'itlead', 'Unlocked: the head forgot her password');
    locked('boss');
    expect(counts()).toEqual(['boss 1 open', 'boss 2 closed', 'dsl1 2 open']);
  });

  it('ignores kinds the config leaves out', () => {
    site = new TestSite();
    const engine = site.start({ operational: { kinds: ['disk-nearly-full'] } });
    engine.operational({ kind: 'link-failback', message: 'back on primary' });
    engine.operational({ kind: 'disk-nearly-full', message: '93% used' });
    expect(engine.list({ kind: 'operational' }).items.map((a) => a.category)).toEqual(['disk-nearly-full']);
  });
});

describe('database', () => {
  it('refuses a database that has not been migrated, saying how to open it', () => {
    const db = new Database(':memory:');
    expect(() => new AlertEngine({ db, config: parseAlerts({}) })).toThrow(/openDatabase\(\) from src\/store\/db.ts/);
    db.close();
  });
});
