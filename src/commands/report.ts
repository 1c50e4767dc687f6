// `gatehouse report weekly|board|annual`: a report made on the command line
// from the database, written to a file (--out FILE.pdf, .html or .csv), its
// figures printed, or sent now through the alert outbox (--send) to the
// report's recipients on its channels (reports.<kind> in the config).
import { writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { extname } from 'node:path';
import type { ChannelName } from '../alerts/config.js';
import { openDatabase } from '../store/db.js';
import { reportInput } from '../reports/input.js';
import { makeReport, type ReportFormat } from '../reports/make.js';
import { REPORT_KINDS, type ReportKind } from '../reports/model.js';
import { PeriodError, resolvePeriod } from '../reports/period.js';
import { reportFont } from '../reports/render/pdf.js';
import { sendOnce } from '../reports/send-once.js';
import { reportLink, reportZone } from '../reports/service.js';
import { CommandError, commandConfig, defineCommand, sayDatabase } from './command.js';

const FORMATS: Record<string, ReportFormat> = { '.pdf': 'pdf', '.html': 'html', '.htm': 'html', '.csv': 'csv' };

export const command = defineCommand(
  {
    name: 'report',
    summary: 'make the weekly report, the board extract or the annual pack (PDF, HTML, CSV), or send it now',
    usage: ['report weekly|board|annual --config FILE [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--out FILE.pdf|.html|.csv] [--send]'],
    options: {
      from: {
        type: 'string',
        value: 'YYYY-MM-DD',
        help: 'first day of the period (local, reports.timezone); default: the usual length before --to',
      },
      to: { type: 'string', value: 'YYYY-MM-DD', help: 'last day of the period, included; default: yesterday' },
      out: { type: 'string', value: 'FILE', help: 'write the report to FILE; .pdf, .html or .csv says the format' },
      send: { type: 'boolean', help: 'send it now to reports.<kind>.recipients on its channels, through the alert outbox' },
    },
    notes: 'Without --out or --send the report’s figures are printed. The weekly report names pupils: keep its files safe.',
  },
  async (values, positionals) => {
    const kind = positionals[0] as ReportKind;
    if (positionals.length !== 1 || !REPORT_KINDS.includes(kind))
      throw new CommandError('GH_ERR_USAGE', 'gatehouse report: name one report: weekly, board or annual (see gatehouse report --help)');
    const out = values.out as string | undefined;
    const format = out === undefined ? undefined : FORMATS[extname(out).toLowerCase()];
    if (out !== undefined && format === undefined)
      throw new CommandError('GH_ERR_USAGE', `gatehouse report: --out ${out}: the file must end in .pdf, .html or .csv`);
    const { config, source } = commandConfig(values);
    const zone = reportZone(config);
    const now = Date.now();
    let period;
    try {
      period = resolvePeriod(
        kind,
        { from: values.from as string | undefined, to: values.to as string | undefined },
        now,
        zone,
        config.reports.board.months,
      );
    } catch (err) {
      if (err instanceof PeriodError) throw new CommandError('GH_ERR_USAGE', `gatehouse report: ${err.message}`);
      throw err;
    }
    sayDatabase(config.store.path, source);
    const db = openDatabase(config.store.path, { readonly: values.send !== true });
    try {
      const input = reportInput(config, kind, period, now);
      const font = reportFont(config.reports.fontFile);
      if (format !== undefined) {
        const made = await makeReport(db, input, format, font);
        writeFileSync(out!, made.format === 'pdf' ? made.pdf : 'text' in made ? made.text : '', { mode: 0o600 });
        process.stdout.write(`wrote ${made.report.title} (${kind}) to ${out}\n`);
      }
      if (values.send === true) {
        const link = reportLink(config, kind, period);
        const made = await makeReport(db, input, 'email', font, link);
        if (made.format !== 'email') throw new Error('unexpected format');
        const r = config.reports[kind];
        const results = await sendOnce(
          db,
          config.alerts,
          {
            report: kind,
            ...period,
            slot: null,
            requestedBy: `cli (${userInfo().username})`,
            channels: r.channels as ChannelName[],
            recipients: r.recipients,
            subject: made.subject,
            text: made.text,
            html: made.html,
            pdf: made.pdf,
            images: made.images,
            link: link ?? null,
          },
          Date.now,
        );
        if (results.length === 0) {
          process.stderr.write(
            `gatehouse report: none of reports.${kind}.channels (${r.channels.join(', ')}) is configured under alerts.channels\n`,
          );
          return 1;
        }
        for (const x of results)
          process.stdout.write(
            x.ok
              ? `sent (sending ${x.sending}) by ${x.channel}\n`
              : `queued (sending ${x.sending}) on ${x.channel}: ${x.error}; the service retries it from the outbox\n`,
          );
      }
      if (format === undefined && values.send !== true) {
        const made = await makeReport(db, input, 'email', font);
        if (made.format === 'email') process.stdout.write(made.text);
      }
      return 0;
    } finally {
      db.close();
    }
  },
);
