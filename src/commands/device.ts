// `gatehouse device import FILE | list`: the devices the school names itself
// (MAC or address → name, asset tag, owner), e.g. from an MDM export. Every
// change is a change-log row; the service picks changes up within 10 s.
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { openDatabase } from '../store/db.js';
import { importDevices, listDevices } from '../identity/devices.js';
import { IdentityError } from '../identity/errors.js';
import { printable } from '../identity/names.js';
import { CommandError, commandConfig, defineGroup, sayDatabase } from './command.js';

type Values = Parameters<typeof commandConfig>[0];

/** Open the config's database, saying which, and run `work` on it; device errors are reported. */
function withDevices(sub: string, values: Values, work: (db: ReturnType<typeof openDatabase>) => number): number {
  const { config, source } = commandConfig(values);
  sayDatabase(config.store.path, source);
  const db = openDatabase(config.store.path);
  try {
    return work(db);
  } catch (err) {
    if (err instanceof IdentityError) {
      process.stderr.write(`gatehouse device ${sub}: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    db.close();
  }
}

export const command = defineGroup(
  { name: 'device', summary: 'import or list the devices the school names (device import FILE, device list)' },
  {
    import: {
      spec: {
        name: 'device import',
        summary: 'name devices from a CSV (an MDM export): a MAC or address column and any of name, asset tag, owner',
        usage: ['device import FILE [--config FILE]'],
        options: {},
        notes: `Columns are found by header (README, "identity": Devices). Rows that cannot be used are listed
and skipped (exit code 1); the others are saved, each change a change-log row. The running service
picks changes up within 10 s.`,
      },
      run: async (values, positionals) => {
        const [file, ...rest] = positionals;
        if (!file || rest.length > 0)
          throw new CommandError('GH_ERR_USAGE', 'gatehouse device import: give one FILE (see gatehouse device import --help)');
        let text: string;
        try {
          text = readFileSync(file, 'utf8');
        } catch (err) {
          process.stderr.write(`gatehouse device import: cannot read ${file}: ${(err as Error).message}\n`);
          return 1;
        }
        return withDevices('import', values, (db) => {
          const r = importDevices(db, text, `cli (${userInfo().username})`);
          process.stdout.write(`devices: ${r.added} added, ${r.changed} changed, ${r.unchanged} unchanged, ${r.refused.length} refused\n`);
          for (const x of r.refused.slice(0, 50)) process.stdout.write(`  line ${x.line}: ${printable(x.reason)}\n`);
          return r.refused.length > 0 ? 1 : 0;
        });
      },
    },
    list: {
      spec: {
        name: 'device list',
        summary: 'the devices the school named (id, key, name, asset tag, owner)',
        usage: ['device list [--all] [--config FILE]'],
        options: { all: { type: 'boolean', help: 'every device seen, not only the named ones' } },
      },
      run: async (values) =>
        withDevices('list', values, (db) => {
          for (const d of listDevices(db, values.all ? {} : { named: true }))
            process.stdout.write(
              [d.id, d.key, d.name ?? '', d.assetTag ?? '', d.owner ?? '', d.named ? 'named' : 'seen']
                .map((x) => printable(String(x)))
                .join('\t') + '\n',
            );
          return 0;
        }),
    },
  },
);
