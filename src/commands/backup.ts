// `gatehouse backup FILE`: an online backup of the database while the service runs.
import { loadConfig } from '../config.js';
import { openDatabase } from '../store/db.js';
import { StoreError } from '../store/errors.js';
import { backupDatabase } from '../store/backup.js';
import { parseCommandArgs, type Command } from './command.js';

export const command: Command = {
  summary: 'online backup of the database to FILE (safe while the service runs)',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { db: { type: 'string' }, force: { type: 'boolean', default: false } });
    const file = positionals[0];
    if (!file || positionals.length > 1) {
      process.stderr.write('usage: gatehouse backup FILE [--force] [--config FILE | --db FILE]\n');
      return 2;
    }
    const path = values.db ?? loadConfig(values.config!).store.path;
    try {
      const db = openDatabase(path, { readonly: true });
      try {
        const r = await backupDatabase(db, file, { overwrite: values.force ?? false });
        process.stdout.write(`backed up ${path} to ${r.file} (${r.pages} pages, ${r.bytes} bytes)\n`);
      } finally {
        db.close();
      }
      return 0;
    } catch (err) {
      if (err instanceof StoreError) {
        process.stderr.write(`gatehouse backup: ${err.message}\n`);
        return 1;
      }
      throw err;
    }
  },
};
