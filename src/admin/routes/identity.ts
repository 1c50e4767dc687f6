// Identity for IT: the status of every identity source (lease files with their
// bad lines by line number, the RADIUS counters, reverse DNS, the last roster
// imports, the DoH and DoT listeners: views/encrypted-status.ts) for admin and DSL, and the Devices page (admin): the devices the
// school names (MAC or address → name, asset tag, owner): list, add, edit,
// unname, and import a CSV from an MDM export (each device's encrypted DNS
// tokens: device-tokens.ts). Every save is a change-log row
// (identity/devices.ts) and reaches the running service at once
// (live.identity.pollDevices()).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { getDevice, importDevices, listDevices, saveDevice, unnameDevice, type DeviceImportResult } from '../../identity/devices.js';
import { IdentityError } from '../../identity/errors.js';
import { listRosterImports } from '../../identity/roster/import.js';
import type { Device } from '../../identity/types.js';
import { actorOf, requireRole } from '../auth.js';
import type { AdminRoutePlugin } from '../context.js';
import { html, type SafeHtml } from '../html.js';
import { field } from '../security.js';
import { pageAssets } from '../views/assets.js';
import { csrfField, messages, renderPage } from '../views/layout.js';
import { encryptedSection } from '../views/encrypted-status.js';
import { formatTime } from '../views/time.js';
import { figuresTable, formatCount, unavailable } from '../views/widgets.js';

const requireStatus = requireRole('admin', 'dsl');
const requireAdmin = requireRole('admin');
/** A device list pasted into the form (the file upload posts text/csv, up to IMPORT_MAX). */
const IMPORT_MAX = 4 * 1024 * 1024;
const SEEN_MAX = 500;

const tabs = (request: FastifyRequest, here: string): SafeHtml =>
  html`<nav class="tabs" aria-label="Identity">${[
    ['/identity', 'Sources'],
    ...(request.auth?.user.role === 'admin' ? [['/devices', 'Devices']] : []),
  ].map(([href, label]) => html`<a href="${href}"${href === here ? html` aria-current="true"` : ''}>${label}</a>`)}</nav>`;

function macOf(d: Device): string {
  return d.key.startsWith('mac:') ? d.key.slice(4) : '';
}

function addressOf(d: Device): string {
  return d.key.startsWith('ip:') ? d.key.slice(3) : '';
}

function importSummary(r: DeviceImportResult): SafeHtml {
  return html`<div class="notice" id="import-result"><p>Devices: ${r.added} added, ${r.changed} changed, ${r.unchanged} unchanged, ${r.refused.length} refused.</p>
    ${r.refused.length ? html`<ul>${r.refused.slice(0, 100).map((x) => html`<li>line ${x.line}: ${x.reason}</li>`)}</ul>` : ''}</div>`;
}

export const identityRoutes: AdminRoutePlugin = async (app, { ctx }) => {
  const zone = () => ctx.config.admin.timezone;
  // The Devices page's file upload sends the file as it is (pages.js); a paste comes as a form field.
  app.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: IMPORT_MAX }, (_req, body, done) => done(null, body));

  // ---- Sources: what each identity source is doing
  app.get('/identity', { preHandler: requireStatus }, async (request, reply) => {
    const live = ctx.live.identity;
    const s = live?.status();
    const imports = listRosterImports(ctx.db, 20);
    const body = html`${pageAssets()}${tabs(request, '/identity')}${
      !s
        ? unavailable('The identity service')
        : html`<p id="identity-addresses"><strong>${formatCount(s.addresses)}</strong> addresses have a known person or device now.</p>
      <h2>DHCP lease files</h2>${
        s.dhcp.length === 0
          ? html`<p class="muted">No lease files configured (<code>identity.dhcp</code>).</p>`
          : html`<table class="responsive" id="identity-dhcp"><thead><tr><th>File</th><th>Format</th><th>Leases</th><th>Bad lines</th><th>Last read</th><th>Problem</th></tr></thead>
          <tbody>${s.dhcp.map(
            (d) => html`<tr><td data-label="File"><code>${d.path}</code></td><td data-label="Format">${d.format}</td>
              <td data-label="Leases">${formatCount(d.leases)}</td>
              <td data-label="Bad lines">${d.badLines.count}${d.badLines.count ? html` <span class="muted">(lines ${d.badLines.lines.join(', ')}${d.badLines.count > d.badLines.lines.length ? ', …' : ''})</span>` : ''}${d.warnings ? html`<br><span class="muted">${d.warnings} warnings</span>` : ''}</td>
              <td data-label="Last read">${d.lastRead ? formatTime(Date.parse(d.lastRead), zone()) : 'not yet'}</td>
              <td data-label="Problem">${d.lastError ?? ''}</td></tr>`,
          )}</tbody></table>`
      }
      <h2>RADIUS accounting</h2>${
        !s.radius
          ? html`<p class="muted">Not configured (<code>identity.radius</code>).</p>`
          : figuresTable('identity-radius', [
              ['Listening on UDP port', s.radius.port],
              ['Packets received', s.radius.received],
              ['Answered', s.radius.answered],
              ['Starts / interim updates / stops', `${s.radius.starts} / ${s.radius.interims} / ${s.radius.stops}`],
              ['Stops of an earlier session (ignored)', s.radius.staleStops],
              ['From an unknown NAS (dropped)', s.radius.unknownClient],
              ['Wrong secret (dropped)', s.radius.badAuthenticator],
              ['Malformed (dropped)', s.radius.malformed],
              ['Not accounting (dropped)', s.radius.notAccounting],
            ])
      }
      <h2>Reverse DNS</h2>${
        !s.reverseDns
          ? html`<p class="muted">Not configured (<code>identity.reverseDns</code>).</p>`
          : html`<p id="identity-ptr">${formatCount(s.reverseDns.lookups)} look-ups: ${formatCount(s.reverseDns.names)} names,
            ${formatCount(s.reverseDns.noName)} without a name, ${formatCount(s.reverseDns.failures)} failed.</p>`
      }`
    }
      ${encryptedSection(ctx.live.encrypted?.(), ctx.now(), zone())}
      <h2>Roster imports</h2>${
        imports.length === 0
          ? html`<p class="muted">No roster imported yet.</p>`
          : html`<table class="responsive" id="identity-roster"><thead><tr><th>When</th><th>Source</th><th>Result</th><th>Added</th><th>Changed</th><th>Removed</th><th>Refused rows</th></tr></thead>
          <tbody>${imports.map(
            (
              r,
            ) => html`<tr><td data-label="When">${formatTime(r.at, zone())}</td><td data-label="Source"><code>${r.source}</code> (${r.format})</td>
              <td data-label="Result">${r.ok ? 'imported' : html`<strong>refused</strong>: ${r.error ?? ''} (the last good roster stays)`}</td>
              <td data-label="Added">${r.added}</td><td data-label="Changed">${r.changed}</td><td data-label="Removed">${r.removed}</td><td data-label="Refused rows">${r.refused}</td></tr>`,
          )}</tbody></table>`
      }`;
    return reply.type('text/html').send(renderPage(request, { title: 'Identity', body }));
  });

  // ---- Devices the school names
  const deviceForm = (request: FastifyRequest, values: Record<string, string>, action: string, existing?: Device): SafeHtml =>
    html`<form method="post" action="${action}" class="stack" id="${existing ? 'edit-device' : 'add-device'}">${csrfField(request)}
      ${
        existing
          ? html`<p>${macOf(existing) ? html`MAC <code>${macOf(existing)}</code>` : html`Address <code>${addressOf(existing)}</code>`}</p>`
          : html`<label>MAC address <input name="mac" value="${values.mac ?? ''}" maxlength="40" placeholder="aa:bb:cc:dd:ee:ff"></label>
        <label>or a fixed IP address <input name="address" value="${values.address ?? ''}" maxlength="64"></label>`
      }
      <label>Name <input name="name" value="${values.name ?? ''}" maxlength="256" placeholder="Library PC 3"></label>
      <label>Asset tag <input name="assetTag" value="${values.assetTag ?? ''}" maxlength="256"></label>
      <label>Owner <input name="owner" value="${values.owner ?? ''}" maxlength="256" placeholder="shown only; never decides who is using it"></label>
      <button type="submit">${existing ? 'Save' : 'Add device'}</button>
    </form>`;

  function devicesPage(
    request: FastifyRequest,
    reply: FastifyReply,
    opts: { errors?: string[]; values?: Record<string, string>; result?: DeviceImportResult; status?: number } = {},
  ) {
    const q = (request.query ?? {}) as Record<string, string>;
    const all = q.all === '1';
    const devices = all ? listDevices(ctx.db).slice(-SEEN_MAX).reverse() : listDevices(ctx.db, { named: true });
    const notice = q.done === 'saved' ? 'Device saved.' : q.done === 'unnamed' ? "The school's name was removed from the device." : '';
    const values = opts.values ?? (q.mac ? { mac: q.mac.slice(0, 40) } : {});
    const body = html`${pageAssets()}${tabs(request, '/devices')}${messages('error', opts.errors ?? [])}${messages('notice', notice ? [notice] : [])}
      ${opts.result ? importSummary(opts.result) : ''}
      <p>${
        all
          ? html`Every device seen (the latest ${SEEN_MAX}). <a href="/devices">Only the named ones</a>`
          : html`The devices the school has named. <a href="/devices?all=1" id="devices-all">Every device seen</a>`
      }</p>
      ${
        devices.length === 0
          ? html`<p class="muted" id="devices-empty">No devices yet.</p>`
          : html`<table class="responsive" id="devices"><thead><tr><th>#</th><th>MAC or address</th><th>Name</th><th>Host name</th><th>Asset tag</th><th>Owner</th><th></th></tr></thead>
          <tbody>${devices.map(
            (
              d,
            ) => html`<tr><td data-label="#">${d.id}</td><td data-label="MAC or address"><code>${macOf(d) || addressOf(d) || d.key}</code></td>
              <td data-label="Name">${d.named ? (d.name ?? '') : html`<span class="muted">not named</span>`}</td><td data-label="Host name">${d.hostName ?? ''}</td><td data-label="Asset tag">${d.assetTag ?? ''}</td><td data-label="Owner">${d.owner ?? ''}</td>
              <td>${d.named ? html`<a href="/devices/${d.id}">Edit</a>` : macOf(d) ? html`<a href="/devices?${new URLSearchParams({ mac: macOf(d) })}#add-device">Name it</a>` : ''}
                <a href="/devices/${d.id}/tokens">Tokens</a></td></tr>`,
          )}</tbody></table>`
      }
      <div class="cols">
        <section><h2>Add a device</h2>${deviceForm(request, values, '/devices')}</section>
        <section><h2>Import a CSV</h2>
          <p class="muted">An MDM export (Google Admin, Intune, Jamf) or any CSV with a MAC or IP address column and any of name, asset tag and owner.
            Rows that cannot be used are listed with their line; the others are saved.</p>
          <form method="post" action="/devices/import" class="stack" id="import-devices" data-upload="/api/devices/import">${csrfField(request)}
            <label>File <input type="file" name="file" accept=".csv,text/csv" id="devices-file"></label>
            <label>or paste it here <textarea name="csv" rows="4" maxlength="60000"></textarea></label>
            <button type="submit">Import</button>
          </form><div id="import-upload-result" aria-live="polite"></div></section>
      </div>`;
    return reply
      .code(opts.status ?? 200)
      .type('text/html')
      .send(renderPage(request, { title: 'Devices', body }));
  }

  const formValues = (body: unknown) => ({
    mac: field(body, 'mac').trim(),
    address: field(body, 'address').trim(),
    name: field(body, 'name'),
    assetTag: field(body, 'assetTag'),
    owner: field(body, 'owner'),
  });
  const input = (v: Record<string, string>) => ({
    ...(v.mac ? { mac: v.mac } : {}),
    ...(v.address ? { address: v.address } : {}),
    name: v.name,
    assetTag: v.assetTag,
    owner: v.owner,
  });
  const saved = () => ctx.live.identity?.pollDevices();

  app.get('/devices', { preHandler: requireAdmin }, async (request, reply) => devicesPage(request, reply));

  app.post('/devices', { preHandler: requireAdmin }, async (request, reply) => {
    const values = formValues(request.body);
    try {
      saveDevice(ctx.db, input(values), actorOf(request), ctx.now());
    } catch (err) {
      if (!(err instanceof IdentityError)) throw err;
      return devicesPage(request, reply, { errors: [`Not saved: ${err.message}.`], values, status: 400 });
    }
    saved();
    return reply.redirect('/devices?done=saved');
  });

  const runImport = (request: FastifyRequest, text: string): DeviceImportResult => {
    const r = importDevices(ctx.db, text, actorOf(request), ctx.now());
    if (r.added + r.changed > 0) saved();
    return r;
  };

  app.post('/devices/import', { preHandler: requireAdmin }, async (request, reply) => {
    const text = typeof request.body === 'string' ? request.body : field(request.body, 'csv');
    if (!text.trim()) return devicesPage(request, reply, { errors: ['Choose a file or paste the CSV.'], status: 400 });
    try {
      return devicesPage(request, reply, { result: runImport(request, text) });
    } catch (err) {
      if (!(err instanceof IdentityError)) throw err;
      return devicesPage(request, reply, { errors: [`Nothing imported: ${err.message}.`], status: 400 });
    }
  });

  app.post(
    '/api/devices/import',
    {
      preHandler: requireAdmin,
      schema: {
        summary: 'Name devices from a CSV (text/csv body: an MDM export); each change is a change-log row',
        response: {
          200: {
            type: 'object',
            properties: {
              added: { type: 'integer' },
              changed: { type: 'integer' },
              unchanged: { type: 'integer' },
              refused: { type: 'array', items: { type: 'object', properties: { line: { type: 'integer' }, reason: { type: 'string' } } } },
            },
          },
          400: { type: 'object', properties: { error: { type: 'string' }, code: { type: 'string' } } },
        },
      },
    },
    async (request, reply) => {
      if (typeof request.body !== 'string')
        return reply.code(400).send({ error: 'send the CSV as text/csv', code: 'GH_ERR_IDENTITY_DEVICE' });
      try {
        return runImport(request, request.body);
      } catch (err) {
        if (!(err instanceof IdentityError)) throw err;
        return reply.code(400).send({ error: err.message, code: err.code });
      }
    },
  );

  const named = (request: FastifyRequest): Device | undefined => {
    const raw = (request.params as { id: string }).id;
    const d = /^\d{1,15}$/.test(raw) ? getDevice(ctx.db, Number(raw)) : undefined;
    return d?.named ? d : undefined;
  };

  function editPage(request: FastifyRequest, reply: FastifyReply, d: Device, errors: string[] = [], values?: Record<string, string>) {
    const v = values ?? { name: d.name ?? '', assetTag: d.assetTag ?? '', owner: d.owner ?? '' };
    const body = html`${tabs(request, '/devices')}${messages('error', errors)}${deviceForm(request, v, `/devices/${d.id}`, d)}
      <form method="post" action="/devices/${d.id}/unname" class="inline" id="unname-device">${csrfField(request)}
        <button type="submit" class="danger">Remove the school's name</button></form>
      <p class="muted">The device stays known by its MAC or address, so the query log's old rows still say which device it was.</p>
      <p><a href="/devices/${d.id}/tokens" id="device-tokens-link">Encrypted DNS tokens</a> (DoH URL, Android Private DNS, Apple profile)</p>
      <p><a href="/devices">Back to the devices</a></p>`;
    return reply
      .code(errors.length ? 400 : 200)
      .type('text/html')
      .send(renderPage(request, { title: `Device ${d.id}`, body }));
  }

  app.get('/devices/:id', { preHandler: requireAdmin }, async (request, reply) => {
    const d = named(request);
    if (!d)
      return reply
        .code(404)
        .type('text/html')
        .send(renderPage(request, { title: 'Device', body: html`<p>No such named device.</p>` }));
    return editPage(request, reply, d);
  });

  app.post('/devices/:id', { preHandler: requireAdmin }, async (request, reply) => {
    const d = named(request);
    if (!d) return reply.code(404).type('text/plain').send('No such named device.\n');
    const values = formValues(request.body);
    try {
      saveDevice(ctx.db, { ...input(values), mac: macOf(d) || undefined, address: addressOf(d) || undefined }, actorOf(request), ctx.now());
    } catch (err) {
      if (!(err instanceof IdentityError)) throw err;
      return editPage(request, reply, d, [`Not saved: ${err.message}.`], values);
    }
    saved();
    return reply.redirect('/devices?done=saved');
  });

  app.post('/devices/:id/unname', { preHandler: requireAdmin }, async (request, reply) => {
    const d = named(request);
    if (!d) return reply.code(404).type('text/plain').send('No such named device.\n');
    unnameDevice(ctx.db, d.id, actorOf(request), ctx.now());
    saved();
    return reply.redirect('/devices?done=unnamed');
  });
};
