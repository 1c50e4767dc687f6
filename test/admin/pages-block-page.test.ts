// The block page over inject and over a real socket: any Host, the category
// and group from the policy's own decision (over a real list matcher), the IWF wording and
// nothing else for illegal content, the signed review form that becomes a
// draft change request for IT (on the Exceptions page), and its rate limit.
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBlockPageApp, hostOf, IWF_TEXT, startBlockPageServer } from '../../src/admin/block-page.js';
import { blockExplainer } from '../../src/admin/wire.js';
import { PolicyHandler } from '../../src/resolver/policy.js';
import { GroupIdentifier } from '../../src/resolver/identify.js';
import { ensureSeeded } from '../../src/changes/seed.js';
import { listRequests } from '../../src/changes/store.js';
import type { Config } from '../../src/config.js';
import { MatcherBuilder } from '../../src/lists/builder.js';
import { PARSERS } from '../../src/lists/formats/index.js';
import { linesOf } from '../../src/lists/lines.js';
import { CompactMatcher } from '../../src/lists/matcher.js';
import { silentLogger } from '../../src/log.js';
import { openDatabase, type Database } from '../../src/store/db.js';
import { pagesConfig } from './pages-helpers.js';

/** A real matcher over the test categories (bit i = config.categories[i]: adult, iwf, social). */
function matcher(config: Config, lists: Record<string, string>): CompactMatcher {
  const meta = Object.keys(lists).map((category) => ({
    id: `${category}-list`,
    category,
    bit: config.categories.findIndex((c) => c.id === category),
  }));
  const builder = new MatcherBuilder(meta.map((m) => m.bit));
  meta.forEach((m, i) => {
    for (const e of PARSERS.domains(linesOf(lists[m.category]))) if (e.type === 'entry') builder.add(i, e.name, e.flags);
  });
  return new CompactMatcher(builder.build(), meta);
}

/** The block page's drafts, as the Exceptions page lists them. */
function pendingOf(db: Database) {
  return listRequests(db, { status: ['draft'] })
    .filter((c) => c.source === 'block-page')
    .map((c) => {
      const op = c.ops[0] as { domain: string; groups: string[] };
      return {
        domain: op.domain,
        group: op.groups[0],
        category: c.category,
        client: c.clientAddress,
        requester: c.requester,
        reason: c.reason,
      };
    });
}

describe('block page', () => {
  let dir: string;
  let db: Database;
  let config: Config;
  let app: FastifyInstance;
  const clock = { now: Date.parse('2026-11-23T10:00:00Z') };

  const get = (host: string, remoteAddress: string, url = '/some/path?x=1') =>
    app.inject({ method: 'GET', url, remoteAddress, headers: { host } });
  const post = (fields: Record<string, string>, remoteAddress: string) =>
    app.inject({
      method: 'POST',
      url: '/__gatehouse/review',
      remoteAddress,
      headers: { host: fields.host ?? 'x', 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(fields).toString(),
    });
  const formOf = (body: string) => ({
    host: /name="host" value="([^"]*)"/.exec(body)![1],
    token: /name="token" value="([^"]*)"/.exec(body)![1],
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-block-'));
    config = pagesConfig(dir);
    config.admin.blockPage = { ...config.admin.blockPage, contact: 'IT office (room 4)', requestsPerHour: 3 };
    db = openDatabase(config.store.path);
    // The service seeds its governed policy before the block page starts.
    ensureSeeded(db, config, clock.now);
    const m = matcher(config, { adult: 'porn.example\n', iwf: 'abuse-site.example\n', social: 'chat.example\n' });
    app = await buildBlockPageApp({
      config,
      db,
      logger: silentLogger(),
      now: () => clock.now,
      explain: blockExplainer(
        new PolicyHandler({ config, matcher: () => m, logger: silentLogger(), now: () => new Date(clock.now) }),
        new GroupIdentifier(config),
      ),
    });
  });

  afterAll(async () => {
    await app?.close();
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers any host and path with the category and the client group', async () => {
    const res = await get('www.porn.example', '127.0.0.2');
    expect(res.statusCode).toBe(403);
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.body).toContain('<strong>www.porn.example</strong> is blocked');
    expect(res.body).toContain('id="block-category">Adult content<');
    expect(res.body).toContain('id="block-group">pupils<');
    expect(res.body).toContain('IT office (room 4)');
    const staff = await get('chat.example:80', '127.0.0.3', '/');
    expect(staff.body).toContain('id="block-group">staff<');
    // Staff do not have social media blocked: the page says the answer may be stale.
    expect(staff.body).toContain('not blocked now');
    const guest = await app.inject({ method: 'HEAD', url: '/', remoteAddress: '127.0.0.9', headers: { host: 'chat.example' } });
    expect(guest.statusCode).toBe(403);
  });

  it('never puts the Host header into the page as markup', async () => {
    const res = await get('"><script>alert(1)</script>', '127.0.0.2');
    expect(res.body).not.toContain('<script>');
    expect(res.body).toContain('This site is blocked');
    expect(res.body).not.toContain('name="token"'); // not a domain: no form
    expect(hostOf('Ex-AMPLE.org:8080')).toBe('ex-ample.org');
    expect(hostOf('[::1]:80')).toBeNull();
    expect(hostOf('10.0.0.1')).toBeNull();
  });

  it('shows only the IWF wording for illegal content: no name, no category, no form', async () => {
    const res = await get('abuse-site.example', '127.0.0.2');
    expect(res.statusCode).toBe(403);
    expect(res.body).toContain(IWF_TEXT);
    expect(res.body).not.toContain('abuse-site');
    expect(res.body).not.toContain('IWF child abuse list');
    expect(res.body).not.toContain('<form');
    // Posting a forged review for it creates nothing, even with a valid-looking token from another page.
    const other = formOf((await get('porn.example', '127.0.0.2')).body);
    const forged = await post({ host: 'abuse-site.example', token: other.token, reason: 'please' }, '127.0.0.2');
    expect(forged.statusCode).toBe(403);
    expect(pendingOf(db)).toHaveLength(0);
  });

  it('turns a review request into one draft change request on the Exceptions page', async () => {
    const form = formOf((await get('porn.example', '127.0.0.2')).body);
    const res = await post({ ...form, name: 'Sam <Year 9>', reason: 'Biology homework on <reproduction>' }, '127.0.0.2');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('id="review-sent"');
    expect(res.body).toContain('<strong>porn.example</strong>');
    // A confirmation, not an error: its own (green) heading, and a reference the pupil can quote.
    expect(res.body).toContain('<h1 class="sent">Request sent</h1>');
    const again = await post({ ...form, reason: 'still need it' }, '127.0.0.2');
    expect(again.statusCode).toBe(200);
    const pending = pendingOf(db);
    expect(pending).toEqual([
      {
        domain: 'porn.example',
        category: 'adult',
        group: 'pupils',
        client: '127.0.0.2',
        requester: 'Sam <Year 9>',
        reason: 'Biology homework on <reproduction>',
      },
    ]);
    // The reference is the draft change request's number; a repeat gives the same one.
    const id = listRequests(db, { status: ['draft'] })[0].id;
    const reference = `R-${String(id).padStart(6, '0')}`;
    expect(res.body).toContain(`id="review-reference">${reference}<`);
    expect(again.body).toContain(`id="review-reference">${reference}<`);
    const css = await app.inject({ url: '/__gatehouse/block.css', headers: { host: 'x' } });
    expect(css.body).toMatch(/h1\.sent\{color:#1a7f37\}/);
  });

  it('refuses a form without a valid token: missing, tampered, for another host or address, or expired', async () => {
    const form = formOf((await get('chat.example', '127.0.0.4')).body);
    expect((await post({ host: 'chat.example', reason: 'x' }, '127.0.0.4')).statusCode).toBe(403);
    expect((await post({ ...form, token: form.token.slice(0, -2) + 'AA', reason: 'x' }, '127.0.0.4')).statusCode).toBe(403);
    expect((await post({ ...form, host: 'porn.example', reason: 'x' }, '127.0.0.4')).statusCode).toBe(403);
    expect((await post({ ...form, reason: 'x' }, '127.0.0.5')).statusCode).toBe(403);
    clock.now += 3 * 3_600_000;
    expect((await post({ ...form, reason: 'x' }, '127.0.0.4')).statusCode).toBe(403);
    expect(pendingOf(db).filter((r) => r.domain === 'chat.example')).toHaveLength(0);
  });

  it('rate limits requests per client address', async () => {
    const address = '127.0.0.7';
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const form = formOf((await get(`site${i}.chat.example`, address)).body);
      codes.push((await post({ ...form, reason: `need ${i}` }, address)).statusCode);
    }
    expect(codes).toEqual([200, 200, 200, 429, 429]);
    expect(pendingOf(db).filter((r) => r.client === address)).toHaveLength(3);
  });

  it('listens on a real socket', async () => {
    const other = await buildBlockPageApp({ config, db, logger: silentLogger() });
    try {
      const base = await startBlockPageServer(other, config, 0);
      // As a browser sends it: the blocked name in Host (fetch() may not set Host, so node:http).
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(`${base}/anything`, { headers: { host: 'games.example' }, timeout: 5000 }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', reject);
        req.end();
      });
      expect(status).toBe(403);
      expect(body).toContain('<strong>games.example</strong>');
      const css = await fetch(`${base}/__gatehouse/block.css`);
      expect(css.headers.get('content-type')).toContain('text/css');
    } finally {
      await other.close();
    }
  });
});
