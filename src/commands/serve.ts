// `gatehouse serve --config FILE`: run the service. SIGTERM/SIGINT drain and
// exit; SIGHUP reloads the config, keeping the old one if the new one is bad.
import { buildApp } from '../app.js';
import { loadConfig } from '../config.js';
import { commandConfig, defineCommand, sayDatabase } from './command.js';

export const command = defineCommand(
  {
    name: 'serve',
    summary: 'run the DNS filter (SIGHUP reloads the config, SIGTERM drains and stops)',
    usage: ['serve --config FILE'],
    options: {},
    notes: 'The admin UI, the block page and the DNS listeners are those of the config file.',
  },
  async (values) => {
    const { config, source } = commandConfig(values);
    const file = source.path;
    sayDatabase(config.store.path, source);
    const app = buildApp(config);
    // Signals are handled from the first moment: a SIGTERM or SIGHUP that
    // arrives while the service is still starting waits for the start to end.
    const starting = app.start();
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      app.logger.info({ signal }, 'stopping: draining in-flight queries');
      await starting.catch(() => undefined);
      await app.stop();
      app.logger.info('stopped');
      process.exit(0);
    };
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGHUP', () => {
      let next;
      try {
        next = loadConfig(file);
      } catch (err) {
        app.rejectConfig(file, err); // logged, on the dashboard, and an IT alert
        return;
      }
      starting
        .then(() => app.reload(next))
        .catch((err: unknown) => {
          app.logger.error({ err }, 'reload failed; the old configuration stays');
          app.rejectConfig(file, err);
        });
    });
    try {
      await starting;
    } catch (err) {
      // A port in use, a list that cannot load: say so and exit, rather than half-run.
      process.stderr.write(`gatehouse: could not start: ${err instanceof Error ? err.message : String(err)}\n`);
      await app.stop().catch(() => undefined);
      process.exit(1);
    }
    app.logger.info({ config: file, database: config.store.path }, 'gatehouse started');
    await new Promise(() => undefined); // run until a signal
    return 0;
  },
);
