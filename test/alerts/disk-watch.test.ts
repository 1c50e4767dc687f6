// disk-nearly-full: the engine watches the filesystem holding the database.
import { afterEach, describe, expect, it } from 'vitest';
import { DiskWatch, diskUsage } from '../../src/alerts/disk-watch.js';
import { TestSite } from './helpers/setup.js';
import { waitFor } from './helpers/wait.js';

let site: TestSite;
afterEach(async () => site?.close());

describe('disk watch', () => {
  it('raises disk-nearly-full when the database disk is over the limit', async () => {
    site = new TestSite();
    const usage = await diskUsage(site.dir);
    expect(usage.usedPercent).toBeGreaterThan(0);
    expect(usage.usedPercent).toBeLessThanOrEqual(100);
    // A limit just under today's usage: the disk counts as nearly full.
    const engine = site.start({ operational: { diskUsedPercent: Math.max(1, Math.floor(usage.usedPercent) - 1) } });
    await waitFor(() => engine.list({ kind: 'operational' }).total === 1, 5000, 'the operational alert');
    const alert = engine.list({ kind: 'operational' }).items[0];
    expect(alert.category).toBe('disk-nearly-full');
    expect(alert.severity).toBe('high');
    expect(alert.details).toMatchObject({ path: site.dir });
    expect(Math.abs((alert.details!.usedPercent as number) - usage.usedPercent)).toBeLessThan(5);
  });

  it('stays quiet under the limit', async () => {
    site = new TestSite();
    const full: number[] = [];
    const watch = new DiskWatch(
      site.dir,
      100,
      60_000,
      (u) => full.push(u.usedPercent),
      (err) => {
        throw err;
      },
    );
    const usage = await watch.check();
    expect(usage!.usedPercent).toBeLessThan(100);
    expect(full).toEqual([]);
  });

  it('reports a path it cannot read as an error, not a full disk', async () => {
    const errors: unknown[] = [];
    const watch = new DiskWatch(
      '/nonexistent/gatehouse',
      1,
      60_000,
      () => {
        throw new Error('not full');
      },
      (err) => errors.push(err),
    );
    expect(await watch.check()).toBeNull();
    expect(errors.length).toBe(1);
  });
});
