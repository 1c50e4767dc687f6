// A report as HTML for the admin UI and for printing (reports.css: A4, charts
// and tables kept whole across pages). Charts are SVG images (data: URLs, which
// the admin CSP's img-src allows; an inline SVG's style attributes it would
// refuse), each with its figures as text for screen readers. Every value goes
// through the `html` template, so nothing from the database becomes markup.
import { html, type SafeHtml } from '../../admin/html.js';
import type { Chart, Report, Section, Table } from '../model.js';
import { periodText, time } from '../gather/common.js';
import { chartSummary } from './charts.js';

export type ChartImages = ReadonlyMap<string, string>;

/** The chart SVGs as data: URLs, keyed by section and chart id. */
export function chartKey(section: Section, chart: Chart): string {
  return `${section.id}.${chart.id}`;
}

function table(t: Table): SafeHtml {
  if (t.rows.length === 0) return html`<h3>${t.title}</h3><p class="muted" data-table="${t.id}">${t.empty ?? 'None.'}</p>`;
  return html`<h3>${t.title}</h3>
    <table class="report-table" data-table="${t.id}">
      <thead><tr>${t.columns.map((c) => html`<th scope="col">${c}</th>`)}</tr></thead>
      <tbody>${t.rows.map((r) => html`<tr>${r.map((c) => html`<td class="${typeof c === 'number' ? 'num' : ''}">${typeof c === 'number' ? c.toLocaleString('en-GB') : c}</td>`)}</tr>`)}</tbody>
    </table>`;
}

function section(s: Section, charts: ChartImages): SafeHtml {
  return html`<section class="report-section" id="${s.id}">
    <h2>${s.title}</h2>
    ${(s.text ?? []).map((p) => html`<p>${p}</p>`)}
    ${s.figures?.length ? html`<dl class="report-figures">${s.figures.map((f) => html`<div><dt>${f.label}</dt><dd>${f.value}</dd></div>`)}</dl>` : ''}
    ${(s.charts ?? []).map((c) => {
      const src = charts.get(chartKey(s, c));
      return html`<figure class="report-chart" data-chart="${c.id}">
        <figcaption>${c.title}</figcaption>
        ${src ? html`<img src="${src}" alt="${chartSummary(c)}" width="720" height="300">` : html`<p>${chartSummary(c)}</p>`}
      </figure>`;
    })}
    ${(s.tables ?? []).map(table)}
    ${s.form?.length ? html`<div class="report-form">${s.form.map((f) => html`<div class="report-field"><span>${f.label}</span>${Array.from({ length: f.lines }, () => html`<div class="line"></div>`)}</div>`)}</div>` : ''}
  </section>`;
}

/** The report's body (the page frame adds the title, navigation and print button). */
export function reportBody(r: Report, charts: ChartImages): SafeHtml {
  return html`<link rel="stylesheet" href="/static/reports.css">
    <div class="report" data-report="${r.kind}">
      <header class="report-head">
        <p class="report-site">${r.site}</p>
        <p class="report-period">${periodText(r.from, r.to, r.zone)} <span class="muted">(times in ${r.zone})</span></p>
        <p class="report-audience">${r.audience}</p>
        <p class="muted">Made ${time(r.generatedAt, r.zone)} by Gatehouse.</p>
      </header>
      ${r.sections.map((s) => section(s, charts))}
    </div>`;
}
