// What every `gatehouse <command>` module exports, and the one argument parser
// they share (node:util parseArgs underneath): `--help` at every level lists the
// usage and every option; a wrong option gets a plain message and exit code 2,
// never a raw Node error; and the config file (so the database) a command uses
// is found one way for all of them and named on standard error.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../config.js';

export interface Command {
  summary: string;
  /** Returns the process exit code. */
  run(argv: string[]): Promise<number>;
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** The value's placeholder in the help, e.g. FILE. */
  value?: string;
  help: string;
}

export interface CommandSpec {
  /** As typed after `gatehouse`, e.g. "user add". */
  name: string;
  summary: string;
  /** Usage lines, each after "gatehouse ". */
  usage: string[];
  options: Record<string, OptionSpec>;
  /** Takes --config (default true). */
  config?: boolean;
  /** More help after the options. */
  notes?: string;
}

/** A command line that cannot be run as given: the message is for the person at the terminal. */
export class CommandError extends Error {
  constructor(
    readonly code: 'GH_ERR_USAGE' | 'GH_ERR_NO_CONFIG',
    message: string,
    /** The exit code: 2 for a usage mistake. */
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

/** The config file of an installed Gatehouse (deploy/install.sh puts it there). */
export const DEFAULT_CONFIG = '/etc/gatehouse/gatehouse.yaml';

const CONFIG_OPTION: OptionSpec = {
  type: 'string',
  short: 'c',
  value: 'FILE',
  help: `the config file; its store.path is the database (default: $GATEHOUSE_CONFIG, else ${DEFAULT_CONFIG} if it exists)`,
};
const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', help: 'show this help' };

function allOptions(spec: CommandSpec): Record<string, OptionSpec> {
  return { ...spec.options, ...(spec.config === false ? {} : { config: CONFIG_OPTION }), help: HELP_OPTION };
}

/** A usage line as printed: "gatehouse …", or a continuation (it starts with spaces) lined up under it. */
const usageLine = (u: string) => (u.startsWith(' ') ? ' '.repeat('gatehouse '.length) + u : `gatehouse ${u}`);

export function helpText(spec: CommandSpec): string {
  const rows = Object.entries(allOptions(spec)).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` ${o.value}` : ''}`;
    return `  ${flag.padEnd(26)} ${o.help}${o.multiple ? ' (may be repeated)' : ''}`;
  });
  return (
    spec.usage.map((u, i) => `${i === 0 ? 'usage: ' : '       '}${usageLine(u)}`).join('\n') +
    `\n\n${spec.summary}\n\noptions:\n${rows.join('\n')}\n` +
    (spec.notes ? `\n${spec.notes.trim()}\n` : '')
  );
}

export function wantsHelp(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/** Node's parseArgs message, said plainly. */
function usageProblem(err: Error & { code?: string }): string {
  const option = /'(-[^' ]*)/.exec(err.message)?.[1];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return err.message.includes('argument missing') ? `${option} needs a value` : `${option} takes no value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${/'([^']*)'/.exec(err.message)?.[1] ?? ''}`.trim();
    default:
      return err.message;
  }
}

type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;
export type Parsed = { help: true } | { help: false; values: Values; positionals: string[] };

/** Parse the arguments of one command; `--help` anywhere asks for its help. Throws CommandError. */
export function parseCommand(spec: CommandSpec, argv: string[]): Parsed {
  if (wantsHelp(argv)) return { help: true };
  const options = Object.fromEntries(
    Object.entries(allOptions(spec)).map(([name, o]) => [
      name,
      { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) },
    ]),
  );
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { help: false, values: values as Values, positionals };
  } catch (err) {
    if (!(err instanceof Error) || !(err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) throw err;
    throw new CommandError('GH_ERR_USAGE', `gatehouse ${spec.name}: ${usageProblem(err)} (see gatehouse ${spec.name} --help)`);
  }
}

/**
 * Run one command: its help on --help (exit 0), otherwise `run` with the parsed
 * arguments. A usage mistake is a CommandError, printed by cli.ts.
 */
export function defineCommand(spec: CommandSpec, run: (values: Values, positionals: string[]) => Promise<number>): Command {
  return {
    summary: spec.summary,
    async run(argv) {
      const parsed = parseCommand(spec, argv);
      if (parsed.help) {
        process.stdout.write(helpText(spec));
        return 0;
      }
      return run(parsed.values, parsed.positionals);
    },
  };
}

/**
 * A command with subcommands (`gatehouse user add …`): the first word that is
 * not an option picks the subcommand; `gatehouse user --help` lists them.
 */
export function defineGroup(
  group: { name: string; summary: string; notes?: string },
  subcommands: Record<string, { spec: CommandSpec; run: (values: Values, positionals: string[]) => Promise<number> }>,
): Command {
  const specs = Object.values(subcommands).map((s) => s.spec);
  // Options that take a value, in any subcommand: their value is not the subcommand's name.
  const valued = new Set(
    specs.flatMap((s) =>
      Object.entries(allOptions(s)).flatMap(([n, o]) => (o.type === 'string' ? [`--${n}`, ...(o.short ? [`-${o.short}`] : [])] : [])),
    ),
  );
  const groupHelp = () =>
    `usage:\n${specs.flatMap((s) => s.usage.map((u) => `  ${usageLine(u)}`)).join('\n')}\n\n${group.summary}\n\nsubcommands:\n` +
    Object.entries(subcommands)
      .map(([name, s]) => `  ${name.padEnd(12)} ${s.spec.summary}`)
      .join('\n') +
    `\n\nEach has --help for its options, e.g. gatehouse ${specs[0].name} --help.\n` +
    (group.notes ? `\n${group.notes.trim()}\n` : '');
  return {
    summary: group.summary,
    async run(argv) {
      let at = -1;
      for (let i = 0; i < argv.length; i++) {
        if (argv[i] === '--') break;
        if (!argv[i].startsWith('-')) {
          at = i;
          break;
        }
        if (valued.has(argv[i])) i++;
      }
      const name = at < 0 ? undefined : argv[at];
      if (name === undefined || name === 'help') {
        if (name === 'help' || wantsHelp(argv)) {
          process.stdout.write(groupHelp());
          return 0;
        }
        throw new CommandError('GH_ERR_USAGE', `gatehouse ${group.name}: say what to do\n${groupHelp()}`);
      }
      const sub = Object.hasOwn(subcommands, name) ? subcommands[name] : undefined;
      if (!sub)
        throw new CommandError(
          'GH_ERR_USAGE',
          `gatehouse ${group.name}: unknown subcommand "${name}" (one of: ${Object.keys(subcommands).join(', ')}; see gatehouse ${group.name} --help)`,
        );
      return defineCommand(sub.spec, sub.run).run([...argv.slice(0, at), ...argv.slice(at + 1)]);
    },
  };
}

/** Where a command's config file comes from. */
export interface ConfigSource {
  path: string;
  /** For the "using" line: "--config FILE", "$GATEHOUSE_CONFIG", "the default …". */
  how: string;
}

/**
 * --config FILE, else $GATEHOUSE_CONFIG, else DEFAULT_CONFIG when it exists.
 * Never a file in the working directory: that is how an account once went into
 * another database without a word.
 */
export function findConfig(
  given: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  exists: (path: string) => boolean = existsSync,
): ConfigSource {
  if (given) return { path: given, how: '--config' };
  if (env.GATEHOUSE_CONFIG) return { path: env.GATEHOUSE_CONFIG, how: '$GATEHOUSE_CONFIG' };
  if (exists(DEFAULT_CONFIG)) return { path: DEFAULT_CONFIG, how: 'the default config' };
  throw new CommandError(
    'GH_ERR_NO_CONFIG',
    `no config file given, and ${DEFAULT_CONFIG} (the installed default) does not exist: ` +
      'name one with --config FILE (in a checkout: --config config/gatehouse.example.yaml)',
  );
}

/** Load the command's config; a ConfigError (the key and line) is printed by cli.ts. */
export function commandConfig(values: Values): { config: Config; source: ConfigSource } {
  const source = findConfig(values.config as string | undefined);
  return { config: loadConfig(source.path), source };
}

/** The line every command that opens the database prints first (standard error, so output stays clean). */
export function sayDatabase(path: string, from: ConfigSource | '--db'): void {
  const origin = from === '--db' ? 'from --db' : `store.path in ${from.path}, ${from.how === '--config' ? 'from --config' : from.how}`;
  process.stderr.write(`using database ${path} (${origin})\n`);
}

/** The database a command opens: --db FILE, or store.path of its config. */
export function commandDatabase(values: Values): string {
  if (typeof values.db === 'string') {
    sayDatabase(values.db, '--db');
    return values.db;
  }
  const { config, source } = commandConfig(values);
  sayDatabase(config.store.path, source);
  return config.store.path;
}
