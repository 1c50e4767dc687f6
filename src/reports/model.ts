// What a report is, whatever it is rendered as: a title, a period and
// sections of figures, tables, charts and boxes to fill in by hand. The data
// builders (weekly.ts, board.ts, annual.ts) make one; the renderers (html.ts,
// email.ts, pdf.ts, csv.ts) each turn any report into their format, so the
// page, the PDF, the e-mail and the CSV always show the same figures.
export const REPORT_KINDS = ['weekly', 'board', 'annual'] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];

export const REPORT_TITLES: Record<ReportKind, string> = {
  weekly: 'Weekly monitoring report',
  board: 'Safeguarding board extract',
  annual: 'Annual filtering and monitoring review',
};

export type Cell = string | number;

export interface Table {
  /** Stable id (CSV block name, test hooks): lower-case words and dashes. */
  id: string;
  title: string;
  columns: string[];
  rows: Cell[][];
  /** Said when there are no rows. */
  empty?: string;
}

export interface ChartSeries {
  name: string;
  values: number[];
}

export interface Chart {
  id: string;
  title: string;
  /** bar: grouped; stacked: stacked bars; line: lines over the categories; share: a ring of shares. */
  type: 'bar' | 'stacked' | 'line' | 'share';
  /** The x axis (days, weeks, months, categories). */
  categories: string[];
  series: ChartSeries[];
  /** The y axis, e.g. "lookups". */
  unit: string;
  /** The categories are consecutive days, weeks or months: when there are many, only every few is labelled. */
  periods?: boolean;
}

/** A box for people to fill in: a label and room to write. */
export interface FormField {
  label: string;
  lines: number;
}

export interface Figure {
  label: string;
  value: string;
}

export interface Section {
  id: string;
  title: string;
  /** Paragraphs. */
  text?: string[];
  figures?: Figure[];
  charts?: Chart[];
  tables?: Table[];
  form?: FormField[];
}

export interface Report {
  kind: ReportKind;
  title: string;
  /** The school (or site) it is for. */
  site: string;
  from: number;
  to: number;
  zone: string;
  generatedAt: number;
  /** Who it is for, said on the cover ("The DSL and deputies: it names pupils."). */
  audience: string;
  sections: Section[];
}
