// `gatehouse check-config --config FILE`: validate a config file and exit.
import { loadConfig, ConfigError } from '../config.js';
import { parseCommandArgs, type Command } from './command.js';

export const command: Command = {
  summary: 'validate a config file (errors name the key and the line)',
  async run(argv) {
    const { values } = parseCommandArgs(argv, {});
    try {
      loadConfig(values.config!);
      process.stdout.write(`${values.config}: ok\n`);
      return 0;
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(err.message + '\n');
        return 1;
      }
      throw err;
    }
  },
};
