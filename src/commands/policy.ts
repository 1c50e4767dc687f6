// `gatehouse policy export|import`: the governed filtering policy as a YAML
// file, and a file's differences as one change request (submitted for
// approval, or a draft). The command line never approves: approval needs an
// approver's own login with MFA in the admin UI (four eyes). See
// src/changes/policy-file.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { ChangeError } from '../changes/errors.js';
import { exportPolicy, importOps, readPolicyFile } from '../changes/policy-file.js';
import { createRequest, DEFAULT_BACKOUT } from '../changes/requests.js';
import { currentVersion, listRequests, mappingsGoverned } from '../changes/store.js';
import { describeChange, sentences } from '../changes/describe.js';
import { checkRequest } from '../changes/validate.js';
import type { Config } from '../config.js';
import { illegalCheck } from '../lists/illegal-check.js';
import { openDatabase } from '../store/db.js';
import { CommandError, commandConfig, defineGroup, sayDatabase } from './command.js';

type Values = Record<string, unknown>;

/**
 * The policy in force, or a clear refusal: none yet (the first start seeds it), or one an older
 * version seeded without the roster group mappings (the next start takes them from the file; a
 * command writing or reading the policy first would leave them out).
 */
function policyInForce(db: ReturnType<typeof openDatabase>) {
  const v = currentVersion(db);
  if (!v)
    throw new ChangeError('GH_ERR_POLICY_SEED', 'there is no governed policy yet: start the service once to seed it from the config file');
  if (!mappingsGoverned(db))
    throw new ChangeError(
      'GH_ERR_POLICY_SEED',
      'the governed policy does not hold the roster group mappings yet: start (or restart) the service once; it takes them from the config file’s identity.groups',
    );
  return v;
}

/** Open the config's database and its governed policy; a missing policy is a clear refusal. */
function withPolicy<T>(values: Values, work: (db: ReturnType<typeof openDatabase>, config: Config) => T): T {
  const { config, source } = commandConfig(values as Parameters<typeof commandConfig>[0]);
  sayDatabase(config.store.path, source);
  const db = openDatabase(config.store.path);
  try {
    return work(db, config);
  } finally {
    db.close();
  }
}

function policyError(sub: string, err: unknown): number {
  if (!(err instanceof ChangeError)) throw err;
  process.stderr.write(`gatehouse policy ${sub}: ${err.problems.join('\n  ')}\n`);
  return 1;
}

const time = (v: unknown, name: string): number | null => {
  if (typeof v !== 'string' || v === '') return null;
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw new CommandError('GH_ERR_USAGE', `gatehouse policy import: --${name} wants a time such as 2026-03-02T15:30Z`);
  return ms;
};

export const command = defineGroup(
  {
    name: 'policy',
    summary: 'export the governed filtering policy as YAML, or import a file as a change request',
    notes: `The filtering policy (groups, roster group mappings, exceptions, switch-offs) lives in the database and changes only
through change requests an approver approves in the admin UI. Approval is never done here: it needs
the approver's own login with MFA, and never the account that asked.`,
  },
  {
    export: {
      spec: {
        name: 'policy export',
        summary: 'write the policy in force as YAML (standard output, or --out FILE)',
        usage: ['policy export --config FILE [--out FILE]'],
        options: { out: { type: 'string', value: 'FILE', help: 'write to FILE instead of standard output' } },
      },
      run: async (values) =>
        withPolicy(values, (db) => {
          let v;
          try {
            v = policyInForce(db);
          } catch (err) {
            return policyError('export', err);
          }
          const temporary = listRequests(db, { status: ['applied'] }).filter((c) => c.endsAt !== null);
          const text = exportPolicy(v, temporary, db.name, Date.now());
          if (typeof values.out === 'string') {
            writeFileSync(values.out, text);
            process.stderr.write(`wrote policy version ${v.version} to ${values.out}\n`);
          } else process.stdout.write(text);
          return 0;
        }),
    },
    import: {
      spec: {
        name: 'policy import',
        summary: 'ask for the differences between FILE and the policy in force, as one change request',
        usage: [
          'policy import --config FILE POLICY.yaml --requester NAME --subject-area TEXT --reason TEXT',
          '  [--risk low|medium|high] [--backout TEXT] [--starts TIME] [--ends TIME] [--draft] [--dry-run]',
        ],
        options: {
          requester: { type: 'string', value: 'NAME', help: 'the member of staff who asked for it' },
          'subject-area': { type: 'string', value: 'TEXT', help: 'the subject or area it is for' },
          reason: { type: 'string', value: 'TEXT', help: 'why it is needed' },
          risk: { type: 'string', value: 'LEVEL', help: 'low (default), medium or high' },
          backout: { type: 'string', value: 'TEXT', help: 'how it is undone (default: revert it in Gatehouse)' },
          starts: { type: 'string', value: 'TIME', help: 'apply it from this time (ISO 8601; default: once approved)' },
          ends: { type: 'string', value: 'TIME', help: 'end it at this time (default: it stays)' },
          draft: { type: 'boolean', help: 'keep it as a draft to finish in the admin UI instead of submitting it' },
          'dry-run': { type: 'boolean', help: 'print what would change, and ask for nothing' },
        },
        notes: `POLICY.yaml is a file from \`gatehouse policy export\` (groups, roster group mappings and exceptions),
or a config file (its groups, and its identity.groups if it has them; exceptions stay as they are). Prints the request's number and what it changes in plain
words; an approver then approves or refuses it on the admin UI's Change requests page.`,
      },
      run: async (values, positionals) => {
        const file = positionals[0];
        if (!file || positionals.length > 1)
          throw new CommandError('GH_ERR_USAGE', 'gatehouse policy import: name one POLICY.yaml file (see gatehouse policy import --help)');
        let text: string;
        try {
          text = readFileSync(file, 'utf8');
        } catch (err) {
          process.stderr.write(`gatehouse policy import: cannot read ${file}: ${(err as Error).message}\n`);
          return 1;
        }
        const startsAt = time(values.starts, 'starts');
        const endsAt = time(values.ends, 'ends');
        return withPolicy(values, (db, config) => {
          try {
            const v = policyInForce(db);
            const imported = readPolicyFile(text, file, config.categories);
            for (const n of imported.notes) process.stderr.write(`note: ${n}\n`);
            const ops = importOps(v.doc, imported);
            if (ops.length === 0) {
              process.stdout.write(`no differences: ${file} says what policy version ${v.version} says\n`);
              return 0;
            }
            // Names on illegal lists are refused before anything is written; the lists must be readable to tell.
            const illegal = ops.some((o) => o.op === 'exception-add' || o.op === 'exception-groups') ? illegalCheck(config) : undefined;
            if (illegal && illegal.missing.length > 0)
              throw new ChangeError(
                'GH_ERR_POLICY_FILE',
                `cannot check exceptions against the illegal lists (no copy yet of ${illegal.missing.join(', ')}): start the service once`,
              );
            const env = {
              categories: config.categories,
              maxSwitchOffHours: config.changeControl.maxSwitchOffHours,
              ...(illegal ? { isIllegal: illegal.isIllegal } : {}),
            };
            const record = {
              ops,
              requester: values.requester as string | undefined,
              subjectArea: values['subject-area'] as string | undefined,
              reason: values.reason as string | undefined,
              risk: (values.risk as string | undefined) ?? 'low',
              backout: (values.backout as string | undefined) ?? DEFAULT_BACKOUT,
              startsAt,
              endsAt,
              source: 'cli',
              kind: 'import' as const,
              submit: !values.draft,
            };
            if (values['dry-run']) {
              const after = checkRequest(record, v.doc, env, {
                changeId: 0,
                requester: '',
                subjectArea: '',
                reason: '',
                approver: '',
                now: Date.now(),
              });
              const lines = sentences(describeChange(v.doc, after, config.categories));
              process.stdout.write(`would ask for:\n${lines.map((l) => `  - ${l}\n`).join('')}`);
              return 0;
            }
            const c = createRequest(db, v.doc, env, record, { name: `cli (${userInfo().username})`, id: null }, Date.now());
            process.stdout.write(
              `change request #${c.id} ${c.status === 'submitted' ? 'submitted: it waits for an approver' : 'saved as a draft'} (admin UI: Change requests)\n` +
                sentences(c.described)
                  .map((s) => `  - ${s}\n`)
                  .join(''),
            );
            return 0;
          } catch (err) {
            return policyError('import', err);
          }
        });
      },
    },
  },
);
