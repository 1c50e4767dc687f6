// The admin UI answers only its own names (admin.hostnames) and its listen
// address; any other Host gets 421, over inject and over a real socket. The
// block page, a separate server, still answers every Host.
import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { buildBlockPageApp } from '../../src/admin/block-page.js';
import { hostChecker, normaliseHost } from '../../src/admin/hosts.js';
import { startAdminServer } from '../../src/admin/server.js';
import { silentLogger } from '../../src/log.js';
import { harness, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.close());

const get = (url: string, host: string, extra: Record<string, string> = {}) =>
  h.app.inject({ method: 'GET', url, headers: { host, ...extra } });

describe('hostChecker', () => {
  it.each([
    ['127.0.0.1:8080', [], '127.0.0.1', true],
    ['127.0.0.1:8080', [], 'localhost', true],
    ['127.0.0.1:8080', [], 'LocalHost', true],
    ['127.0.0.1:8080', [], 'evil.example', false],
    ['127.0.0.1:8080', [], '127.0.0.2', false],
    ['127.0.0.1:8080', [], '', false],
    ['10.0.0.53:443', ['gatehouse.school.example'], 'Gatehouse.School.Example', true],
    ['10.0.0.53:443', ['gatehouse.school.example'], 'gatehouse.school.example.', true],
    ['10.0.0.53:443', ['gatehouse.school.example'], 'gatehouse.school.example.evil.example', false],
    ['10.0.0.53:443', ['gatehouse.school.example'], 'localhost', false],
    ['10.0.0.53:443', [], '10.0.0.53', true],
    ['[::1]:8080', [], '[::1]', true],
    ['[::1]:8080', [], '[0:0:0:0:0:0:0:1]', true],
    ['[::1]:8080', [], 'localhost', true],
    ['0.0.0.0:8080', [], '127.0.0.1', true],
    ['0.0.0.0:8080', [], 'localhost', true],
    ['0.0.0.0:8080', [], '192.0.2.77', false],
    ['0.0.0.0:8080', [], 'evil.example', false],
  ] as const)('listen %s, hostnames %j: %j → %s', (listen, names, host, ok) => {
    expect(hostChecker(listen, names)(host)).toBe(ok);
  });

  it('normalises case, brackets, a trailing dot and IPv6 spellings', () => {
    expect(normaliseHost('[2001:DB8:0:0::1]')).toBe('2001:db8::1');
    expect(normaliseHost('Example.ORG.')).toBe('example.org');
  });
});

describe('the admin UI', () => {
  it('answers 421 to a Host that is not its own, on every path, before anything else', async () => {
    h = await harness({ adminYaml: '  hostnames: [gatehouse.school.example]' });
    for (const url of ['/login', '/static/app.css', '/api/me', '/metrics', '/nope']) {
      const res = await get(url, 'evil.example');
      expect([url, res.statusCode]).toEqual([url, 421]);
      expect(res.body).toContain('Misdirected Request');
      expect(res.headers['content-security-policy']).toBeTruthy();
    }
    expect((await get('/login', 'evil.example:8080')).statusCode).toBe(421);
    expect((await get('/login', '127.0.0.1:8080')).statusCode).toBe(200);
    expect((await get('/login', 'localhost')).statusCode).toBe(200);
    expect((await get('/login', 'GATEHOUSE.school.example:8443')).statusCode).toBe(200);
  });

  it('takes the proxy’s X-Forwarded-Host only with admin.trustProxy', async () => {
    h = await harness({ adminYaml: '  trustProxy: true\n  hostnames: [gatehouse.school.example]' });
    expect((await get('/login', '127.0.0.1', { 'x-forwarded-host': 'gatehouse.school.example' })).statusCode).toBe(200);
    expect((await get('/login', '127.0.0.1', { 'x-forwarded-host': 'evil.example' })).statusCode).toBe(421);
    await h.close();
    h = await harness({ adminYaml: '  hostnames: [gatehouse.school.example]' });
    expect((await get('/login', '127.0.0.1', { 'x-forwarded-host': 'evil.example' })).statusCode).toBe(200);
  });

  it('refuses a bad admin.hostnames entry with the key', async () => {
    await expect(harness({ adminYaml: '  hostnames: ["evil.example:8080"]' })).rejects.toThrow(/admin\.hostnames\[0\]/);
  });

  it('answers 421 over a real socket, as curl -H "Host: evil.example" sees it', async () => {
    h = await harness();
    const base = new URL(await startAdminServer(h.app, h.config, 0));
    const status = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest({ host: base.hostname, port: base.port, path: '/login', headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
        req.end();
      });
    expect(await status('evil.example')).toBe(421);
    expect(await status(`127.0.0.1:${base.port}`)).toBe(200);
  });
});

describe('the block page', () => {
  it('still answers any Host (it serves the names it blocks)', async () => {
    h = await harness();
    const page = await buildBlockPageApp({ config: h.config, db: h.db, logger: silentLogger() });
    const res = await page.inject({ method: 'GET', url: '/', remoteAddress: '127.0.0.2', headers: { host: 'evil.example' } });
    // Its page (403, as the IWF's splash page is), not a 421.
    expect(res.statusCode).toBe(403);
    expect(res.body).toContain('Site blocked');
    expect(res.body).toContain('evil.example');
    await page.close();
  });
});
