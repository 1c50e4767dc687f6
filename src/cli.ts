#!/usr/bin/env node
// The command line: `gatehouse <command> [options]`. Each command lives in its
// own module under src/commands/ and is loaded only when it is used.
import type { Command } from './commands/command.js';

const commands: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./commands/serve.js')).command,
  'check-config': async () => (await import('./commands/check-config.js')).command,
  check: async () => (await import('./commands/check.js')).command,
  user: async () => (await import('./commands/user.js')).command,
  log: async () => (await import('./commands/log.js')).command,
  backup: async () => (await import('./commands/backup.js')).command,
};

async function main(argv: string[]): Promise<number> {
  const name = argv[0];
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    const lines = await Promise.all(Object.entries(commands).map(async ([n, load]) => `  ${n.padEnd(12)} ${(await load()).summary}`));
    process.stdout.write(`usage: gatehouse <command> [options]\n\ncommands:\n${lines.join('\n')}\n`);
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`gatehouse: unknown command "${name}" (try: gatehouse --help)\n`);
    return 2;
  }
  return (await load()).run(argv.slice(1));
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`gatehouse: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
