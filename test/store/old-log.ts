// A query log as Gatehouse wrote it before names were hidden (schema version
// 4, names in the clear whatever their category): the starting point of the
// tests of the upgrade (store/hide-illegal.ts). Written with SQL in version 4's
// shapes, not with today's writer.
import { openDatabase } from '../../src/store/db.js';
import { migrations } from '../../src/store/migrations.js';
import { createDay, dayOf, dropDay, listDays, DAY_MS, KEY_SLOTS, MINUTE_MS, NAME_BUCKET_MINUTES } from '../../src/store/partitions.js';

export interface OldRow {
  ts: number;
  client: string;
  group: string;
  name: string;
  action: 'allow' | 'block';
  category?: string;
}

export function writeOldLog(path: string, rows: readonly OldRow[]): void {
  const db = openDatabase(path, { migrations: migrations.slice(0, 4) });
  const upsertId = (sql: string, ...args: unknown[]) =>
    db
      .prepare(sql)
      .pluck()
      .get(...args) as number;
  const dict = (kind: string, name: string) =>
    upsertId(
      'INSERT INTO dict (kind, name) VALUES (?, ?) ON CONFLICT (kind, name) DO UPDATE SET name = excluded.name RETURNING id',
      kind,
      name,
    );
  let k = 0;
  db.transaction(() => {
    for (const r of rows) {
      const day = dayOf(r.ts);
      const t = createDay(db, day);
      const grp = dict('group', r.group);
      const cat = r.category ? dict('category', r.category) : 0;
      const action = r.action === 'block' ? 1 : 0;
      const shape = upsertId(
        `INSERT INTO shape (qtype, grp, action, cached, rcode, cat, link) VALUES (1, ?, ?, 0, 0, ?, 0)
         ON CONFLICT (qtype, grp, action, cached, rcode, cat, link) DO UPDATE SET qtype = excluded.qtype RETURNING id`,
        grp,
        action,
        cat,
      );
      const name = upsertId(
        'INSERT INTO name_by_id (name, last_day) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET last_day = max(last_day, excluded.last_day) RETURNING id',
        r.name,
        day,
      );
      const client = upsertId(
        'INSERT INTO client_by_id (address, last_day) VALUES (?, ?) ON CONFLICT (address) DO UPDATE SET last_day = max(last_day, excluded.last_day) RETURNING id',
        r.client,
        day,
      );
      const ms = r.ts - day * DAY_MS;
      const minute = Math.floor(ms / MINUTE_MS);
      db.prepare(`INSERT INTO ${t.q} (id, client, name, shape, lat) VALUES (?, ?, ?, ?, 100)`).run(
        ms * KEY_SLOTS + (k++ % KEY_SLOTS),
        client,
        name,
        shape,
      );
      const bump = 'ON CONFLICT DO UPDATE SET n = n + excluded.n, blocked = blocked + excluded.blocked';
      db.prepare(`INSERT INTO ${t.rc} (client, minute, n, blocked) VALUES (?, ?, 1, ?) ${bump}`).run(client, minute, action);
      db.prepare(`INSERT INTO ${t.rn} (name, bucket, n, blocked) VALUES (?, ?, 1, ?) ${bump}`).run(
        name,
        Math.floor(minute / NAME_BUCKET_MINUTES),
        action,
      );
      db.prepare(
        `INSERT INTO ${t.rm} (minute, grp, cat, link, action, n, cached, lat) VALUES (?, ?, ?, 0, ?, 1, 0, 100)
         ON CONFLICT DO UPDATE SET n = n + 1, lat = lat + 100`,
      ).run(minute, grp, cat, action);
    }
  })();
  db.close();
}

/** What version 4's retention did: drop the days before `cutoff`, delete the names last used before it (nothing overwritten). */
export function purgeOldLog(path: string, cutoff: number): void {
  const db = openDatabase(path, { migrations: migrations.slice(0, 4) });
  for (const day of listDays(db)) if (day < dayOf(cutoff)) dropDay(db, day);
  db.prepare('DELETE FROM name_by_id WHERE last_day < ?').run(dayOf(cutoff));
  db.close();
}
