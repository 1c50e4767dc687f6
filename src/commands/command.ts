// What every `gatehouse <command>` module exports, and the option parsing they share.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export interface Command {
  summary: string;
  /** Returns the process exit code. */
  run(argv: string[]): Promise<number>;
}

/** Every command takes --config FILE (default: the example config). */
export function parseCommandArgs<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { config: { type: 'string', short: 'c', default: 'config/gatehouse.example.yaml' }, ...options },
  });
}
