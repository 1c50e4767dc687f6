// The example config's lists load through the real ListManager (files, worker
// build, swap), and block what their comments say they block.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { ListManager } from '../../src/lists/manager.js';

const config: Config = loadConfig(new URL('../../config/gatehouse.example.yaml', import.meta.url).pathname);
const bit = (id: string) => (1 << config.categories.findIndex((c) => c.id === id)) >>> 0;

describe('example lists through ListManager', () => {
  let dir: string;
  let lists: ListManager;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-lists-'));
    lists = new ListManager(config, { dataDir: dir, logger: silentLogger() });
    await lists.start();
  });
  afterAll(() => {
    lists.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['iwf-test.gatehouse.test', 'iwf'],
    ['a.iwf-test.gatehouse.test', 'iwf'],
    ['ctiru-test.gatehouse.test', 'ctiru'],
    ['x.ctiru-stand-in.gatehouse.test', 'ctiru'],
    ['www.adult-example.gatehouse.test', 'adult'],
    ['m.porn-example.gatehouse.test', 'adult'],
    ['casino-example.gatehouse.test', 'gambling'],
    ['www.betting-example.gatehouse.test', 'gambling'],
    ['fr.nordvpn.com', 'vpn-proxy'],
    ['nordvpn.com', 'vpn-proxy'],
    ['dns.google', 'vpn-proxy'],
    ['www.instagram.com', 'social'],
    ['malware-example.gatehouse.test', 'malware'],
    ['cdn.phishing-example.gatehouse.test', 'malware'],
  ])('%s is in category %s', (name, category) => {
    expect(lists.matcher.lookup(name)).toBe(bit(category));
  });

  it.each([
    'ok.ctiru-stand-in.gatehouse.test',
    'lottery-results.betting-example.gatehouse.test',
    'shared-host.gatehouse.test',
    'localhost',
    'google.com',
    'gatehouse.test',
  ])('%s is not blocked', (name) => {
    expect(lists.matcher.lookup(name)).toBe(0);
  });

  it('reports counts per list, with path and IP entries counted but not enforced', () => {
    const byId = new Map(lists.status().map((s) => [s.id, s]));
    expect(byId.get('example-iwf')).toMatchObject({
      illegal: true,
      entries: 3,
      badLines: { count: 0, lines: [] },
      serving: 'source',
      lastError: null,
    });
    expect(byId.get('example-ctiru')).toMatchObject({ illegal: true, entries: 4, exceptions: 1 });
    expect(byId.get('example-adult')).toMatchObject({ entries: 3 });
    expect(byId.get('example-gambling')).toMatchObject({ entries: 2, exceptions: 1 });
    expect(byId.get('example-malware')).toMatchObject({ entries: 2, unenforcedPathEntries: 1, ipEntries: 1 });
    for (const s of byId.values()) expect(s.lastRefresh).not.toBeNull();
  });

  it('explains a block by list id and category', () => {
    expect(lists.matcher.explain('a.iwf-test.gatehouse.test')).toEqual([{ listId: 'example-iwf', category: 'iwf', effect: 'block' }]);
  });
});
