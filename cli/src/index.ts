export { run, usage } from './run';
export { COMMANDS, findCommand, type Command } from './commands';
export { CliError, UsageError } from './errors';
export { processIo, type Io } from './io';
