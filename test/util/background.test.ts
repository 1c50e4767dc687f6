// The query-log writer runs at a lower priority than the DNS thread.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueryLog } from '../../src/store/query-log.js';
import { silentLogger } from '../../src/log.js';
import { BACKGROUND_NICE, backgroundNice } from '../../src/util/background.js';

/** A thread's nice value, from /proc (field 19 of stat). */
function niceOf(tid: string | number): number {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

/** Nice values of this process's threads. */
function threadNices(): number[] {
  return readdirSync('/proc/self/task').map(niceOf);
}

describe.skipIf(!existsSync('/proc/self/task'))('background threads', () => {
  it('the query-log writer thread runs niced, the main thread does not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-nice-'));
    const before = threadNices().filter((n) => n === BACKGROUND_NICE).length;
    const log = new QueryLog({ path: join(dir, 'db.sqlite'), queueMax: 1000, logger: silentLogger() });
    await log.start();
    try {
      expect(threadNices().filter((n) => n === BACKGROUND_NICE).length).toBe(before + 1);
      // The main thread's id is the process id (the directory's order is not the threads' age).
      expect(niceOf(process.pid)).toBe(0);
    } finally {
      await log.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('GATEHOUSE_BACKGROUND_NICE sets another value, and anything but 0-19 keeps 19', async () => {
    expect(['0', '7', '19', '20', '-1', '1.5', ' 5', 'x', ''].map((v) => backgroundNice({ GATEHOUSE_BACKGROUND_NICE: v }))).toEqual([
      0, 7, 19, 19, 19, 19, 19, 19, 19,
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'gh-nice-'));
    process.env.GATEHOUSE_BACKGROUND_NICE = '7'; // a worker copies the environment when it starts
    const log = new QueryLog({ path: join(dir, 'db.sqlite'), queueMax: 1000, logger: silentLogger() });
    try {
      await log.start();
      expect(threadNices()).toContain(7);
    } finally {
      delete process.env.GATEHOUSE_BACKGROUND_NICE;
      await log.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
