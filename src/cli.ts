#!/usr/bin/env node
// The command line: `gatehouse <command> [options]`. Each command lives in its
// own module under src/commands/ and is loaded only when it is used; they share
// one argument parser (commands/command.ts), so `--help` works at every level.
import type { Command } from './commands/command.js';
import { isErrorCode } from './errors.js';

const commands: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./commands/serve.js')).command,
  'check-config': async () => (await import('./commands/check-config.js')).command,
  check: async () => (await import('./commands/check.js')).command,
  user: async () => (await import('./commands/user.js')).command,
  log: async () => (await import('./commands/log.js')).command,
  backup: async () => (await import('./commands/backup.js')).command,
  identity: async () => (await import('./commands/identity.js')).command,
  device: async () => (await import('./commands/device.js')).command,
  policy: async () => (await import('./commands/policy.js')).command,
  change: async () => (await import('./commands/change.js')).command,
  report: async () => (await import('./commands/report.js')).command,
};

async function main(argv: string[]): Promise<number> {
  const name = argv[0];
  if (!name || name === '--help' || name === '-h' || (name === 'help' && argv.length === 1)) {
    const lines = await Promise.all(Object.entries(commands).map(async ([n, load]) => `  ${n.padEnd(12)} ${(await load()).summary}`));
    process.stdout.write(
      `usage: gatehouse <command> [options]\n\ncommands:\n${lines.join('\n')}\n\n` +
        'gatehouse <command> --help lists its options. Commands read the config file given by --config FILE,\n' +
        'else $GATEHOUSE_CONFIG, else /etc/gatehouse/gatehouse.yaml; those that open the database say which file.\n',
    );
    return name ? 0 : 2;
  }
  // `gatehouse help user add` is `gatehouse user add --help`.
  const [command, rest] = name === 'help' ? [argv[1], [...argv.slice(2), '--help']] : [name, argv.slice(1)];
  const load = Object.hasOwn(commands, command) ? commands[command] : undefined;
  if (!load) {
    process.stderr.write(`gatehouse: unknown command "${command}" (try: gatehouse --help)\n`);
    return 2;
  }
  return (await load()).run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    // A usage mistake, a missing or invalid config: their messages are written for the terminal.
    const code = (err as { code?: string } | null)?.code;
    if (code === 'GH_ERR_USAGE' || code === 'GH_ERR_NO_CONFIG' || code === 'GH_ERR_CONFIG') {
      process.stderr.write(`${(err as Error).message.replace(/^(?!gatehouse)/, 'gatehouse: ')}\n`);
      process.exitCode = code === 'GH_ERR_CONFIG' ? 1 : ((err as { exitCode?: number }).exitCode ?? 2);
      return;
    }
    const known = isErrorCode(code) ? ` (${code})` : '';
    process.stderr.write(`gatehouse: ${err instanceof Error ? err.message : String(err)}${known}\n`);
    process.exitCode = 1;
  },
);
