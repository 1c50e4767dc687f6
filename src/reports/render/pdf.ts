// A report as an A4 PDF with pdfkit (MIT, pure JavaScript): the report font
// embedded (DejaVu Sans covers the accents of pupils' names; pdfkit's own
// Helvetica covers only Latin-1), charts as PNG images, tables with pdfkit's
// table layout, boxes to fill in, and the page number on every page.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import PDFDocument from 'pdfkit';
import type { Report, Section, Table } from '../model.js';
import { periodText, time } from '../gather/common.js';
import { chartKey } from './html.js';

/** Where Debian (fonts-dejavu-core) and other systems keep DejaVu Sans. */
const FONT_CANDIDATES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/TTF/DejaVuSans.ttf',
  '/usr/share/fonts/dejavu/DejaVuSans.ttf',
  '/usr/local/share/fonts/DejaVuSans.ttf',
];

/** The TrueType font reports use: reports.fontFile, else DejaVu Sans where the system keeps it; null when there is none. */
export function reportFont(configured?: string): string | null {
  if (configured) return existsSync(configured) ? configured : null;
  return FONT_CANDIDATES.find((f) => existsSync(f)) ?? null;
}

function boldBeside(font: string): string | null {
  const bold = join(
    dirname(font),
    font
      .split('/')
      .pop()!
      .replace(/\.ttf$/i, '-Bold.ttf'),
  );
  return existsSync(bold) ? bold : null;
}

const MARGIN = 50;
const INK = '#222222';
const ACCENT = '#0072B2';

export interface PdfImages {
  /** PNG per chart key (html.ts chartKey). */
  get(key: string): Buffer | undefined;
}

export function reportPdf(r: Report, images: PdfImages, fontFile: string | null): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    margins: { top: MARGIN, bottom: MARGIN + 10, left: MARGIN, right: MARGIN },
    bufferPages: true,
    info: {
      Title: `${r.title}: ${r.site}`,
      Author: 'Gatehouse',
      Subject: periodText(r.from, r.to, r.zone),
      CreationDate: new Date(r.generatedAt),
    },
    displayTitle: true,
    lang: 'en-GB',
  });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  let body = 'Helvetica';
  let bold = 'Helvetica-Bold';
  if (fontFile) {
    // Registered under their own paths: pdfkit's tables switch back to a cell's
    // font by its path, and a font registered under another name would be read
    // and parsed again for every cell (7 s for a weekly report instead of 0.5 s).
    doc.registerFont(fontFile, fontFile);
    body = fontFile;
    const b = boldBeside(fontFile);
    if (b) doc.registerFont(b, b);
    bold = b ?? fontFile;
  }
  const width = doc.page.width - 2 * MARGIN;

  doc.font(bold).fontSize(20).fillColor(ACCENT).text(r.title);
  doc.font(body).fontSize(12).fillColor(INK).text(r.site);
  doc.fontSize(10).text(`${periodText(r.from, r.to, r.zone)} (times in ${r.zone})`);
  doc.fillColor('#555555').text(`Made ${time(r.generatedAt, r.zone)} by Gatehouse. ${r.audience}`);
  doc.moveDown();

  for (const s of r.sections) section(doc, s, images, { body, bold, width });

  // Page numbers, once every page exists.
  const range = doc.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    doc.switchToPage(i);
    const bottom = doc.page.margins.bottom;
    doc.page.margins.bottom = 0;
    doc
      .font(body)
      .fontSize(8)
      .fillColor('#777777')
      .text(`${r.title} · ${r.site} · page ${i + 1} of ${range.count}`, MARGIN, doc.page.height - MARGIN + 5, { width, align: 'center' });
    doc.page.margins.bottom = bottom;
  }
  doc.end();
  return done;
}

interface Fonts {
  body: string;
  bold: string;
  width: number;
}

function ensureRoom(doc: PDFKit.PDFDocument, height: number): void {
  if (doc.y + height > doc.page.height - doc.page.margins.bottom) doc.addPage();
}

function section(doc: PDFKit.PDFDocument, s: Section, images: PdfImages, f: Fonts): void {
  ensureRoom(doc, 80);
  doc.x = MARGIN;
  doc.font(f.bold).fontSize(14).fillColor(ACCENT).text(s.title, { width: f.width });
  doc.moveDown(0.3);
  doc.font(f.body).fontSize(9.5).fillColor(INK);
  for (const p of s.text ?? []) doc.text(p, { width: f.width }).moveDown(0.3);
  if (s.figures?.length) {
    const colW = f.width / 2;
    for (let i = 0; i < s.figures.length; i += 2) {
      ensureRoom(doc, 28);
      const y = doc.y;
      for (let j = 0; j < 2 && i + j < s.figures.length; j++) {
        const fig = s.figures[i + j];
        doc
          .font(f.body)
          .fontSize(8.5)
          .fillColor('#555555')
          .text(fig.label, MARGIN + j * colW, y, { width: colW - 10 });
        doc
          .font(f.bold)
          .fontSize(12)
          .fillColor(INK)
          .text(fig.value, MARGIN + j * colW, doc.y, { width: colW - 10 });
      }
      doc.x = MARGIN;
      doc.moveDown(0.4);
    }
  }
  for (const c of s.charts ?? []) {
    const png = images.get(chartKey(s, c));
    if (!png) continue;
    const h = (f.width * 300) / 720;
    ensureRoom(doc, h + 24);
    doc.x = MARGIN;
    doc.font(f.bold).fontSize(10).fillColor(INK).text(c.title, { width: f.width });
    doc.image(png, MARGIN, doc.y + 2, { width: f.width });
    doc.y += h + 10;
  }
  for (const t of s.tables ?? []) table(doc, t, f);
  for (const field of s.form ?? []) {
    ensureRoom(doc, 20 + field.lines * 22);
    doc.x = MARGIN;
    doc.font(f.bold).fontSize(10).fillColor(INK).text(field.label, { width: f.width });
    for (let i = 0; i < field.lines; i++) {
      const y = doc.y + 20;
      doc
        .moveTo(MARGIN, y)
        .lineTo(MARGIN + f.width, y)
        .strokeColor('#666666')
        .lineWidth(0.5)
        .stroke();
      doc.y = y + 2;
    }
    doc.moveDown(0.8);
  }
  doc.moveDown(0.5);
}

function table(doc: PDFKit.PDFDocument, t: Table, f: Fonts): void {
  ensureRoom(doc, 50);
  doc.x = MARGIN;
  doc.font(f.bold).fontSize(10).fillColor(INK).text(t.title, { width: f.width });
  doc.moveDown(0.2);
  if (t.rows.length === 0) {
    doc
      .font(f.body)
      .fontSize(9)
      .fillColor('#555555')
      .text(t.empty ?? 'None.', { width: f.width });
    doc.fillColor(INK).moveDown(0.6);
    return;
  }
  // Column widths by the longest text in each (capped), so short numbers take little room.
  // At least the header's longest word, so no heading breaks mid-word.
  const word = (text: string) => Math.max(...text.split(/\s+/).map((w) => w.length));
  const lengths = t.columns.map(
    (c, i) => Math.max(word(c) * 1.1, Math.min(40, Math.max(c.length * 0.8, ...t.rows.map((r) => String(r[i] ?? '').length)))) + 3,
  );
  const sum = lengths.reduce((a, b) => a + b, 0);
  const numeric = t.columns.map((_, i) => t.rows.every((r) => typeof r[i] === 'number'));
  doc.font(f.body).fontSize(8);
  doc.table({
    maxWidth: f.width,
    columnStyles: lengths.map((l, i) => ({ width: (f.width * l) / sum, align: numeric[i] ? { x: 'right' } : { x: 'left' } })),
    rowStyles: (i: number) => (i === 0 ? { backgroundColor: '#E8F0F7', font: { src: f.bold } } : undefined),
    defaultStyle: { padding: 3, border: 0.5, borderColor: '#BBBBBB' },
    data: [t.columns, ...t.rows.map((r) => r.map((c) => (typeof c === 'number' ? c.toLocaleString('en-GB') : c)))],
  });
  doc.x = MARGIN;
  doc.moveDown(0.8);
}
