// Downloads against a loopback HTTP server: conditional GET, and every way a
// refresh can fail (size cap, timeout, corrupt body, server down) keeps the
// old list serving; a restart serves the last good copy from disk.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { ListManager, type RefreshEvent } from '../../src/lists/manager.js';
import { configWithLists } from './config-helpers.js';

type Mode = 'good' | 'updated' | 'huge-declared' | 'huge-streamed' | 'stall' | 'garbage' | 'error';

const GOOD = '# test list\nold-casino.example\nold-bet.example\n';
const UPDATED = '# test list\nnew-casino.example\n';

let server: Server;
let base: string;
let mode: Mode = 'good';
const seen: IncomingHttpHeaders[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.headers);
    const body = mode === 'updated' ? UPDATED : GOOD;
    const etag = mode === 'updated' ? '"v2"' : '"v1"';
    switch (mode) {
      case 'good':
      case 'updated':
        if (req.headers['if-none-match'] === etag) {
          res.writeHead(304).end();
          return;
        }
        res.writeHead(200, { etag, 'last-modified': 'Mon, 02 Nov 2026 10:00:00 GMT', 'content-type': 'text/plain' }).end(body);
        return;
      case 'huge-declared':
        res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
        res.end();
        req.socket.destroy();
        return;
      case 'huge-streamed': {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const line = 'filler.example\n'.repeat(1000);
        let sent = 0;
        const pump = () => {
          while (sent < 200 && res.write(line)) sent++;
          if (sent < 200) res.once('drain', pump);
          else res.end();
        };
        pump();
        return;
      }
      case 'stall':
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('stalled.example\n'); // and never finish
        return;
      case 'garbage': {
        const junk = Buffer.alloc(64 * 1024);
        for (let i = 0; i < junk.length; i++) junk[i] = (i * 131 + 7) % 256;
        res.writeHead(200, { etag: '"junk"' }).end(junk);
        return;
      }
      case 'error':
        res.writeHead(503).end('unavailable');
        return;
    }
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('http list sources', () => {
  let dir: string;
  let lists: ListManager;
  let events: RefreshEvent[];
  let swaps: number;
  const gambling = 2;
  const config = () =>
    configWithLists([
      { id: 'remote', category: 'gambling', source: `${base}/list.txt`, format: 'domains', maxBytes: 64 * 1024, timeoutMs: 2000 },
    ]);

  beforeEach(async () => {
    mode = 'good';
    seen.length = 0;
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-src-'));
    lists = new ListManager(config(), { dataDir: dir, logger: silentLogger() });
    events = [];
    swaps = 0;
    lists.on('refresh', (e: RefreshEvent) => events.push(e));
    lists.on('swap', () => swaps++);
    await lists.start();
    expect(lists.matcher.lookup('www.old-casino.example')).toBe(gambling);
    return () => {
      lists.stop();
      rmSync(dir, { recursive: true, force: true });
    };
  });

  it('sends the ETag back and keeps the list on 304 Not Modified, without a rebuild', async () => {
    expect(lists.status()[0]).toMatchObject({ etag: '"v1"', lastModified: 'Mon, 02 Nov 2026 10:00:00 GMT', entries: 2 });
    await lists.refresh('remote');
    expect(seen.at(-1)!['if-none-match']).toBe('"v1"');
    expect(seen.at(-1)!['if-modified-since']).toBe('Mon, 02 Nov 2026 10:00:00 GMT');
    expect(swaps).toBe(1);
    expect(events.at(-1)).toMatchObject({ listId: 'remote', ok: true, entries: 2, error: null });
    expect(lists.matcher.lookup('old-casino.example')).toBe(gambling);
  });

  it('swaps in a changed list before announcing the refresh', async () => {
    mode = 'updated';
    let seenOnEvent = -1;
    lists.once('refresh', () => (seenOnEvent = lists.matcher.lookup('new-casino.example')));
    await lists.refresh();
    expect(seenOnEvent).toBe(gambling);
    expect(swaps).toBe(2);
    expect(lists.matcher.lookup('old-casino.example')).toBe(0);
    expect(lists.matcher.lookup('new-casino.example')).toBe(gambling);
    expect(lists.status()[0]).toMatchObject({ etag: '"v2"', entries: 1, serving: 'source' });
  });

  it.each([
    ['huge-declared', /larger than maxBytes/],
    ['huge-streamed', /larger than maxBytes/],
    ['stall', /timed out after 2000 ms/],
    ['garbage', /not valid for the list's format/],
    ['error', /HTTP 503/],
  ] as const)('a %s download keeps the old list and reports why', async (bad, why) => {
    mode = bad;
    await lists.refresh('remote');
    expect(lists.matcher.lookup('old-casino.example')).toBe(gambling);
    const status = lists.status()[0];
    expect(status.lastError).toMatch(why);
    expect(status).toMatchObject({ serving: 'last-good', entries: 2, etag: '"v1"' });
    expect(events.at(-1)).toMatchObject({ listId: 'remote', ok: false });
    expect(events.at(-1)!.error).toMatch(why);
  });

  it('starts from the last good copy on disk when the server is down', async () => {
    lists.stop();
    mode = 'error';
    const again = new ListManager(config(), { dataDir: dir, logger: silentLogger() });
    await again.start();
    again.stop();
    expect(again.matcher.lookup('old-bet.example')).toBe(gambling);
    expect(again.status()[0]).toMatchObject({ serving: 'last-good', entries: 2, lastError: 'HTTP 503 from the list server' });
  });

  it.each(['http://192.0.2.1/list.txt', 'http://lists.example.org/list.txt'])('refuses plain http from %s', async (source) => {
    const fresh = mkdtempSync(join(tmpdir(), 'gatehouse-src-'));
    const remote = new ListManager(configWithLists([{ id: 'plain', category: 'gambling', source, format: 'domains' }]), {
      dataDir: fresh,
      logger: silentLogger(),
    });
    await remote.start();
    remote.stop();
    rmSync(fresh, { recursive: true, force: true });
    expect(remote.status()[0].lastError).toMatch(/only accepted from a loopback address/);
  });

  it('starts empty, with the error in status, when there is no copy at all', async () => {
    mode = 'error';
    const fresh = mkdtempSync(join(tmpdir(), 'gatehouse-src-'));
    const cold = new ListManager(config(), { dataDir: fresh, logger: silentLogger() });
    await cold.start();
    cold.stop();
    rmSync(fresh, { recursive: true, force: true });
    expect(cold.matcher.lookup('old-bet.example')).toBe(0);
    expect(cold.status()[0]).toMatchObject({ serving: 'none', entries: 0, lastError: 'HTTP 503 from the list server' });
  });
});
