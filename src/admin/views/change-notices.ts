// What the dashboard says about change control: config-file groups and roster
// group mappings that are not applied (the governed policy is in force), emergency changes overdue
// for review, and requests waiting for an approver.
import type { AdminContext } from '../context.js';
import { fileDifferenceWords } from '../../changes/document.js';
import { html, type SafeHtml } from '../html.js';

export function changeNotices(ctx: AdminContext): SafeHtml {
  const overdue = ctx.changes.overdue();
  const waiting = ctx.changes.waiting();
  const differs = ctx.changes.fileDifferences(ctx.changes.fileConfig());
  const items: SafeHtml[] = [];
  if (overdue.length > 0)
    items.push(
      html`<li id="notice-overdue">${overdue.length} emergency change${overdue.length === 1 ? ' is' : 's are'} overdue for an approver’s review:
        ${overdue.map((c) => html`<a href="/changes/${c.id}">#${c.id}</a> `)}</li>`,
    );
  if (differs.length > 0) {
    const what = fileDifferenceWords(differs);
    items.push(
      html`<li id="notice-file-groups">${what[0].toUpperCase() + what.slice(1)} in the config file differ from the governed policy and are <strong>not applied</strong>.
        The policy changes only through <a href="/changes">change requests</a>; <code>gatehouse policy import FILE</code> turns the difference into one.</li>`,
    );
  }
  if (waiting > 0)
    items.push(
      html`<li id="notice-waiting"><a href="/changes">${waiting} change request${waiting === 1 ? '' : 's'}</a> waiting for an approver.</li>`,
    );
  return items.length ? html`<div class="notice change-notices" role="status"><ul>${items}</ul></div>` : html``;
}
