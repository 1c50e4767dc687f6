// `gatehouse device import FILE | list`: the devices the school names itself
// (MAC or address → name, asset tag, owner), e.g. from an MDM export. Every
// change is a change-log row; the service picks changes up within 10 s.
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { loadConfig } from '../config.js';
import { openDatabase } from '../store/db.js';
import { importDevices, listDevices } from '../identity/devices.js';
import { IdentityError } from '../identity/errors.js';
import { printable } from '../identity/names.js';
import { parseCommandArgs, type Command } from './command.js';

const USAGE = `usage:
  gatehouse device import FILE [--config FILE]
  gatehouse device list [--all] [--config FILE]
import: a CSV with a MAC or address column and any of name, asset tag, owner
(README: "Devices"); rows that cannot be used are listed and skipped.
list: the named devices (--all: every device seen, too).
`;

export const command: Command = {
  summary: 'import or list the devices the school names (device import FILE, device list)',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { all: { type: 'boolean', default: false } });
    const [sub, file] = positionals;
    if ((sub !== 'import' || !file) && sub !== 'list') {
      process.stderr.write(USAGE);
      return 2;
    }
    const config = loadConfig(values.config!);
    const db = openDatabase(config.store.path);
    try {
      if (sub === 'list') {
        for (const d of listDevices(db, values.all ? {} : { named: true }))
          process.stdout.write(
            [d.id, d.key, d.name ?? '', d.assetTag ?? '', d.owner ?? '', d.named ? 'named' : 'seen']
              .map((x) => printable(String(x)))
              .join('\t') + '\n',
          );
        return 0;
      }
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        process.stderr.write(`gatehouse device import: cannot read ${file}: ${(err as Error).message}\n`);
        return 1;
      }
      const r = importDevices(db, text, `cli (${userInfo().username})`);
      process.stdout.write(`devices: ${r.added} added, ${r.changed} changed, ${r.unchanged} unchanged, ${r.refused.length} refused\n`);
      for (const x of r.refused.slice(0, 50)) process.stdout.write(`  line ${x.line}: ${printable(x.reason)}\n`);
      return r.refused.length > 0 ? 1 : 0;
    } catch (err) {
      if (err instanceof IdentityError) {
        process.stderr.write(`gatehouse device ${sub}: ${err.message}\n`);
        return 1;
      }
      throw err;
    } finally {
      db.close();
    }
  },
};
