// `gatehouse user add|unlock|reset-mfa|list`: manage admin accounts from the
// shell. The first admin is made here; every change writes a change-log row
// like the UI.
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { recordAuthEvent } from '../admin/audit.js';
import { createUser, getUserByName, listUsers, publicUser, resetMfa, unlockUser, ROLES, UserError } from '../admin/users.js';
import { loadConfig } from '../config.js';
import { openDatabase } from '../store/db.js';
import { parseCommandArgs, type Command } from './command.js';

const USAGE = `usage:
  gatehouse user add --config FILE --name NAME --role admin|dsl|auditor [--password-file FILE]
  gatehouse user unlock --config FILE NAME
  gatehouse user reset-mfa --config FILE NAME
  gatehouse user list --config FILE
The initial password is read from --password-file, from stdin when it is not a
terminal, or asked for twice. The user must change it at first login.
reset-mfa removes a user's authenticator (a lost phone, or a lost
admin-secret.key beside the database); they set up MFA again at next login.
`;

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

export const command: Command = {
  summary: 'add, unlock, reset MFA of or list admin UI accounts',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, {
      name: { type: 'string' },
      role: { type: 'string' },
      'password-file': { type: 'string' },
    });
    const [sub, arg] = positionals;
    if (!sub || !['add', 'unlock', 'reset-mfa', 'list'].includes(sub)) {
      process.stderr.write(USAGE);
      return 2;
    }
    const config = loadConfig(values.config!);
    const db = openDatabase(config.store.path);
    const actor = `cli (${userInfo().username})`;
    try {
      if (sub === 'list') {
        for (const u of listUsers(db).map(publicUser)) {
          const state = u.disabled ? 'disabled' : u.locked ? 'locked' : 'active';
          process.stdout.write(`${u.name}\t${u.role}\t${state}\tmfa=${u.mfaEnabled ? 'on' : 'off'}\n`);
        }
        return 0;
      }
      if (sub === 'unlock' || sub === 'reset-mfa') {
        const name = arg ?? values.name;
        const user = name ? getUserByName(db, name) : undefined;
        if (!user) {
          process.stderr.write(`gatehouse user ${sub}: no user "${name ?? ''}"\n`);
          return 1;
        }
        if (sub === 'reset-mfa') {
          resetMfa(db, user.id, actor, Date.now());
          process.stdout.write(`removed the authenticator of ${user.name}: MFA is set up again at the next login\n`);
          return 0;
        }
        unlockUser(db, user.id, actor, Date.now());
        recordAuthEvent(db, { at: Date.now(), userName: user.name, event: 'unlocked', detail: `by ${actor}` });
        process.stdout.write(`unlocked ${user.name}\n`);
        return 0;
      }
      if (!values.name || !values.role || !(ROLES as readonly string[]).includes(values.role)) {
        process.stderr.write(USAGE);
        return 2;
      }
      const password = await initialPassword(values['password-file']);
      const user = await createUser(db, { name: values.name, role: values.role, password, actor, now: Date.now() });
      process.stdout.write(
        `created ${user.role} "${user.name}"; the password must be changed at first login${user.role === 'admin' ? ', and MFA set up' : ''}\n`,
      );
      return 0;
    } catch (err) {
      if (err instanceof UserError) {
        process.stderr.write(`gatehouse user ${sub}: ${err.message}\n`);
        return 1;
      }
      throw err;
    } finally {
      db.close();
    }
  },
};
