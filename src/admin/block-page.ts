// The block page: a small HTTP server on the block address (dns.block.a). A
// blocked name resolves there, so it answers ANY Host with a page saying the
// site is blocked, the category and the client's group, and a form to ask for
// a review, which becomes a draft change request for IT to confirm (src/changes/).
//
// Illegal content (IWF, CTIRU) gets the IWF's standard wording and nothing
// else: no name, no category detail, no review form (it cannot be excepted).
// The form has no session, so it carries a signed token bound to the host, the
// client address and the time it was issued; requests are rate limited per
// client address and in total.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { GroupIdentifier } from '../resolver/identify.js';
import { normaliseDomain } from '../lists/names.js';
import { createReviewRequest } from '../changes/review-request.js';
import { recordRequester } from '../identity/review-requests.js';
import { requestReference } from './exceptions.js';
import { html, type SafeHtml } from './html.js';
import type { BlockExplanation } from './live.js';
import { RateLimiter } from './ratelimit.js';
import { field, parseForm, setPageHeaders } from './security.js';
import { parseListen } from './server.js';

export interface BlockPageDeps {
  config: Config;
  db: Database;
  logger: Logger;
  /** The policy's view of a host for a client; without it the group comes from the config and the category is not named. */
  explain?: (host: string, clientAddress: string) => BlockExplanation;
  /** Whether a name is in an illegal category (used when `explain` is absent). */
  isIllegal?: (name: string) => boolean;
  now?: () => number;
  /** Who is at the requesting address now (src/identity/), recorded with a review request. */
  identity?: { lookup(address: string): { personId?: number; deviceId?: number } | undefined };
  /** Key for the form tokens; random per start by default (a restart only invalidates open forms). */
  secret?: Buffer;
}

/** The IWF's agreed splash-page text (IWF "URL blocking: good practice"). */
export const IWF_TEXT =
  'Access has been denied by your internet access provider because this page may contain indecent images of children as identified by the Internet Watch Foundation.';
const IWF_APPEAL = 'https://www.iwf.org.uk/';
const OTHER_ILLEGAL_TEXT =
  'Access has been denied because this page is on a list of unlawful content that must be blocked for everyone. It cannot be unblocked.';

const CSP = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const CSS_PATH = '/__gatehouse/block.css';
const REVIEW_PATH = '/__gatehouse/review';
const TOKEN_TTL_MS = 2 * 3_600_000;

const CSS = `body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f6f7f9;color:#1b1f24}
main{max-width:40rem;margin:2rem auto;padding:1.5rem;background:#fff;border:1px solid #d8dde3;border-radius:8px}
h1{font-size:1.4rem;margin:0 0 1rem;color:#b42318}h1.sent{color:#1a7f37}dt{font-weight:600}dd{margin:0 0 .5rem}
label{display:block;margin:.75rem 0}input,textarea{display:block;width:100%;font:inherit;padding:.5rem;border:1px solid #d8dde3;border-radius:6px;box-sizing:border-box}
button{font:inherit;padding:.5rem 1rem;border:0;border-radius:6px;background:#1d5fa8;color:#fff;margin-top:.5rem}.muted{color:#5b6570}
.iwf{border-left:4px solid #b42318;padding-left:1rem}
.reference{border:1px solid #b7dfc2;background:#eef8f1;border-radius:6px;padding:.75rem 1rem}.reference strong{font-size:1.2rem;letter-spacing:.03em}`;

/** A host name from the Host header: lower-case ASCII domain without port, or null (an IP, garbage). */
export function hostOf(header: string | undefined): string | null {
  if (!header || header.length > 300) return null;
  const withoutPort = header.startsWith('[') ? null : header.replace(/:\d+$/, '');
  return withoutPort ? normaliseDomain(withoutPort) : null;
}

function page(title: string, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${title}</title><link rel="stylesheet" href="${CSS_PATH}"></head>
<body><main>${body}</main></body></html>
`.value;
}

export async function buildBlockPageApp(deps: BlockPageDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const settings = config.admin.blockPage;
  const now = deps.now ?? Date.now;
  const secret = deps.secret ?? randomBytes(32);
  const groups = new GroupIdentifier(config);
  const perClient = new RateLimiter(settings.requestsPerHour, 3_600_000);
  const overall = new RateLimiter(Math.max(100, settings.requestsPerHour * 20), 3_600_000, 1);

  const app = Fastify({
    loggerInstance: deps.logger.child({ part: 'block-page' }),
    // Every request here is for a blocked name (the Host header, often the path
    // too), illegal ones included: the service log must hold none of them.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 16 * 1024,
  }) as unknown as FastifyInstance;
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_req, body, done) =>
    done(null, parseForm(body as string)),
  );
  app.addHook('onSend', async (_request, reply, payload) => {
    setPageHeaders(reply, CSP);
    reply.header('Cache-Control', 'no-store');
    return payload;
  });

  const explain = (host: string, address: string): BlockExplanation => {
    if (deps.explain) return deps.explain(host, address);
    return { group: groups.groupOf(address).name, illegal: deps.isIllegal?.(host) === true, blocked: true };
  };

  const sign = (host: string, address: string, issued: number) =>
    createHmac('sha256', secret).update(`${host}\n${address}\n${issued}`).digest('base64url');

  function token(host: string, address: string): string {
    const issued = now();
    return `${issued}.${sign(host, address, issued)}`;
  }

  function tokenOk(value: string, host: string, address: string): boolean {
    const m = /^(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(value);
    if (!m) return false;
    const issued = Number(m[1]);
    const age = now() - issued;
    if (age < 0 || age > TOKEN_TTL_MS) return false;
    const a = Buffer.from(m[2]);
    const b = Buffer.from(sign(host, address, issued));
    return a.length === b.length && timingSafeEqual(a, b);
  }

  function illegalPage(e: BlockExplanation): SafeHtml {
    const iwf = /iwf|child|csam|abuse/i.test(`${e.category ?? ''} ${e.categoryName ?? ''}`) || !e.category;
    return html`<h1>Access denied</h1>
      <p class="iwf" id="illegal-notice">${iwf ? IWF_TEXT : OTHER_ILLEGAL_TEXT}</p>
      ${
        iwf
          ? html`<p>If you think this page has been blocked in error, please contact ${settings.contact}. The Internet Watch Foundation's
        content assessment appeal process is described at <a href="${IWF_APPEAL}">${IWF_APPEAL}</a>.</p>`
          : ''
      }`;
  }

  function blockedPage(request: FastifyRequest, host: string | null, e: BlockExplanation, notice?: SafeHtml): SafeHtml {
    const address = request.ip;
    return html`<h1>This site is blocked</h1>
      ${notice ?? ''}
      <p>${host ? html`<strong>${host}</strong> is` : 'This site is'} blocked by the school's internet filter.</p>
      <dl>
        <dt>Category</dt><dd id="block-category">${e.categoryName ?? (e.blocked ? 'the school filtering policy' : 'not blocked now (the answer your device has may be out of date: try again in a minute)')}</dd>
        <dt>Your group</dt><dd id="block-group">${e.group}</dd>
      </dl>
      ${
        host
          ? html`<h2>Ask for a review</h2>
          <p>If you need this site for your work or learning, say why below. Your request goes to ${settings.contact} for review.</p>
          <form method="post" action="${REVIEW_PATH}">
            <input type="hidden" name="host" value="${host}">
            <input type="hidden" name="token" value="${token(host, address)}">
            <label>Your name <input name="name" maxlength="200" autocomplete="name"></label>
            <label>Why do you need it? <textarea name="reason" required maxlength="2000" rows="3"></textarea></label>
            <button type="submit">Send request</button>
          </form>`
          : html`<p class="muted">Contact ${settings.contact} if you need this site.</p>`
      }`;
  }

  async function show(request: FastifyRequest, reply: FastifyReply) {
    const host = hostOf(request.headers.host);
    const e = host ? explain(host, request.ip) : { group: groups.groupOf(request.ip).name, illegal: false, blocked: true };
    // 403 like the IWF's splash page; the body says why.
    if (e.illegal)
      return reply
        .code(403)
        .type('text/html; charset=utf-8')
        .send(page('Access denied', illegalPage(e)));
    return reply
      .code(403)
      .type('text/html; charset=utf-8')
      .send(page('Site blocked', blockedPage(request, host, e)));
  }

  app.get(CSS_PATH, async (_request, reply) => reply.type('text/css').header('Cache-Control', 'max-age=3600').send(CSS));

  app.post(REVIEW_PATH, async (request, reply) => {
    const address = request.ip;
    const host = normaliseDomain(field(request.body, 'host'));
    if (!host || !tokenOk(field(request.body, 'token'), host, address)) {
      return reply
        .code(403)
        .type('text/html; charset=utf-8')
        .send(
          page(
            'Request not sent',
            html`<h1>Request not sent</h1>
        <p>The form has expired or did not come from this page. Go back, reload the page and try again.</p>`,
          ),
        );
    }
    const e = explain(host, address);
    // Illegal content is never reviewed here, whatever the form says.
    if (e.illegal)
      return reply
        .code(403)
        .type('text/html; charset=utf-8')
        .send(page('Access denied', illegalPage(e)));
    const t = now();
    if (!perClient.take(address, t) || !overall.take('all', t)) {
      return reply
        .code(429)
        .type('text/html; charset=utf-8')
        .send(
          page(
            'Too many requests',
            html`<h1>Too many requests</h1>
        <p>Requests from this device have reached the limit for now. Please try again later or contact ${settings.contact}.</p>`,
          ),
        );
    }
    const reason = field(request.body, 'reason').trim();
    if (!reason) {
      return reply
        .code(400)
        .type('text/html; charset=utf-8')
        .send(
          page('Site blocked', blockedPage(request, host, e, html`<p class="muted" role="alert">Please say why you need the site.</p>`)),
        );
    }
    // A repeat from the same device for the same site gives the same draft (and reference).
    const id = createReviewRequest(
      deps.db,
      deps.config,
      {
        domain: host,
        category: e.category ?? null,
        group: e.group,
        clientAddress: address,
        requesterName: field(request.body, 'name'),
        reason,
      },
      t,
      deps.isIllegal,
    );
    // The person and device at the address when they asked (identity/review-requests.ts).
    recordRequester(deps.db, id, deps.identity?.lookup(address));
    // The Change requests page shows it; the log says only that one came (never the host: it may be illegal).
    request.log.info({ group: e.group, request: id }, 'block page: review requested');
    return reply
      .code(200)
      .type('text/html; charset=utf-8')
      .send(
        page(
          'Request sent',
          // A confirmation, not an error: green, with a reference the pupil can quote.
          html`<h1 class="sent">Request sent</h1>
      <p id="review-sent">Thank you. Your request to review <strong>${host}</strong> has been sent to ${settings.contact}. The site stays blocked unless they allow it.</p>
      <p class="reference">Your reference: <strong id="review-reference">${requestReference(id)}</strong><br>Quote it if you ask ${settings.contact} about this request.</p>`,
        ),
      );
  });

  // Any other path, any method a browser uses to load a page: the block page.
  app.route({ method: ['GET', 'HEAD'], url: '/*', handler: show });
  app.setNotFoundHandler(show);
  app.setErrorHandler((err: Error & { statusCode?: number }, request, reply) => {
    if ((err.statusCode ?? 500) >= 500) request.log.error({ err }, 'block page failed');
    return reply
      .code(err.statusCode && err.statusCode < 500 ? err.statusCode : 500)
      .type('text/plain')
      .send('The block page could not be shown.\n');
  });
  return app;
}

/** Listen on admin.blockPage.listen (the block address, port 80 in production). Returns the bound address. */
export async function startBlockPageServer(app: FastifyInstance, config: Config, overridePort?: number): Promise<string> {
  const { host, port } = parseListen(config.admin.blockPage.listen);
  return app.listen({ host, port: overridePort ?? port });
}
