// How change requests look on the pages: the before/after per group in plain
// words, a request's record, lists of requests with their flags, and the
// record fields every request form has (requester, subject area, reason,
// risk, backout plan, start and end).
import type { Described } from '../../changes/describe.js';
import type { ChangeRequest } from '../../changes/store.js';
import { html, type SafeHtml } from '../html.js';
import { formatTime, localInput } from './time.js';
import { requestReference } from '../exceptions.js';

export const STATUS_WORDS: Record<ChangeRequest['status'], string> = {
  draft: 'draft: waiting for IT to confirm and submit it',
  submitted: 'waiting for an approver',
  approved: 'approved: applies at its start time',
  refused: 'refused',
  withdrawn: 'withdrawn',
  applied: 'in force',
  ended: 'ended',
  reverted: 'reverted',
  failed: 'could not apply',
};

/** Whether an emergency change is past its review time without an approver's review. */
export function isOverdue(c: ChangeRequest, now: number): boolean {
  return c.emergency && c.decision === null && c.reviewDueAt !== null && c.reviewDueAt < now;
}

export function flags(c: ChangeRequest, now: number): SafeHtml {
  return html`${c.emergency ? html` <span class="flag emergency">emergency</span>` : ''}${
    isOverdue(c, now) ? html` <span class="flag overdue">review overdue</span>` : ''
  }${c.endsAt !== null ? html` <span class="flag temporary">temporary</span>` : ''}${
    c.test?.ok === false ? html` <span class="flag failed">test failed</span>` : ''
  }`;
}

/** The before/after table of a change, one row per aspect that changes. */
export function describedTable(described: readonly Described[], id = 'described'): SafeHtml {
  if (described.length === 0) return html`<p class="muted" id="${id}">It changes nothing in the policy in force.</p>`;
  return html`<table class="responsive described" id="${id}"><thead><tr><th>Group</th><th>What</th><th>Before</th><th>After</th></tr></thead>
    <tbody>${described.flatMap((d) =>
      d.aspects.map(
        (a, i) => html`<tr>
          <td data-label="Group">${i === 0 ? d.target : ''}</td>
          <td data-label="What">${a.aspect}</td>
          <td data-label="Before">${a.before}</td>
          <td data-label="After">${a.after}</td>
        </tr>`,
      ),
    )}</tbody></table>`;
}

export function testWords(c: ChangeRequest): string {
  if (!c.test) return c.status === 'applied' || c.status === 'ended' || c.status === 'reverted' ? 'not tested yet' : '';
  return `${c.test.ok === null ? 'not tested' : c.test.ok ? 'success' : 'FAILURE'}: ${c.test.summary}`;
}

/** Several requests in a table (the list page, the dashboard). */
/** `who`: the person and device behind a block-page request, for those who may see people (identity/review-requests.ts). */
export function requestTable(
  id: string,
  rows: readonly ChangeRequest[],
  now: number,
  empty: string,
  zone: string,
  who?: (c: ChangeRequest) => SafeHtml,
): SafeHtml {
  if (rows.length === 0) return html`<p class="muted" id="${id}">${empty}</p>`;
  return html`<table class="responsive changes" id="${id}"><thead><tr><th>#</th><th>Received</th><th>What</th><th>Asked for by</th><th>Reason</th><th>State</th><th>Applies</th><th>Ends</th></tr></thead>
    <tbody>${rows.map(
      (c) => html`<tr id="request-${c.id}">
        <td data-label="#"><a href="/changes/${c.id}">#${c.id}</a>${c.source === 'block-page' ? html` <strong class="reference">${requestReference(c.id)}</strong>` : ''}</td>
        <td data-label="Received">${formatTime(c.createdAt, zone)}</td>
        <td data-label="What">${c.summary}${flags(c, now)}</td>
        <td data-label="Asked for by">${c.requester ?? ''} <span class="muted">${c.submittedBy ?? c.createdBy}</span>${who ? who(c) : ''}</td>
        <td data-label="Reason">${c.reason ?? ''}</td>
        <td data-label="State">${STATUS_WORDS[c.status]}</td>
        <td data-label="Applies">${c.appliedAt !== null ? formatTime(c.appliedAt, zone) : c.startsAt !== null ? formatTime(c.startsAt, zone) : 'once approved'}</td>
        <td data-label="Ends">${c.endsAt !== null ? formatTime(c.endsAt, zone) : ''}</td>
      </tr>`,
    )}</tbody></table>`;
}

/** The record of one request. */
export function requestRecord(c: ChangeRequest, now: number, zone: string): SafeHtml {
  const row = (label: string, value: unknown, id?: string) =>
    html`<tr${id ? html` id="${id}"` : ''}><th scope="row">${label}</th><td>${value ?? ''}</td></tr>`;
  return html`<table class="record" id="change-record"><tbody>
    ${row('State', html`${STATUS_WORDS[c.status]}${flags(c, now)}`, 'change-state')}
    ${row('Asked for by', c.requester)}
    ${row('Subject area', c.subjectArea)}
    ${row('Reason', c.reason)}
    ${row('Groups', c.groups.join(', '))}
    ${row('Risk', c.risk)}
    ${row('Backout plan', c.backout)}
    ${row('Applies', c.startsAt !== null ? formatTime(c.startsAt, zone) : 'once approved')}
    ${row('Ends', c.endsAt !== null ? formatTime(c.endsAt, zone) : 'no end: it stays until changed')}
    ${row('Entered by', `${c.createdBy}, ${formatTime(c.createdAt, zone)}`)}
    ${row('Submitted by', c.submittedBy ? `${c.submittedBy}, ${formatTime(c.submittedAt, zone)}` : '')}
    ${row('Approver', c.decidedBy ? `${c.decidedBy} (${c.decision ?? 'decided'}), ${formatTime(c.decidedAt, zone)}${c.decisionNote ? ': ' + c.decisionNote : ''}` : c.emergency ? 'none yet: emergency, review due ' + formatTime(c.reviewDueAt, zone) : '', 'change-approver')}
    ${row('Applied', c.appliedAt !== null ? `${formatTime(c.appliedAt, zone)} by ${c.appliedBy}, policy version ${c.policyVersion}` : '')}
    ${row('Ended', c.endedAt !== null ? `${formatTime(c.endedAt, zone)} by ${c.endedBy}${c.endNote ? ': ' + c.endNote : ''}` : '')}
    ${row('Test', testWords(c), 'change-test')}
    ${c.revertOf !== null ? row('Reverts', html`<a href="/changes/${c.revertOf}">#${c.revertOf}</a>`) : ''}
    ${c.revertedBy !== null ? row('Reverted by', html`<a href="/changes/${c.revertedBy}">#${c.revertedBy}</a>`) : ''}
    ${c.clientAddress ? row('From the block page', `${c.clientAddress}${c.category ? ', category ' + c.category : ''}`) : ''}
  </tbody></table>`;
}

export interface RecordValues {
  requester?: string | null;
  subjectArea?: string | null;
  reason?: string | null;
  risk?: string | null;
  backout?: string | null;
  startsAt?: number | null;
  endsAt?: number | null;
}

/** The record every request carries, as form fields. Times are local to the school's zone (admin.timezone). */
export function recordFields(v: RecordValues, defaults: { backout: string }, zone: string): SafeHtml {
  const risk = v.risk ?? 'low';
  return html`<label>Asked for by (member of staff) <input name="requester" maxlength="200" value="${v.requester ?? ''}"></label>
    <label>Subject area <input name="subjectArea" maxlength="200" value="${v.subjectArea ?? ''}"></label>
    <label>Reason <textarea name="reason" maxlength="2000" rows="2">${v.reason ?? ''}</textarea></label>
    <fieldset class="actions"><legend>Risk</legend>${['low', 'medium', 'high'].map(
      (r) => html`<label class="check"><input type="radio" name="risk" value="${r}"${risk === r ? html` checked` : ''}> ${r}</label>`,
    )}</fieldset>
    <label>Backout plan <textarea name="backout" maxlength="2000" rows="2">${v.backout ?? defaults.backout}</textarea></label>
    <label>Applies from (empty: once approved) <input type="datetime-local" name="startsAt" value="${v.startsAt ? localInput(v.startsAt, zone) : ''}"></label>
    <label>Ends at (empty: it stays) <input type="datetime-local" name="endsAt" value="${v.endsAt ? localInput(v.endsAt, zone) : ''}"></label>
    <label>or ends after (hours) <input type="number" name="endsInHours" min="0" step="0.25" inputmode="decimal"></label>`;
}

/** The buttons of a request form: submit for approval, keep as a draft, and (for named admins) an emergency. */
export function requestButtons(emergency: boolean): SafeHtml {
  return html`<div class="buttons">
    <button type="submit" name="submit" value="submit">Submit for approval</button>
    <button type="submit" name="submit" value="draft" class="secondary">Save as draft</button>
    ${emergency ? html`<button type="submit" name="submit" value="emergency" class="danger">Apply now as an emergency</button>` : ''}
  </div>`;
}

export function groupBoxes(groups: readonly string[], chosen: readonly string[], idPrefix: string, name = 'groups'): SafeHtml {
  return html`<fieldset class="groups"><legend>Groups</legend>${groups.map(
    (g) =>
      html`<label class="check"><input type="checkbox" name="${name}" value="${g}" id="${idPrefix}-${g}"${
        chosen.includes(g) ? html` checked` : ''
      }> ${g}</label>`,
  )}</fieldset>`;
}
