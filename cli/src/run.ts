import { LocalStackError, errorMessage } from '@fedledger/local-stack';
import { COMMANDS, findCommand } from './commands';
import { CliError, UsageError } from './errors';
import { table, type Io } from './io';

export function usage(): string {
  return [
    'Usage: fedledger <command> [options]',
    '',
    'Commands:',
    table(COMMANDS.map((c) => [c.name, c.summary])),
    '',
    'Run `fedledger <command> --help` for its options.',
  ].join('\n');
}

/** Runs one command line (without `node fedledger`) and returns the exit code. Never throws. */
export async function run(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const command = name === 'help' && rest[0] !== undefined ? findCommand(rest[0]) : undefined;
    io.out(command !== undefined ? command.help : usage());
    return 2;
  }
  const command = findCommand(name);
  if (command === undefined) {
    io.err(`fedledger: unknown command '${name}'`);
    io.err(usage());
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`fedledger ${err.command ?? command.name}: ${err.message} (see \`fedledger ${command.name} --help\`)`);
      return err.exitCode;
    }
    if (err instanceof CliError) {
      io.err(`fedledger ${command.name}: ${err.message}`);
      return err.exitCode;
    }
    if (err instanceof LocalStackError) {
      io.err(`fedledger ${command.name}: ${err.message}`);
      return 1;
    }
    // Unexpected: still one line; the stack only on request.
    io.err(`fedledger ${command.name}: ${errorMessage(err)}`);
    if (process.env.FEDLEDGER_DEBUG && err instanceof Error && err.stack) io.err(err.stack);
    return 1;
  }
}
