// Build a report and render it in one format. Synchronous work on a
// connection: the report thread (worker.ts) runs it for the service; the
// command line runs it in its own process.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Database } from 'better-sqlite3';
import { html } from '../admin/html.js';
import { buildReport } from './build.js';
import type { ReportInput } from './input.js';
import type { Report } from './model.js';
import { periodText } from './gather/common.js';
import { chartPng, chartSvg } from './render/charts.js';
import { reportCsv } from './render/csv.js';
import { reportEmail, type EmailImage } from './render/email.js';
import { chartKey, reportBody } from './render/html.js';
import { reportPdf } from './render/pdf.js';

export const REPORT_FORMATS = ['body', 'html', 'pdf', 'csv', 'email'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export type Made =
  | { format: 'body' | 'html' | 'csv'; report: Report; text: string }
  | { format: 'pdf'; report: Report; pdf: Buffer }
  | { format: 'email'; report: Report; subject: string; text: string; html: string; images: EmailImage[]; pdf: Buffer };

function svgImages(r: Report): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of r.sections)
    for (const c of s.charts ?? []) out.set(chartKey(s, c), `data:image/svg+xml;base64,${Buffer.from(chartSvg(c)).toString('base64')}`);
  return out;
}

function pngImages(r: Report, font: string | null): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const s of r.sections) for (const c of s.charts ?? []) out.set(chartKey(s, c), chartPng(c, font));
  return out;
}

/** The reports' stylesheet: beside the module under src/, the source's copy when built into dist/ (as admin/app.ts finds public/). */
function css(): string {
  const beside = fileURLToPath(new URL('../admin/public/reports.css', import.meta.url));
  return readFileSync(existsSync(beside) ? beside : fileURLToPath(new URL('../../src/admin/public/reports.css', import.meta.url)), 'utf8');
}

/** A report file on its own (the command line's --out FILE.html): the stylesheet inline. */
function standalone(r: Report): string {
  const body = reportBody(r, svgImages(r)).value.replace('<link rel="stylesheet" href="/static/reports.css">', '');
  return (
    html`<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>${r.title}: ${r.site}, ${periodText(r.from, r.to, r.zone)}</title>
<style>body{font-family:"DejaVu Sans",Arial,sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem;color:#222}.muted{color:#666}</style></head>
<body><h1>${r.title}</h1>`.value + `<style>${css()}</style>${body}</body></html>\n`
  );
}

export async function makeReport(
  db: Database,
  input: ReportInput,
  format: ReportFormat,
  font: string | null,
  link?: string,
): Promise<Made> {
  const report = buildReport(db, input);
  switch (format) {
    case 'body':
      return { format, report, text: reportBody(report, svgImages(report)).value };
    case 'html':
      return { format, report, text: standalone(report) };
    case 'csv':
      return { format, report, text: reportCsv(report) };
    case 'pdf':
      return { format, report, pdf: await reportPdf(report, pngImages(report, font), font) };
    case 'email': {
      const pngs = pngImages(report, font);
      const mail = reportEmail(report, (k) => pngs.get(k), link);
      return { format, report, ...mail, pdf: await reportPdf(report, pngs, font) };
    }
  }
}
