import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors';

/**
 * Runs a node:util parseArgs call (strict) and turns its errors into one-line usage errors.
 * Each command keeps its own literal options so the parsed values stay precisely typed.
 */
export function parseCommandArgs<R>(command: string, parse: () => R): R {
  try {
    return parse();
  } catch (err) {
    const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new UsageError(message.replace(/\. To specify a positional argument.*$/, ''), command);
  }
}

/** A TCP port given on the command line: an integer 1-65535. */
export function parsePort(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) {
    throw new UsageError(`${flag} must be a port number between 1 and 65535, got '${value}'`);
  }
  return port;
}

const COMMON_OPTIONS = {
  'data-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

/** Parses a stack command's flags: `--data-dir` and `--help` plus the command's own, strictly, no positionals. */
export function parseStackCommand<T extends NonNullable<ParseArgsConfig['options']>>(command: string, args: string[], options: T) {
  return parseCommandArgs(command, () =>
    parseArgs({ args, strict: true, allowPositionals: false, options: { ...COMMON_OPTIONS, ...options } }),
  ).values;
}
