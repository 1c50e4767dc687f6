// A report as an e-mail that reads well in Outlook: HTML made of tables with
// inline styles only (Outlook's Word engine ignores <style> blocks and CSS
// layout), charts as PNG images attached inline by Content-ID (Outlook shows
// no SVG), a plain-text part with the figures, and the whole report as a PDF
// attachment. The body carries the figures and each table's first rows; the
// PDF carries everything.
import { html, type SafeHtml } from '../../admin/html.js';
import type { Report, Table } from '../model.js';
import { periodText, time } from '../gather/common.js';
import { chartSummary } from './charts.js';
import { chartKey } from './html.js';

export interface EmailImage {
  cid: string;
  filename: string;
  png: Buffer;
}

export interface ReportEmail {
  subject: string;
  text: string;
  html: string;
  images: EmailImage[];
}

const ROWS_IN_BODY = 10;
const FONT = 'font-family:Arial,Helvetica,sans-serif;';
const CELL = `${FONT}font-size:13px;border:1px solid #cccccc;padding:4px 6px;vertical-align:top;`;

function table(t: Table): SafeHtml {
  if (t.rows.length === 0)
    return html`<p style="${FONT}font-size:13px;color:#555555;margin:4px 0 12px;">${t.title}: ${t.empty ?? 'none.'}</p>`;
  const rows = t.rows.slice(0, ROWS_IN_BODY);
  return html`<p style="${FONT}font-size:14px;font-weight:bold;margin:12px 0 4px;">${t.title}</p>
    <table role="presentation" cellpadding="0" cellspacing="0" border="0" width="100%" style="border-collapse:collapse;">
      <tr>${t.columns.map((c) => html`<th align="left" style="${CELL}background:#e8f0f7;">${c}</th>`)}</tr>
      ${rows.map((r) => html`<tr>${r.map((c) => html`<td align="${typeof c === 'number' ? 'right' : 'left'}" style="${CELL}">${typeof c === 'number' ? c.toLocaleString('en-GB') : c}</td>`)}</tr>`)}
    </table>
    ${t.rows.length > rows.length ? html`<p style="${FONT}font-size:12px;color:#555555;margin:2px 0 8px;">…and ${t.rows.length - rows.length} more rows in the attached PDF.</p>` : ''}`;
}

/** `png(key)` gives a chart's PNG (charts.ts chartPng); `link` the report's page in the admin UI, if known. */
export function reportEmail(r: Report, png: (key: string) => Buffer | undefined, link?: string): ReportEmail {
  const images: EmailImage[] = [];
  const period = periodText(r.from, r.to, r.zone);
  const body = html`<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>${r.title}</title></head>
<body style="margin:0;padding:0;background:#f4f4f4;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background:#f4f4f4;"><tr><td align="center" style="padding:16px;">
<table role="presentation" width="640" cellpadding="0" cellspacing="0" border="0" style="background:#ffffff;border:1px solid #dddddd;">
<tr><td style="padding:16px 20px;border-bottom:3px solid #0072b2;">
  <p style="${FONT}font-size:20px;font-weight:bold;color:#0072b2;margin:0;">${r.title}</p>
  <p style="${FONT}font-size:14px;margin:4px 0 0;">${r.site}: ${period}</p>
  <p style="${FONT}font-size:12px;color:#555555;margin:4px 0 0;">${r.audience} The full report is attached as a PDF${link ? html`; it is also in the admin UI: <a href="${link}" style="color:#0072b2;">${link}</a>` : ''}.</p>
</td></tr>
${r.sections.map((s) => {
  const charts = (s.charts ?? []).flatMap((c) => {
    const image = png(chartKey(s, c));
    if (!image) return [];
    const cid = `${s.id}-${c.id}@gatehouse`;
    images.push({ cid, filename: `${s.id}-${c.id}.png`, png: image });
    return [
      html`<p style="${FONT}font-size:14px;font-weight:bold;margin:12px 0 4px;">${c.title}</p><img src="cid:${cid}" width="600" height="250" alt="${chartSummary(c)}" style="display:block;border:0;width:600px;height:250px;">`,
    ];
  });
  return html`<tr><td style="padding:12px 20px;">
    <p style="${FONT}font-size:17px;font-weight:bold;color:#0072b2;margin:8px 0;">${s.title}</p>
    ${(s.text ?? []).map((p) => html`<p style="${FONT}font-size:13px;margin:4px 0;">${p}</p>`)}
    ${s.figures?.length ? html`<table role="presentation" cellpadding="0" cellspacing="0" border="0" width="100%">${s.figures.map((f) => html`<tr><td style="${FONT}font-size:13px;padding:2px 0;color:#555555;">${f.label}</td><td align="right" style="${FONT}font-size:14px;font-weight:bold;padding:2px 0;">${f.value}</td></tr>`)}</table>` : ''}
    ${charts}
    ${(s.tables ?? []).map(table)}
    ${s.form?.length ? html`<p style="${FONT}font-size:13px;color:#555555;">To be completed on the printed copy (the attached PDF).</p>` : ''}
  </td></tr>`;
})}
<tr><td style="${FONT}font-size:11px;color:#777777;padding:12px 20px;border-top:1px solid #dddddd;">Made ${time(r.generatedAt, r.zone)} (${r.zone}) by Gatehouse.</td></tr>
</table></td></tr></table></body></html>`;
  const lines = [`${r.title}: ${r.site}`, period, '', r.audience, ''];
  for (const s of r.sections) {
    if (!s.figures?.length) continue;
    lines.push(s.title);
    for (const f of s.figures) lines.push(`  ${f.label}: ${f.value}`);
    lines.push('');
  }
  lines.push(`The full report is attached as a PDF${link ? ` and in the admin UI: ${link}` : ''}.`);
  return { subject: `[Gatehouse] ${r.title}: ${r.site}, ${period}`, text: lines.join('\n') + '\n', html: body.value, images };
}
