import { afterEach, describe, expect, it } from 'vitest';
import { QueryLog } from '../../src/store/query-log.js';
import { openDatabase } from '../../src/store/db.js';
import { search } from '../../src/store/search.js';
import { silentLogger } from '../../src/log.js';
import { tempDir } from './helpers.js';

const dicts = { groups: ['staff', 'pupils', 'guests'], categories: ['adult', 'gambling', 'vpn'], links: ['fibre', '4g'] };
const T0 = Date.UTC(2026, 10, 23, 9, 0, 0);

let tmp: ReturnType<typeof tempDir> | undefined;
afterEach(() => {
  tmp?.remove();
  tmp = undefined;
});

async function started(extra: Partial<ConstructorParameters<typeof QueryLog>[0]> = {}) {
  tmp = tempDir();
  const log = new QueryLog({ path: tmp.path('gh.db'), queueMax: 100_000, logger: silentLogger(), ...extra });
  log.setDictionaries(dicts);
  await log.start();
  return log;
}

describe('QueryLog', () => {
  it('every recorded row reads back with its client, group, action, category, link and numbers', async () => {
    const log = await started();
    const sent: {
      ts: number;
      client: string;
      group: number;
      name: string;
      qtype: number;
      action: number;
      category: number;
      link: number;
      rcode: number;
      lat: number;
      cached: boolean;
    }[] = [];
    for (let i = 0; i < 3000; i++) {
      const row = {
        // Several rows share a millisecond and some arrive late (out of order).
        ts: T0 + Math.floor(i / 3) * 7 - (i % 17 === 0 ? 900 : 0),
        client: `10.0.${i % 5}.${i % 7}`,
        group: i % 3,
        name: `host${i % 50}.example${i % 4}.org`,
        qtype: [1, 28, 65, 16][i % 4],
        action: i % 3,
        category: (i % 4) - 1,
        link: (i % 3) - 1,
        rcode: [0, 3, 2][i % 3],
        lat: i * 13,
        cached: i % 2 === 0,
      };
      sent.push(row);
      log.record(row.ts, row.client, row.group, row.name, row.qtype, row.action, row.category, row.link, row.rcode, row.lat, row.cached);
    }
    await log.close();
    expect(log.stats()).toMatchObject({ written: 3000, dropped: 0, queued: 0 });

    const db = openDatabase(tmp!.path('gh.db'), { readonly: true });
    const got = search(db, { from: T0 - 60_000, to: T0 + 3_600_000, limit: 10_000 }).rows;
    db.close();
    expect(got).toHaveLength(3000);
    const key = (r: { ts: number; client: string; name: string; qtype: number }) => `${r.ts}|${r.client}|${r.name}|${r.qtype}`;
    const expected = sent
      .map((r) => ({
        key: key(r),
        group: dicts.groups[r.group],
        action: ['allow', 'block', 'rewrite'][r.action],
        category: r.category < 0 ? null : dicts.categories[r.category],
        link: r.link < 0 ? null : dicts.links[r.link],
        rcode: r.rcode,
        latencyUs: r.lat,
        cached: r.cached,
      }))
      .sort((a, b) => (a.key < b.key ? -1 : 1) || a.latencyUs - b.latencyUs);
    const actual = got
      .map((r) => ({
        key: key(r),
        group: r.group,
        action: r.action,
        category: r.category,
        link: r.link,
        rcode: r.rcode,
        latencyUs: r.latencyUs,
        cached: r.cached,
      }))
      .sort((a, b) => (a.key < b.key ? -1 : 1) || a.latencyUs - b.latencyUs);
    expect(actual).toEqual(expected);
    // Newest first, unique ids.
    expect(new Set(got.map((r) => r.id)).size).toBe(3000);
    for (let i = 1; i < got.length; i++) expect(got[i].id).toBeLessThan(got[i - 1].id);
  });

  it('keeps the names of groups and categories as they were when logged, across a config reload', async () => {
    const log = await started();
    log.record(T0, '10.0.0.1', 1, 'a.example', 1, 1, 0, 0, 0, 100, false);
    log.setDictionaries({ groups: ['pupils-ks3', 'pupils'], categories: ['gambling', 'adult'], links: ['fibre'] });
    log.record(T0 + 1, '10.0.0.1', 1, 'b.example', 1, 1, 0, 0, 0, 100, false);
    await log.close();
    const db = openDatabase(tmp!.path('gh.db'), { readonly: true });
    const rows = search(db, { from: T0, to: T0 + 10 }).rows;
    db.close();
    expect(rows.map((r) => [r.name, r.group, r.category])).toEqual([
      ['b.example', 'pupils', 'gambling'],
      ['a.example', 'pupils', 'adult'],
    ]);
  });

  it('close under load loses nothing', async () => {
    // The queue is large enough that nothing can be dropped: this is about close, not about stalls.
    const log = await started({ batchRows: 512, queueMax: 5_000_000 });
    let sent = 0;
    // Record continuously for 300 ms, then close while rows are still in flight.
    await new Promise<void>((resolve) => {
      const until = Date.now() + 300;
      const pump = () => {
        for (let i = 0; i < 2000; i++, sent++)
          log.record(T0 + sent, `10.1.${sent % 200}.1`, 0, `n${sent % 997}.example`, 1, 0, -1, 0, 0, 50, false);
        if (Date.now() < until) setImmediate(pump);
        else resolve();
      };
      pump();
    });
    await log.close();
    expect(log.stats()).toMatchObject({ written: sent, dropped: 0 });
    const db = openDatabase(tmp!.path('gh.db'), { readonly: true });
    const count = db.prepare('SELECT sum(n) FROM (SELECT count(*) AS n FROM q_20261123)').pluck().get();
    db.close();
    expect(count).toBe(sent);
  });

  it('a row with a bad timestamp or a missing name does not sink the batch around it', async () => {
    const log = await started();
    log.record(T0, '10.0.0.1', 0, 'good-1.example', 1, 0, -1, -1, 0, 1, false);
    log.record(Number.NaN, '10.0.0.1', 0, 'bad-time.example', 1, 0, -1, -1, 0, 1, false);
    log.record(T0 + 1, '10.0.0.1', 0, undefined as unknown as string, 1, 0, -1, -1, 0, 1, false);
    log.record(T0 + 2, '10.0.0.1', 7 /* no such group */, 'good-2.example', 1, 0, 99, 42, 0, 1, false);
    await log.close();
    expect(log.stats()).toMatchObject({ written: 4, dropped: 0 });
    const db = openDatabase(tmp!.path('gh.db'), { readonly: true });
    const rows = search(db, { from: T0, to: T0 + 10 }).rows;
    const now = search(db, { from: Date.now() - 60_000, to: Date.now() + 1 }).rows;
    db.close();
    expect(rows.map((r) => [r.name, r.group, r.category, r.link])).toEqual([
      ['good-2.example', null, null, null],
      ['', 'staff', null, null],
      ['good-1.example', 'staff', null, null],
    ]);
    expect(now.map((r) => r.name)).toEqual(['bad-time.example']);
  });

  it('records after close are counted as dropped, not thrown', async () => {
    const log = await started();
    await log.close();
    expect(() => log.record(T0, '10.0.0.1', 0, 'x.example', 1, 0, -1, -1, 0, 1, false)).not.toThrow();
    expect(log.dropped).toBe(1);
  });
});
