// The service log (pino, captured here from a stream) never holds a name
// asked for at the block page, nor a name in an illegal category, wherever it
// could come from: the block page's requests and review form, the admin UI's
// request log of a query-log search, a query that fails inside the chain.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBlockPageApp } from '../../src/admin/block-page.js';
import { createLogger } from '../../src/log.js';
import { DnsServer } from '../../src/resolver/server.js';
import { dig } from '../helpers/dig.js';
import { havePrograms } from '../helpers/programs.js';
import { harness, type Harness } from './helpers.js';
import { loggedIn } from './pages-helpers.js';

const ILLEGAL = 'abuse-hidden-name.example';
const NORMAL = 'games-site.example';

function captured() {
  const lines: string[] = [];
  const logger = createLogger('trace', { write: (s: string) => void lines.push(s) });
  return { logger, text: () => lines.join('') };
}

describe('the service log holds no requested name', () => {
  const log = captured();
  let h: Harness;
  beforeAll(async () => {
    h = await harness({ isIllegal: (n) => n === ILLEGAL, deps: { logger: log.logger } });
  });
  afterAll(() => h.close());

  it('the block page logs no host and no path, for an illegal name or an ordinary one, and takes a review request', async () => {
    const app = await buildBlockPageApp({ config: h.config, db: h.db, logger: log.logger, isIllegal: (n) => n === ILLEGAL });
    try {
      const illegal = await app.inject({ url: '/images/page?id=7', headers: { host: ILLEGAL } });
      expect(illegal.statusCode).toBe(403);
      const normal = await app.inject({ url: '/play/secret-level', headers: { host: `${NORMAL}:80` } });
      expect(normal.statusCode).toBe(403);
      const token = /name="token" value="([^"]+)"/.exec(normal.body)![1];
      const sent = await app.inject({
        method: 'POST',
        url: '/__gatehouse/review',
        headers: { host: NORMAL, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ host: NORMAL, token, name: 'Sam', reason: 'homework' }).toString(),
      });
      expect(sent.statusCode).toBe(200);
    } finally {
      await app.close();
    }
    const text = log.text();
    expect(text).toContain('block page: review requested'); // the log is captured
    for (const s of [ILLEGAL, NORMAL, 'abuse-hidden', 'games-site', 'secret-level', '/images/page']) expect(text).not.toContain(s);
  });

  it('the admin UI logs its requests without their query strings (a search names what it looks for)', async () => {
    const c = await loggedIn(h, 'dsl', 'dsl');
    const res = await c.get(`/querylog?domain=${ILLEGAL}&client=10.1.2.3`);
    expect(res.statusCode).toBe(200);
    const text = log.text();
    expect(text).toMatch(/"url":"\/querylog"/);
    expect(text).not.toContain(ILLEGAL);
    expect(text).not.toContain('10.1.2.3');
  });

  it.skipIf(!havePrograms('dig'))('a query that fails inside the chain is logged without its name', async () => {
    const server = new DnsServer(
      {
        listen: ['127.0.0.1:0'],
        udpSize: 1232,
        tcpIdleTimeoutMs: 1000,
        tcpMaxConnections: 10,
        tcpMaxPerClient: 10,
        drainTimeoutMs: 100,
        logger: log.logger,
      },
      () => {
        throw new Error('boom');
      },
    );
    await server.start();
    try {
      const answer = await dig('127.0.0.1', server.addresses().udp[0].port, ILLEGAL);
      expect(answer.status).toBe('SERVFAIL');
    } finally {
      await server.stop();
    }
    expect(log.text()).toContain('query failed inside the chain');
    expect(log.text()).not.toContain(ILLEGAL);
  });
});
