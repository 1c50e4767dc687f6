// `gatehouse user add|unlock|reset-mfa|list`: manage admin accounts from the
// shell. The first admin is made here, and this is the break-glass route when
// every admin is locked out or has lost MFA; every change writes a change-log
// row like the UI, and every run says which database it used.
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { recordAuthEvent } from '../admin/audit.js';
import { recoveryCodesLeftByUser } from '../admin/recovery-codes.js';
import { createUser, getUserByName, listUsers, publicUser, resetMfa, unlockUser, ROLES, UserError } from '../admin/users.js';
import type { Config } from '../config.js';
import { openDatabase } from '../store/db.js';
import { CommandError, commandConfig, defineGroup, sayDatabase, type OptionSpec } from './command.js';

/** Reads one line without echo from a terminal. */
function askHidden(question: string): Promise<string> {
  const muted = new Writable({ write: (_c, _e, done) => done() });
  process.stderr.write(question);
  const rl = createInterface({ input: process.stdin, output: muted, terminal: true });
  return new Promise((resolve) =>
    rl.once('line', (line) => {
      rl.close();
      process.stderr.write('\n');
      resolve(line);
    }),
  );
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function initialPassword(file: string | undefined): Promise<string> {
  const firstLine = (text: string) => text.split(/\r?\n/)[0];
  if (file) return firstLine(readFileSync(file, 'utf8'));
  if (!process.stdin.isTTY) return firstLine(await readStdin());
  const first = await askHidden('Initial password: ');
  const again = await askHidden('Again: ');
  if (first !== again) throw new UserError('GH_ERR_PASSWORD', 'the two passwords differ');
  return first;
}

type Values = Record<string, unknown>;

/** Open the config's database, saying which, and run `work` on it; account errors are reported. */
async function withAccounts(
  sub: string,
  values: Values,
  work: (db: ReturnType<typeof openDatabase>, config: Config) => Promise<number> | number,
): Promise<number> {
  const { config, source } = commandConfig(values as Parameters<typeof commandConfig>[0]);
  sayDatabase(config.store.path, source);
  const db = openDatabase(config.store.path);
  try {
    return await work(db, config);
  } catch (err) {
    if (err instanceof UserError) {
      process.stderr.write(`gatehouse user ${sub}: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    db.close();
  }
}

const actor = () => `cli (${userInfo().username})`;
const nameOption: OptionSpec = { type: 'string', value: 'NAME', help: 'the account (or give NAME as the argument)' };

/** unlock and reset-mfa: one account, by name. */
function oneUser(sub: string, values: Values, positionals: string[]): string {
  const name = positionals[0] ?? (typeof values.name === 'string' ? values.name : undefined);
  if (!name || positionals.length > 1)
    throw new CommandError('GH_ERR_USAGE', `gatehouse user ${sub}: name one account (see gatehouse user ${sub} --help)`);
  return name;
}

function findUser(db: ReturnType<typeof openDatabase>, name: string) {
  const user = getUserByName(db, name);
  if (!user) throw new UserError('GH_ERR_USER_NOT_FOUND', `no user "${name}"`);
  return user;
}

export const command = defineGroup(
  { name: 'user', summary: 'add, unlock, reset MFA of or list admin UI accounts' },
  {
    add: {
      spec: {
        name: 'user add',
        summary: 'create an account (the first admin too); the password must be changed at first login',
        usage: ['user add --config FILE --name NAME --role admin|dsl|auditor|approver [--password-file FILE]'],
        options: {
          name: { type: 'string', value: 'NAME', help: 'user name: 2 to 64 letters, digits, ".", "_", "@" or "-"' },
          role: { type: 'string', value: 'ROLE', help: `one of ${ROLES.join(', ')}` },
          'password-file': { type: 'string', value: 'FILE', help: 'read the initial password from the first line of FILE' },
        },
        notes: `The initial password is read from --password-file, from standard input when it is not a
terminal, or asked for twice. It must meet the password policy (8 or more characters, an upper-case
letter and a digit, not the user name, not a common password or a small change to one). Accounts
whose role is in admin.mfaRoles set up MFA at their first login.`,
      },
      run: async (values) => {
        const name = values.name as string | undefined;
        const role = values.role as string | undefined;
        if (!name || !role || !(ROLES as readonly string[]).includes(role))
          throw new CommandError(
            'GH_ERR_USAGE',
            `gatehouse user add: give --name NAME and --role ${ROLES.join('|')} (see gatehouse user add --help)`,
          );
        return withAccounts('add', values, async (db, config) => {
          const password = await initialPassword(values['password-file'] as string | undefined);
          const user = await createUser(db, { name, role, password, actor: actor(), now: Date.now() });
          const mfa = config.admin.mfaRoles.includes(user.role) ? ', and MFA set up' : '';
          process.stdout.write(`created ${user.role} "${user.name}"; the password must be changed at first login${mfa}\n`);
          return 0;
        });
      },
    },
    unlock: {
      spec: {
        name: 'user unlock',
        summary: 'unlock an account locked by failed logins (the break-glass route when no admin can log in)',
        usage: ['user unlock --config FILE NAME'],
        options: { name: nameOption },
      },
      run: async (values, positionals) => {
        const name = oneUser('unlock', values, positionals);
        return withAccounts('unlock', values, (db) => {
          const user = findUser(db, name);
          unlockUser(db, user.id, actor(), Date.now());
          recordAuthEvent(db, { at: Date.now(), userName: user.name, event: 'unlocked', detail: `by ${actor()}` });
          process.stdout.write(`unlocked ${user.name}\n`);
          return 0;
        });
      },
    },
    'reset-mfa': {
      spec: {
        name: 'user reset-mfa',
        summary: 'remove an account’s authenticator and recovery codes; MFA is set up again at the next login',
        usage: ['user reset-mfa --config FILE NAME'],
        options: { name: nameOption },
        notes: `For a lost phone with no recovery code left, or a lost admin-secret.key beside the database.
With a recovery code none of this is needed: log in with it, then "Set up a new authenticator" on
the account page.`,
      },
      run: async (values, positionals) => {
        const name = oneUser('reset-mfa', values, positionals);
        return withAccounts('reset-mfa', values, (db) => {
          const user = findUser(db, name);
          resetMfa(db, user.id, actor(), Date.now());
          process.stdout.write(`removed the authenticator of ${user.name}: MFA is set up again at the next login\n`);
          return 0;
        });
      },
    },
    list: {
      spec: {
        name: 'user list',
        summary: 'every account: name, role, state, MFA and recovery codes left',
        usage: ['user list --config FILE'],
        options: {},
      },
      run: async (values) =>
        withAccounts('list', values, (db) => {
          const codes = recoveryCodesLeftByUser(db);
          for (const u of listUsers(db).map(publicUser)) {
            const state = u.disabled ? 'disabled' : u.locked ? 'locked' : 'active';
            const mfa = u.mfaEnabled ? `mfa=on\trecovery-codes=${codes.get(u.id) ?? 0}` : 'mfa=off';
            process.stdout.write(`${u.name}\t${u.role}\t${state}\t${mfa}\n`);
          }
          return 0;
        }),
    },
  },
);
