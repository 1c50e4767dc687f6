// `gatehouse change list|show`: change requests from the shell, read-only.
// Requests are made in the admin UI or with `gatehouse policy import`, and
// approved only in the admin UI, by an approver with MFA (four eyes).
import { changesOf } from '../admin/changelog.js';
import { sentences } from '../changes/describe.js';
import { listRequests, mustGetRequest, type ChangeStatus } from '../changes/store.js';
import { ChangeError } from '../changes/errors.js';
import { openDatabase } from '../store/db.js';
import { CommandError, commandConfig, defineGroup, sayDatabase } from './command.js';

type Values = Record<string, unknown>;

function withDb(values: Values, work: (db: ReturnType<typeof openDatabase>) => number): number {
  const { config, source } = commandConfig(values as Parameters<typeof commandConfig>[0]);
  sayDatabase(config.store.path, source);
  const db = openDatabase(config.store.path, { readonly: true });
  try {
    return work(db);
  } catch (err) {
    if (!(err instanceof ChangeError)) throw err;
    process.stderr.write(`gatehouse change: ${err.message}\n`);
    return 1;
  } finally {
    db.close();
  }
}

const when = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().replace(/:\d{2}\.\d{3}Z$/, 'Z'));

export const command = defineGroup(
  { name: 'change', summary: 'list or show change requests to the filtering policy (read-only)' },
  {
    list: {
      spec: {
        name: 'change list',
        summary: 'change requests, newest first: id, state, flags, summary',
        usage: ['change list --config FILE [--status STATE]... [--limit N]'],
        options: {
          status: {
            type: 'string',
            value: 'STATE',
            multiple: true,
            help: 'only these: draft, submitted, approved, applied, ended, reverted, refused, …',
          },
          limit: { type: 'string', value: 'N', help: 'at most N (default 50)' },
        },
      },
      run: async (values) => {
        const limit = values.limit === undefined ? 50 : Number(values.limit);
        if (!Number.isInteger(limit) || limit < 1)
          throw new CommandError('GH_ERR_USAGE', 'gatehouse change list: --limit wants a whole number');
        return withDb(values, (db) => {
          const status = values.status as ChangeStatus[] | undefined;
          for (const c of listRequests(db, { ...(status ? { status } : {}), limit })) {
            const flags = [c.emergency && 'emergency', c.endsAt !== null && `until ${when(c.endsAt)}`].filter(Boolean).join(',');
            process.stdout.write(`#${c.id}\t${c.status}\t${flags || '-'}\t${c.summary}\n`);
          }
          return 0;
        });
      },
    },
    show: {
      spec: {
        name: 'change show',
        summary: 'one change request: what it changes in plain words, its record and its steps',
        usage: ['change show --config FILE ID'],
        options: {},
      },
      run: async (values, positionals) => {
        const id = Number(positionals[0]);
        if (!Number.isInteger(id) || positionals.length !== 1)
          throw new CommandError('GH_ERR_USAGE', 'gatehouse change show: give one change request number');
        return withDb(values, (db) => {
          const c = mustGetRequest(db, id);
          const lines = [
            `Change request #${c.id} (${c.kind}): ${c.status}${c.emergency ? ', EMERGENCY' : ''}`,
            ...sentences(c.described).map((s) => `  - ${s}`),
            `Asked for by:  ${c.requester ?? '-'} (${c.subjectArea ?? '-'})`,
            `Reason:        ${c.reason ?? '-'}`,
            `Risk, backout: ${c.risk ?? '-'}; ${c.backout ?? '-'}`,
            `Applies, ends: ${when(c.startsAt)} (once approved if -), ${when(c.endsAt)}`,
            `Approver:      ${c.decidedBy ? `${c.decidedBy} (${c.decision})` : '-'}`,
            `Test:          ${c.test ? `${c.test.ok === null ? 'not tested' : c.test.ok ? 'success' : 'FAILURE'}: ${c.test.summary}` : '-'}`,
            'Steps:',
            ...changesOf(db, 'change', c.id).map((r) => `  ${when(r.at)}  ${r.action.padEnd(16)} ${r.actor}`),
          ];
          process.stdout.write(lines.join('\n') + '\n');
          return 0;
        });
      },
    },
  },
);
