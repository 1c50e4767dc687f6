// A device's encrypted DNS tokens on the Devices page (admin only): issue one
// (shown once, with the device's DoH URL, Android Private DNS host name and an
// Apple .mobileconfig), list them (label, group, issued, last used, revoked)
// and revoke one. The same functions as `gatehouse device token | tokens |
// revoke-token` (identity/device-tokens.ts, identity/device-setup.ts): the
// token is stored only as its hash, each issue and revoke is a change-log row,
// and the running service takes the change within its 5 s poll
// (identity/credentials.ts), as it does for the CLI.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { getDevice } from '../../identity/devices.js';
import { issueToken, listTokens, revokeToken, type IssuedToken } from '../../identity/device-tokens.js';
import { appleProfile, deviceSetup } from '../../identity/device-setup.js';
import { IdentityError } from '../../identity/errors.js';
import type { Device } from '../../identity/types.js';
import { actorOf, requireRole } from '../auth.js';
import type { AdminRoutePlugin } from '../context.js';
import { html, type SafeHtml } from '../html.js';
import { field } from '../security.js';
import { csrfField, messages, renderPage } from '../views/layout.js';
import { formatTime } from '../views/time.js';

const requireAdmin = requireRole('admin');
const PROFILE_TYPE = 'application/x-apple-aspen-config';

export const deviceTokenRoutes: AdminRoutePlugin = async (app, { ctx }) => {
  const zone = () => ctx.config.admin.timezone;
  const when = (t: number | undefined) => (t === undefined ? '' : formatTime(t, zone()));

  const deviceOfRequest = (request: FastifyRequest): Device | undefined => {
    const raw = (request.params as { id: string }).id;
    return /^\d{1,15}$/.test(raw) ? getDevice(ctx.db, Number(raw)) : undefined;
  };
  const nameOf = (d: Device) => (d.named && d.name ? d.name : d.key);

  /**
   * What the admin copies to the device, in the one response that has the token.
   * The Apple profile is a data: link in this page rather than a download URL of
   * its own: the profile holds the token, so a URL that served it would have to
   * take the token again (or keep it); embedded here, it exists only in this
   * response, which (like every admin page) is sent with Cache-Control: no-store.
   */
  function issuedBlock(d: Device, issued: IssuedToken): SafeHtml {
    const setup = deviceSetup(issued.token, ctx.config);
    const tls = ctx.config.tls;
    const profile =
      tls && (setup.dohUrl || setup.dotName)
        ? `data:${PROFILE_TYPE};base64,${Buffer.from(appleProfile(setup, tls.hostname, nameOf(d))).toString('base64')}`
        : undefined;
    return html`<section class="notice" id="issued-token" role="status">
      <h2>Token ${issued.id}: copy it now</h2>
      <p>It is shown only on this page and stored only as a hash; if it is lost, revoke it and issue a new one.
        The running service accepts it within 5 seconds.</p>
      <p>Token: <code id="issued-token-value">${issued.token}</code></p>
      ${setup.dohUrl ? html`<p>DoH URL (Windows 11, browsers, Intune): <code id="issued-doh-url">${setup.dohUrl}</code></p>` : ''}
      ${setup.dotName ? html`<p>Android Private DNS host name: <code id="issued-dot-name">${setup.dotName}</code></p>` : ''}
      ${
        profile
          ? html`<p><a id="issued-mobileconfig" href="${profile}" download="gatehouse-device-${d.id}.mobileconfig">Download the Apple profile (.mobileconfig)</a>
            <span class="muted">It holds the token: send it only to this device.</span></p>`
          : html`<p class="muted">Encrypted DNS is not set up (<code>doh</code> or <code>dot</code>, and <code>tls</code>, in the config): the token works once it is.</p>`
      }
    </section>`;
  }

  function tokensPage(
    request: FastifyRequest,
    reply: FastifyReply,
    d: Device,
    opts: { issued?: IssuedToken; errors?: string[]; values?: Record<string, string>; status?: number } = {},
  ) {
    const q = (request.query ?? {}) as Record<string, string>;
    const notice = q.done === 'revoked' ? 'Token revoked: it stops working within 5 seconds.' : '';
    const tokens = listTokens(ctx.db, { deviceId: d.id });
    const v = opts.values ?? {};
    const body = html`${messages('error', opts.errors ?? [])}${messages('notice', notice ? [notice] : [])}
      <p id="token-device">Device ${d.id}: <strong>${nameOf(d)}</strong>${d.named && d.name ? html` <span class="muted">(${d.key})</span>` : ''}</p>
      ${opts.issued ? issuedBlock(d, opts.issued) : ''}
      <h2>Tokens</h2>
      ${
        tokens.length === 0
          ? html`<p class="muted" id="tokens-empty">No tokens issued for this device.</p>`
          : html`<table class="responsive" id="device-tokens"><thead><tr><th>#</th><th>Label</th><th>Group</th><th>Issued</th><th>Last used</th><th>Revoked</th><th></th></tr></thead>
          <tbody>${tokens.map(
            (
              t,
            ) => html`<tr id="token-${t.id}"><td data-label="#">${t.id}</td><td data-label="Label">${t.label ?? ''}</td><td data-label="Group">${t.group ?? ''}</td>
              <td data-label="Issued">${when(t.createdAt)} <span class="muted">by ${t.createdBy}</span></td>
              <td data-label="Last used">${t.lastUsedAt === undefined ? html`<span class="muted">never</span>` : when(t.lastUsedAt)}</td>
              <td data-label="Revoked">${t.revokedAt === undefined ? '' : html`${when(t.revokedAt)} <span class="muted">by ${t.revokedBy ?? ''}</span>`}</td>
              <td>${
                t.revokedAt === undefined
                  ? html`<form method="post" action="/devices/${d.id}/tokens/${t.id}/revoke" class="inline">${csrfField(request)}
                    <button type="submit" class="danger">Revoke</button></form>`
                  : ''
              }</td></tr>`,
          )}</tbody></table>`
      }
      <h2>Issue a token</h2>
      <p class="muted">For a device that is not a Chromebook (an iPad, an Android tablet, a Windows laptop): it goes in the device's DoH URL or Private DNS host name,
        so Gatehouse knows the device wherever it asks from.</p>
      <form method="post" action="/devices/${d.id}/tokens" class="stack" id="issue-token">${csrfField(request)}
        <label>Label <input name="label" value="${v.label ?? ''}" maxlength="256" placeholder="Year 9 trolley"></label>
        <label>Group <select name="group"><option value="">(as for the device's address or person)</option>${ctx.config.groups.map(
          (g) => html`<option${g.name === v.group ? html` selected` : ''}>${g.name}</option>`,
        )}</select></label>
        <button type="submit">Issue a token</button>
      </form>
      <p><a href="/devices">Back to the devices</a></p>`;
    return reply
      .code(opts.status ?? 200)
      .type('text/html')
      .send(renderPage(request, { title: `Tokens of device ${d.id}`, body }));
  }

  const noDevice = (request: FastifyRequest, reply: FastifyReply) =>
    reply
      .code(404)
      .type('text/html')
      .send(renderPage(request, { title: 'Device', body: html`<p>No such device.</p>` }));

  app.get('/devices/:id/tokens', { preHandler: requireAdmin }, async (request, reply) => {
    const d = deviceOfRequest(request);
    return d ? tokensPage(request, reply, d) : noDevice(request, reply);
  });

  // Issuing answers with the page itself (not a redirect): the token exists only in this response.
  app.post('/devices/:id/tokens', { preHandler: requireAdmin }, async (request, reply) => {
    const d = deviceOfRequest(request);
    if (!d) return noDevice(request, reply);
    const values = { label: field(request.body, 'label'), group: field(request.body, 'group') };
    if (values.group && !ctx.config.groups.some((g) => g.name === values.group))
      return tokensPage(request, reply, d, { errors: ['Not issued: no such group.'], values, status: 400 });
    try {
      const issued = issueToken(
        ctx.db,
        { device: d, group: values.group || undefined, label: values.label || undefined, actor: actorOf(request) },
        ctx.now(),
      );
      return tokensPage(request, reply, d, { issued });
    } catch (err) {
      if (!(err instanceof IdentityError)) throw err;
      return tokensPage(request, reply, d, { errors: [`Not issued: ${err.message}.`], values, status: 400 });
    }
  });

  app.post('/devices/:id/tokens/:tokenId/revoke', { preHandler: requireAdmin }, async (request, reply) => {
    const d = deviceOfRequest(request);
    if (!d) return noDevice(request, reply);
    const raw = (request.params as { tokenId: string }).tokenId;
    const token = /^\d{1,15}$/.test(raw) ? listTokens(ctx.db, { deviceId: d.id }).find((t) => t.id === Number(raw)) : undefined;
    if (!token) return tokensPage(request, reply, d, { errors: ['No such token for this device.'], status: 404 });
    try {
      revokeToken(ctx.db, token.id, actorOf(request), ctx.now());
    } catch (err) {
      if (!(err instanceof IdentityError)) throw err;
      return tokensPage(request, reply, d, { errors: [`Not revoked: ${err.message}.`], status: 400 });
    }
    return reply.redirect(`/devices/${d.id}/tokens?done=revoked`);
  });
};
