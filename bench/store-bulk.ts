// Fast bulk build of a big synthetic query log for the search benchmark: the
// same schema as the writer produces (partitions.ts, the dictionaries), filled
// directly, one transaction per chunk, rollups counted in memory and written
// in key order once per day (as after the nightly compaction).
import type { Database } from 'better-sqlite3';
import { createDay, DAY_MS, KEY_SLOTS, MINUTE_MS, NAME_BUCKET_MINUTES, NAME_BUCKETS } from '../src/store/partitions.js';
import type { TrafficMix } from './store-mix.js';
import { clientOf, nameOf, type Dictionaries } from '../src/store/batch.js';

export function bulkBuild(
  db: Database,
  mix: TrafficMix,
  dict: Dictionaries,
  firstDay: number,
  days: number,
  perDay: number,
  deadline: number,
): number {
  const intern = (sql: string, values: string[]) => {
    const st = db.prepare(sql);
    db.transaction(() => values.forEach((v, i) => st.run(i + 1, v, firstDay + days)))();
  };
  intern('INSERT INTO name_by_id (id, name, last_day) VALUES (?, ?, ?)', mix.names);
  intern('INSERT INTO client_by_id (id, address, last_day) VALUES (?, ?, ?)', mix.clients);
  const dictId = new Map<string, number>();
  const insDict = db.prepare('INSERT INTO dict (kind, name) VALUES (?, ?) RETURNING id').pluck();
  for (const [kind, list] of [
    ['group', dict.groups],
    ['category', dict.categories],
    ['link', dict.links],
  ] as const) {
    for (const n of list) dictId.set(`${kind}:${n}`, insDict.get(kind, n) as number);
  }
  const shapes = new Map<string, { id: number; grp: number; cat: number; link: number; action: number }>();
  const insShape = db
    .prepare('INSERT INTO shape (qtype, grp, action, cached, rcode, cat, link) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id')
    .pluck();

  const clientIndex = new Map(mix.clients.map((c, k) => [c, k + 1]));
  // The last day each name was used, as the writer keeps it (search narrows substring matches by it).
  const lastDay = new Int32Array(mix.names.length + 1);
  let written = 0;
  for (let d = 0; d < days; d++) {
    if (Date.now() > deadline) break;
    const day = firstDay + d;
    const t = createDay(db, day);
    const insQ = db.prepare(`INSERT INTO ${t.q} (id, client, name, shape, lat) VALUES (?, ?, ?, ?, ?)`);
    const rc = new Map<number, [number, number]>();
    const rn = new Map<number, [number, number]>();
    const rm = new Map<string, [number, number, number]>();
    const times = mix.dayTimes(day, perDay);
    let lastMs = -1;
    let slot = 0;
    const chunk = 50_000;
    for (let i = 0; i < perDay && Date.now() <= deadline; i += chunk) {
      const b = mix.batch(times, i, Math.min(perDay, i + chunk));
      db.transaction(() => {
        for (let j = 0; j < b.n; j++) {
          const ms = b.ts[j] - day * DAY_MS;
          slot = ms === lastMs ? slot + 1 : 0;
          lastMs = ms;
          const key = `${b.qtype[j]},${b.group[j]},${b.action[j]},${b.cached[j]},${b.rcode[j]},${b.category[j]},${b.link[j]}`;
          let s = shapes.get(key);
          if (!s) {
            const grp = dictId.get(`group:${dict.groups[b.group[j]]}`) ?? 0;
            const cat = b.category[j] >= 0 ? (dictId.get(`category:${dict.categories[b.category[j]]}`) ?? 0) : 0;
            const link = b.link[j] >= 0 ? (dictId.get(`link:${dict.links[b.link[j]]}`) ?? 0) : 0;
            const id = insShape.get(b.qtype[j], grp, b.action[j], b.cached[j], b.rcode[j], cat, link) as number;
            s = { id, grp, cat, link, action: b.action[j] };
            shapes.set(key, s);
          }
          const client = clientIndex.get(clientOf(b, j))!;
          const name = mix.nameIdOf(nameOf(b, j));
          lastDay[name] = day;
          insQ.run(ms * KEY_SLOTS + slot, client, name, s.id, b.latencyUs[j]);
          const minute = Math.floor(ms / MINUTE_MS);
          const blocked = b.action[j] === 1 ? 1 : 0;
          bump(rc, client * 1440 + minute, blocked);
          bump(rn, name * NAME_BUCKETS + Math.floor(minute / NAME_BUCKET_MINUTES), blocked);
          const mk = `${minute},${s.grp},${s.cat},${s.link},${s.action}`;
          const m = rm.get(mk);
          if (m) {
            m[0]++;
            m[1] += b.cached[j];
            m[2] += b.latencyUs[j];
          } else rm.set(mk, [1, b.cached[j], b.latencyUs[j]]);
        }
      })();
      written += b.n;
    }
    db.transaction(() => {
      const insRc = db.prepare(`INSERT INTO ${t.rc} (client, minute, n, blocked) VALUES (?, ?, ?, ?)`);
      for (const k of [...rc.keys()].sort((a, b) => a - b)) insRc.run(Math.floor(k / 1440), k % 1440, ...rc.get(k)!);
      const insRn = db.prepare(`INSERT INTO ${t.rn} (name, bucket, n, blocked) VALUES (?, ?, ?, ?)`);
      for (const k of [...rn.keys()].sort((a, b) => a - b)) insRn.run(Math.floor(k / NAME_BUCKETS), k % NAME_BUCKETS, ...rn.get(k)!);
      const insRm = db.prepare(`INSERT INTO ${t.rm} (minute, grp, cat, link, action, n, cached, lat) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
      for (const [k, v] of rm) insRm.run(...k.split(',').map(Number), ...v);
      db.prepare('INSERT OR IGNORE INTO compacted_day (day) VALUES (?)').run(day);
    })();
    process.stderr.write(`bulk: day ${d + 1}/${days}, ${written} rows\n`);
  }
  const setLast = db.prepare('UPDATE name_by_id SET last_day = ? WHERE id = ?');
  db.transaction(() => lastDay.forEach((d, id) => id > 0 && setLast.run(d || firstDay, id)))();
  return written;
}

function bump(map: Map<number, [number, number]>, key: number, blocked: number): void {
  const v = map.get(key);
  if (v) {
    v[0]++;
    v[1] += blocked;
  } else map.set(key, [1, blocked]);
}
