import { parseStackCommand } from '../args';
import { displayPath, type Io } from '../io';
import { stackStatus } from '../stack/inspect';
import { DATA_DIR_OPTION_HELP, stackLayout } from '../stack/layout';
import { renderStatus } from '../stack/render';
import { readState } from '../stack/state';
import type { Command } from './command';

const help = `Usage: fedledger status [--data-dir <dir>] [--json]

Shows each component of the local stack: running (its pid is alive and its port answers) or
stopped, with pid, url and log file. Exit code 0 when everything runs, 1 otherwise.

Options:
  ${DATA_DIR_OPTION_HELP}
  --json             Machine-readable output`;

export const statusCommand: Command = {
  name: 'status',
  summary: 'show whether the local stack runs (exit 0 only when all of it does)',
  help,
  async run(args: string[], io: Io): Promise<number> {
    const values = parseStackCommand('status', args, { json: { type: 'boolean' } });
    if (values.help === true) {
      io.out(help);
      return 2;
    }
    const layout = stackLayout(values['data-dir'], io.cwd);
    const state = readState(layout.stateFile);
    const status = await stackStatus(layout, state);
    if (values.json === true) {
      io.out(JSON.stringify(status, null, 2));
    } else {
      const where = displayPath(layout.dataDir, io.cwd);
      if (state === undefined) io.out(`the local stack is not running (no ${displayPath(layout.stateFile, io.cwd)})`);
      else io.out(status.running ? `the local stack is running (data in ${where})` : `the local stack is not fully running (data in ${where})`);
      io.out(renderStatus(status, io.cwd));
    }
    return status.running ? 0 : 1;
  },
};
