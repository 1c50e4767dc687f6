// A hard kill (SIGKILL, power cut of the process) loses at most the last second of rows.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../../src/store/db.js';
import { listDays, dayTables } from '../../src/store/partitions.js';
import { tempDir } from './helpers.js';

const child = fileURLToPath(new URL('./fixtures/hard-kill-child.ts', import.meta.url));

describe('hard kill', () => {
  it('rows recorded more than a second before SIGKILL are in the database', async () => {
    const tmp = tempDir();
    try {
      const path = tmp.path('gh.db');
      // The writer at normal priority: at nice 19 it gets 1-2% of a core while the other test files
      // keep both cores busy, and this test measures the flush cadence, not the scheduler.
      const proc = spawn(process.execPath, ['--import', 'tsx', child, path], {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, GATEHOUSE_BACKGROUND_NICE: '0' },
      });
      const marks: [number, number][] = [];
      let buffered = '';
      proc.stdout.on('data', (d: Buffer) => {
        buffered += d.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const l of lines) marks.push(l.split(' ').map(Number) as [number, number]);
      });
      // Let it run 2.5 s after its first row, then kill it without warning.
      await new Promise<void>((resolve, reject) => {
        const started = setInterval(() => {
          if (marks.length > 0 && Date.now() - marks[0][1] > 2500) {
            clearInterval(started);
            resolve();
          }
        }, 20);
        proc.once('exit', () => reject(new Error('the child exited by itself')));
      });
      const killedAt = Date.now();
      proc.kill('SIGKILL');
      await new Promise((r) => proc.once('exit', r));
      const recorded = marks.at(-1)![0];
      const secondBefore = marks.filter(([, at]) => at <= killedAt - 1000).at(-1)![0];

      const db = openDatabase(path, { readonly: true });
      const stored = listDays(db).reduce(
        (n, d) =>
          n +
          (db
            .prepare(`SELECT count(*) FROM ${dayTables(d).q}`)
            .pluck()
            .get() as number),
        0,
      );
      db.close();
      expect(secondBefore).toBeGreaterThan(1000);
      expect(stored).toBeGreaterThanOrEqual(secondBefore);
      expect(stored).toBeLessThanOrEqual(recorded + 100);
    } finally {
      tmp.remove();
    }
  });
});
