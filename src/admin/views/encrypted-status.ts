// The Identity page's "Encrypted DNS" section: what the DoH and DoT listeners
// are doing (addresses, requests, refusals, connections), the certificate (who
// it names, how long it has left, whether it covers the names devices use) and
// the identities they can recognise. Read from EncryptedDns.status(); nothing
// here is a secret (the salt is shown only as set or not).
import type { EncryptedStatus } from '../../resolver/encrypted.js';
import { html, type SafeHtml } from '../html.js';
import { formatTime } from './time.js';
import { figuresTable, formatCount } from './widgets.js';

const DAY_MS = 86_400_000;

const listeningOn = (addresses: string[]): SafeHtml =>
  html`Listening on ${addresses.map((a, i) => html`${i ? ', ' : ''}<code>${a}</code>`)}.`;

function connections(c: NonNullable<EncryptedStatus['dot']>['connections']): [string, number][] {
  return [
    ['Connections open', c.open],
    ['Handshakes failed / timed out', c.handshakeFailed + c.handshakeTimedOut],
    ['Idle connections closed', c.idleClosed],
    ['Closed to make room / refused (limits)', c.evicted + c.rejected],
  ];
}

export function encryptedSection(s: EncryptedStatus | undefined, now: number, zone: string): SafeHtml {
  if (!s)
    return html`<h2>Encrypted DNS (DoH and DoT)</h2><p class="muted" id="encrypted-off">Not configured (<code>doh</code> or <code>dot</code>, with <code>tls</code>): school devices off site are not filtered.</p>`;
  const c = s.certificate;
  const daysLeft = c ? Math.floor((c.notAfter - now) / DAY_MS) : 0;
  const problems: string[] = [];
  if (c && c.notAfter <= now) problems.push('The certificate has expired: devices refuse to connect.');
  else if (c && c.notAfter - now <= s.expiryWarningDays * DAY_MS)
    problems.push(`The certificate ends in ${daysLeft} days: renew it (a SIGHUP reads it again).`);
  if (c && !c.coversHostname) problems.push(`The certificate does not cover ${s.hostname}.`);
  if (c && !c.coversTokenNames)
    problems.push(`The certificate does not cover *.${s.hostname}: Android Private DNS names with a token fail.`);
  return html`<h2>Encrypted DNS (DoH and DoT)</h2>
    ${problems.length ? html`<div class="notice" id="encrypted-problems" role="status"><ul>${problems.map((p) => html`<li>${p}</li>`)}</ul></div>` : ''}
    <p id="encrypted-hostname">Devices reach this service as <code>${s.hostname}</code>.${
      c
        ? html` Certificate for <code>${c.subject}</code>, valid until ${formatTime(c.notAfter, zone)} (${daysLeft} days).`
        : html` <strong>No certificate loaded.</strong>`
    }</p>
    ${
      s.doh
        ? html`<h3>DNS over HTTPS</h3><p>${listeningOn(s.doh.listening)}</p>${figuresTable('encrypted-doh', [
            ['Requests', s.doh.stats.requests],
            ['Over HTTP/2 / HTTP/1.1', `${formatCount(s.doh.stats.http2)} / ${formatCount(s.doh.stats.http1)}`],
            ['Refused from outside without a known identity (403)', s.doh.stats.status[403] ?? 0],
            [
              'Other refusals (400, 404, 405, 413, 415, 503)',
              [400, 404, 405, 408, 413, 415, 503].reduce((n, code) => n + (s.doh!.stats.status[code] ?? 0), 0),
            ],
            ['Connections closed for opening streams too fast', s.doh.stats.flooded],
            ...connections(s.doh.connections),
          ])}`
        : html`<p class="muted">DNS over HTTPS is off (<code>doh</code>).</p>`
    }
    ${
      s.dot
        ? html`<h3>DNS over TLS</h3><p>${listeningOn(s.dot.listening)}</p>${figuresTable('encrypted-dot', [
            ['Queries', s.dot.stats.queries],
            ['Connections naming a token (<token>.' + s.hostname + ')', s.dot.stats.withLabel],
            ...connections(s.dot.connections),
          ])}`
        : html`<p class="muted">DNS over TLS is off (<code>dot</code>).</p>`
    }
    <p id="encrypted-identities">Identities recognised: ${formatCount(s.identifiers.tokens)} device tokens in force;
      Chromebook identifiers ${
        s.chromeSalt
          ? html`for ${formatCount(s.identifiers.chromePeople)} people and ${formatCount(s.identifiers.chromeDevices)} devices`
          : html`off (no <code>doh.chromeSalt</code>)`
      }.</p>`;
}
