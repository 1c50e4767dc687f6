// The dashboard with inject, over the real store and writer: blocked lookups
// by category add up to the blocked total (canary answers and deny exceptions
// included), help lookups are counted, open alerts and review requests say
// how many are not listed ("and 3 more"), the menu counts the requests
// waiting, and the chart has axes, dated local time labels and a legend.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestReference } from '../../src/admin/exceptions.js';
import { createReviewRequest } from '../../src/changes/review-request.js';
import { blockedByCategory } from '../../src/admin/routes/dashboard.js';
import { barChart, localTicks, niceStep } from '../../src/admin/views/chart.js';
import { AlertEngine } from '../../src/alerts/engine.js';
import { silentLogger } from '../../src/log.js';
import type { Client } from './helpers.js';
import { loggedIn, pagesHarness, type PagesHarness } from './pages-helpers.js';

const GROUP = { pupils: 0, staff: 1, guests: 2 };
// The config's categories, then the built-in ones (as the query log numbers them).
const CAT = { adult: 0, iwf: 1, social: 2, canary: 3, help: 4 };
// Tuesday 16 June 2026, 09:20:20 BST.
const NOW = Date.parse('2026-06-16T08:20:20Z');

/** The SVG's <text> contents, in document order. */
const svgTexts = (body: string, cls?: string) =>
  [...body.matchAll(/<text class="lbl([^"]*)"[^>]*>([^<]*)<\/text>/g)].filter((m) => !cls || m[1].includes(cls)).map((m) => m[2]);

const numberIn = (text: string) => Number(text.replace(/,/g, ''));

describe('dashboard', () => {
  let h: PagesHarness;
  let engine: AlertEngine;
  let dsl: Client;
  let admin: Client;

  beforeAll(async () => {
    const live: { alerts?: AlertEngine } = {};
    h = await pagesHarness({ now: NOW, deps: { live } });
    engine = new AlertEngine({ db: h.db, config: h.config.alerts, categories: h.config.categories, logger: silentLogger() });
    live.alerts = engine;
    const t = h.clock.now;
    const row = (ago: number, client: string, name: string, action: number, category: number) =>
      h.log.record(t - ago, client, GROUP.pupils, name, 1, action, category, -1, 0, 100, false);
    for (let i = 0; i < 40; i++) row(30 * 60_000 - i * 1000, '127.0.0.2', `site${i % 5}.example`, 0, -1);
    for (let i = 0; i < 6; i++) row(20 * 60_000 + i, '127.0.0.2', 'porn.example', 1, CAT.adult);
    for (let i = 0; i < 3; i++) row(15 * 60_000 + i, '127.0.0.3', 'chat.example', 1, CAT.social);
    for (let i = 0; i < 4; i++) row(10 * 60_000 + i, '127.0.0.4', 'use-application-dns.net', 1, CAT.canary);
    row(9 * 60_000, '127.0.0.4', 'mask.icloud.com', 1, CAT.canary);
    for (let i = 0; i < 2; i++) row(8 * 60_000 + i, '127.0.0.2', 'denied.example', 1, -1); // deny exception: no category
    for (let i = 0; i < 7; i++) row(5 * 60_000 + i, '127.0.0.2', 'www.childline.org.uk', 0, CAT.help);
    await h.log.flush();
    for (let i = 0; i < 8; i++)
      engine.observe({
        at: t - 60_000,
        client: `127.0.1.${i}`,
        group: 'pupils',
        category: 'adult',
        severity: 'high',
        domain: 'porn.example',
        circumvention: false,
        illegal: false,
      });
    for (let i = 0; i < 7; i++)
      createReviewRequest(
        h.db,
        h.config,
        { domain: `site${i}.example`, group: 'pupils', clientAddress: '127.0.0.2', reason: 'homework' },
        t - 1000 * i,
      );
    // A review of a name in an illegal category is never shown or counted (the block page refuses them; here one is stored anyway).
    createReviewRequest(
      h.db,
      h.config,
      { domain: 'abuse.example', category: 'iwf', group: 'pupils', clientAddress: '127.0.0.3', reason: 'x' },
      t,
    );
    dsl = await loggedIn(h, 'dsl', 'dsl');
    admin = await loggedIn(h, 'itlead', 'admin');
  });

  afterAll(async () => {
    await engine?.stop();
    await h?.close();
  });

  it('top categories add up with the blocked total, canaries and deny exceptions included', async () => {
    const api = (await dsl.api('GET', '/api/dashboard')).json();
    expect(api.blocked).toBe(16);
    expect(api.topBlockedCategories).toEqual([
      { category: 'adult', name: 'Adult content', illegal: false, blocked: 6 },
      { category: 'circumvention-canary', name: 'Browser DoH canary / Private Relay', illegal: false, blocked: 5 },
      { category: 'social', name: 'Social media', illegal: false, blocked: 3 },
      { category: null, name: 'No category (deny exceptions)', illegal: false, blocked: 2 },
    ]);
    const body = (await dsl.get('/dashboard')).body;
    const table = /<table class="counts" id="top-categories">([\s\S]*?)<\/table>/.exec(body)![1];
    const counts = [...table.matchAll(/<td class="num">([\d,]+)<\/td>/g)].map((m) => numberIn(m[1]));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(16);
    expect(table).toContain('Browser DoH canary / Private Relay');
    // Help lookups are counted (and never blocked).
    expect(body).toContain('id="help-lookups">7<');
    expect(api.helpLookups).toBe(7);
  });

  it('sums categories beyond the list into one row, so the rows always add up', () => {
    const rows = [
      { key: 'a', blocked: 5 },
      { key: 'b', blocked: 4 },
      { key: 'c', blocked: 3 },
      { key: null, blocked: 2 },
      { key: 'd', blocked: 0 },
    ];
    const two = blockedByCategory(h.config, rows, 2);
    expect(two.map((r) => [r.name, r.blocked])).toEqual([
      ['a', 5],
      ['b', 4],
      ['No category (deny exceptions)', 2],
      ['1 other category', 3],
    ]);
    for (const limit of [1, 2, 3, 10]) expect(blockedByCategory(h.config, rows, limit).reduce((n, r) => n + r.blocked, 0)).toBe(14);
  });

  it('lists five of eight open alerts and says "and 3 more"', async () => {
    const body = (await dsl.get('/dashboard')).body;
    expect(body).toMatch(/id="open-alerts"><strong>8<\/strong>/);
    const list = /<ul class="plain" id="open-alert-list">([\s\S]*?)<\/ul>/.exec(body)![1];
    expect(list.match(/<span class="sev/g)).toHaveLength(5);
    expect(list).toContain('<li class="more">and 3 more</li>');
  });

  it('shows the review requests waiting, with their references, and counts them in the menu', async () => {
    const body = (await dsl.get('/dashboard')).body;
    expect(body).toMatch(/id="pending-requests"><strong>7<\/strong> requests/);
    const list = /<ul class="plain" id="pending-request-list">([\s\S]*?)<\/ul>/.exec(body)![1];
    expect(list).toContain(requestReference(2)); // #1 is the seeded policy's first change
    expect(list).toContain('R-000002');
    expect(list).toContain('<li class="more">and 2 more</li>');
    expect(body).not.toContain('abuse.example');
    // The menu: "Exceptions 7" on every page, for every role that sees it.
    for (const c of [dsl, admin])
      for (const path of ['/dashboard', '/alerts', '/account'])
        expect((await c.get(path)).body).toMatch(
          /<a href="\/exceptions"[^>]*>Exceptions <span class="count" title="7 review requests waiting"[^>]*>7</,
        );
    expect((await dsl.api('GET', '/api/dashboard')).json().pendingRequests).toBe(7);
  });

  it('draws the chart with a y axis, local dated time labels and a legend', async () => {
    const hour = (await dsl.get('/dashboard')).body;
    const texts = svgTexts(hour);
    expect(texts).toContain('Queries per minute');
    expect(texts).toEqual(expect.arrayContaining(['Queries', 'Blocked']));
    // y axis: 0 and round steps up to the tallest bar (40 allowed queries in 40 s: one minute holds 30 or so).
    const y = svgTexts(hour, 'ytick').map(numberIn);
    expect(y[0]).toBe(0);
    expect(y.length).toBeGreaterThanOrEqual(3);
    expect(new Set(y.slice(1).map((v, i) => v - y[i])).size).toBe(1); // evenly spaced
    // Time axis: every 10 minutes in BST (the clock is 09:20 BST, so the hour runs 08:21-09:21), dated once.
    expect(svgTexts(hour, 'xtick')).toEqual(['08:30', '08:40', '08:50', '09:00', '09:10', '09:20']);
    expect(svgTexts(hour, 'xdate')).toEqual(['Tue 16 Jun']);
    const week = (await dsl.get('/dashboard?period=week')).body;
    expect(svgTexts(week, 'xtick')).toEqual([
      'Wed 10 Jun',
      'Thu 11 Jun',
      'Fri 12 Jun',
      'Sat 13 Jun',
      'Sun 14 Jun',
      'Mon 15 Jun',
      'Tue 16 Jun',
    ]);
    expect(svgTexts(week)).toContain('Queries per 2 hours');
    // A day crosses midnight: the new date is shown where it starts.
    const day = (await dsl.get('/dashboard?period=day')).body;
    expect(svgTexts(day, 'xdate')).toEqual(['Mon 15 Jun', 'Tue 16 Jun']);
    expect(svgTexts(day, 'xtick')).toContain('00:00');
  });
});

describe('chart pieces', () => {
  it.each<[number, number]>([
    [0, 1],
    [3, 1],
    [9, 5],
    [40, 10],
    [130, 50],
    [1234, 500],
    [98_000, 50_000],
  ])('a round step for a maximum of %i is %i', (max, step) => {
    expect(niceStep(max)).toBe(step);
  });

  it('puts ticks at round local times across a change of the clocks', () => {
    // The night the clocks go back (25 October 2026): 3-hour ticks are 00:00, 03:00, 06:00 local; 01:00 happens twice.
    const from = Date.parse('2026-10-24T22:30:00Z');
    const ticks = localTicks(from, from + 9 * 3_600_000, 3 * 3_600_000, 'Europe/London');
    expect(ticks.map((t) => new Date(t).toISOString())).toEqual([
      '2026-10-24T23:00:00.000Z',
      '2026-10-25T03:00:00.000Z',
      '2026-10-25T06:00:00.000Z',
    ]);
  });

  it('escapes nothing it did not make: the title is escaped', () => {
    const svg = barChart([], {
      from: 0,
      to: 3_600_000,
      bucketMs: 60_000,
      perBar: 'per minute',
      tickMs: 600_000,
      title: '<b>x</b>',
      zone: 'UTC',
    }).value;
    expect(svg).not.toContain('<b>');
    expect(svg).toContain('no queries');
  });
});
