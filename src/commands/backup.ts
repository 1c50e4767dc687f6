// `gatehouse backup FILE`: an online backup of the database while the service runs.
import { openDatabase } from '../store/db.js';
import { StoreError } from '../store/errors.js';
import { backupDatabase } from '../store/backup.js';
import { CommandError, commandDatabase, defineCommand } from './command.js';

export const command = defineCommand(
  {
    name: 'backup',
    summary: 'online backup of the database to FILE (safe while the service runs)',
    usage: ['backup --config FILE BACKUP.db [--force]', 'backup --db DATABASE BACKUP.db [--force]'],
    options: {
      db: { type: 'string', value: 'DATABASE', help: 'back up this database file instead of the config’s store.path' },
      force: { type: 'boolean', help: 'overwrite BACKUP.db if it exists' },
    },
    notes: 'Restoring: docs/operations.md, "Restoring the database from a backup".',
  },
  async (values, positionals) => {
    const file = positionals[0];
    if (!file || positionals.length > 1)
      throw new CommandError('GH_ERR_USAGE', 'gatehouse backup: name one backup file (see gatehouse backup --help)');
    const path = commandDatabase(values);
    try {
      const db = openDatabase(path, { readonly: true });
      try {
        const r = await backupDatabase(db, file, { overwrite: values.force === true });
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
);
