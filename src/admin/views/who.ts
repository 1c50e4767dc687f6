// The person and the device beside an address, wherever a client is shown
// (query log, alerts, dashboard, review requests): for the DSL and IT only.
// Auditors (governors) never see who a pupil is: for them this renders
// nothing, and they get counts elsewhere (alert-counts.ts). Names come from
// rosters and devices and are escaped by the html template like any text.
import type { FastifyRequest } from 'fastify';
import { html, type SafeHtml } from '../html.js';
import { deviceLabel, personLabel, type WhoView } from '../../store/who.js';

/** Whether this request may see who people are (and open person pages). */
export function seesPeople(request: FastifyRequest): boolean {
  const role = request.auth?.user.role;
  return role === 'admin' || role === 'dsl';
}

/** "Jo Smith (jsmith)" linked to their person page, and the device; empty when nobody is known (or for auditors). */
export function whoHtml(request: FastifyRequest, w: WhoView, personQuery = ''): SafeHtml {
  if (!seesPeople(request)) return html``;
  const person = personLabel(w);
  const device = deviceLabel(w);
  return html`${
    w.personId !== null
      ? html`<a class="person" href="/people/${w.personId}${personQuery ? `?${personQuery}` : ''}">${person}</a>`
      : person
        ? html`<span class="person muted">${person}</span>`
        : ''
  }${device ? html` <span class="device muted">${device}</span>` : ''}`;
}
