import type { Io } from '../io';

/** One `fedledger <name>` subcommand. Handlers live in their own files under commands/. */
export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Full help: usage line and options. */
  help: string;
  /** Returns the exit code; throws CliError / UsageError for expected failures. */
  run(args: string[], io: Io): Promise<number>;
}
