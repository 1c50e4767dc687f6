// `gatehouse check-config --config FILE`: validate a config file and exit.
import { commandConfig, defineCommand } from './command.js';

export const command = defineCommand(
  {
    name: 'check-config',
    summary: 'validate a config file (errors name the key and the line)',
    usage: ['check-config --config FILE'],
    options: {},
    notes: 'Exit code 0 when the file is valid, 1 with the problems listed when it is not. Opens no database.',
  },
  async (values) => {
    const { source } = commandConfig(values);
    process.stdout.write(`${source.path}: ok\n`);
    return 0;
  },
);
