// The real public lists in ../shared/lists load through ListManager with the
// formats deploy/gatehouse.site.yaml gives them (file: sources here instead of
// their URLs). Skipped when ../shared/lists is absent.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { ListManager } from '../../src/lists/manager.js';
import { configWithLists, type TestList } from './config-helpers.js';

const SHARED = new URL('../../../shared/lists', import.meta.url).pathname;
const present = existsSync(SHARED);

const UT1_CATEGORY: Record<string, string> = {
  agressif: 'hate',
  sect: 'hate',
  drogue: 'drugs',
  gambling: 'gambling',
  warez: 'piracy',
  vpn: 'vpn-proxy',
  doh: 'vpn-proxy',
  redirector: 'vpn-proxy',
  'residential-proxies': 'vpn-proxy',
  'remote-control': 'vpn-proxy',
  cryptojacking: 'malware',
  hacking: 'malware',
  ddos: 'malware',
  stalkerware: 'malware',
  mixed_adult: 'adult',
  lingerie: 'adult',
  social_networks: 'social',
  dating: 'dating',
  games: 'games',
  chat: 'social',
};
const BLP_CATEGORY: Record<string, string> = {
  drugs: 'drugs',
  vaping: 'drugs',
  piracy: 'piracy',
  torrent: 'piracy',
  scam: 'malware',
  ransomware: 'malware',
  crypto: 'malware',
};
const CATEGORIES = [
  'iwf',
  'adult',
  'hate',
  'drugs',
  'gambling',
  'malware',
  'piracy',
  'vpn-proxy',
  'no-safe-search',
  'social',
  'dating',
  'games',
];

function realLists(): TestList[] {
  const lists: TestList[] = [];
  for (const f of readdirSync(join(SHARED, 'ut1'))) {
    const m = /^(.+)\.(domains|urls)$/.exec(f);
    if (!m) continue;
    const category = m[2] === 'urls' ? (m[1] === 'adult' ? 'adult' : 'malware') : UT1_CATEGORY[m[1]];
    if (category)
      lists.push({ id: `ut1-${m[1]}-${m[2]}`.replace(/_/g, '-'), category, source: `file:${join(SHARED, 'ut1', f)}`, format: m[2] });
  }
  for (const f of readdirSync(join(SHARED, 'blocklistproject'))) {
    const m = /^(.+)\.hosts$/.exec(f);
    if (m && BLP_CATEGORY[m[1]])
      lists.push({
        id: `blp-${m[1]}`,
        category: BLP_CATEGORY[m[1]],
        source: `file:${join(SHARED, 'blocklistproject', f)}`,
        format: 'hosts',
      });
  }
  lists.push({
    id: 'hagezi-bypass',
    category: 'vpn-proxy',
    source: `file:${join(SHARED, 'hagezi/domains-doh-vpn-proxy-bypass.txt')}`,
    format: 'domains',
  });
  lists.push({
    id: 'hagezi-bypass-adblock',
    category: 'vpn-proxy',
    source: `file:${join(SHARED, 'hagezi/adblock-doh-vpn-proxy-bypass.txt')}`,
    format: 'adblock',
  });
  lists.push({
    id: 'hagezi-nosafesearch',
    category: 'no-safe-search',
    source: `file:${join(SHARED, 'hagezi/domains-nosafesearch.txt')}`,
    format: 'domains',
  });
  return lists;
}

describe.skipIf(!present)('real lists from ../shared/lists', () => {
  let dir: string;
  let lists: ListManager;
  const bit = (c: string) => (1 << CATEGORIES.indexOf(c)) >>> 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-real-'));
    lists = new ListManager(configWithLists(realLists(), CATEGORIES), { dataDir: dir, logger: silentLogger() });
    await lists.start();
  }, 180_000); // the nice-19 build of 7 MB of lists gets little CPU on a busy machine
  afterAll(() => {
    lists?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads every list without an error, with few bad lines', () => {
    const status = lists.status();
    expect(status.length).toBeGreaterThan(30);
    for (const s of status) {
      expect(s.lastError, s.id).toBeNull();
      expect(s.serving, s.id).toBe('source');
      const lines = s.entries + s.exceptions + s.unenforcedPathEntries + s.ipEntries;
      expect(s.badLines.count, s.id).toBeLessThan(Math.max(5, lines / 100));
      if (s.format !== 'urls') expect(s.entries, s.id).toBeGreaterThan(0);
    }
  });

  it('counts URL lists as unenforced paths and IP hosts', () => {
    const urls = lists.status().filter((s) => s.format === 'urls');
    expect(urls.length).toBe(3);
    for (const s of urls) {
      expect(s.unenforcedPathEntries, s.id).toBeGreaterThan(1000);
      expect(s.ipEntries, s.id).toBeGreaterThan(0);
    }
  });

  it.each([
    ['bet365.com', 'gambling'],
    ['www.pokerstars.com', 'gambling'],
    ['dns.google', 'vpn-proxy'],
    ['nordvpn.com', 'vpn-proxy'],
    ['thepiratebay.org', 'piracy'],
  ])('%s is in %s', (name, category) => {
    expect(lists.matcher.lookup(name) & bit(category)).toBe(bit(category));
  });

  it('holds the lists in one matcher', () => {
    expect(lists.matcher.size).toBeGreaterThan(200_000);
    expect(lists.matcher.lookup('gatehouse-not-listed.example')).toBe(0);
  });
});
