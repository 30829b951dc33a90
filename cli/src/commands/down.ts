import { existsSync } from 'node:fs';
import path from 'node:path';
import { formatSeconds, stopFabricNetwork, stopPid } from '@fedledger/local-stack';
import { fabricConnectionFile } from '../ledger-mode';
import { parseStackCommand } from '../args';
import { displayPath, type Io } from '../io';
import { recordedPidAlive } from '../stack/inspect';
import { DATA_DIR_OPTION_HELP, stackLayout } from '../stack/layout';
import { readState, removeState, type ComponentState } from '../stack/state';
import type { Command } from './command';

/** SIGTERM, then SIGKILL after this long. */
const GRACE_MS = 10_000;

const help = `Usage: fedledger down [--data-dir <dir>]

Stops the processes recorded in <data-dir>/stack.json (only those, by pid): SIGTERM, then
SIGKILL after ${formatSeconds(GRACE_MS)}. Removes the state file; data and logs stay.

Options:
  ${DATA_DIR_OPTION_HELP}`;

async function stopComponent(c: ComponentState): Promise<string> {
  if (!recordedPidAlive(c)) return `${c.name} (pid ${c.pid}) was not running`;
  const result = await stopPid(c.pid, GRACE_MS);
  if (!result.wasRunning) return `${c.name} (pid ${c.pid}) was not running`;
  return result.killed
    ? `stopped ${c.name} (pid ${c.pid}) with SIGKILL: it ignored SIGTERM for ${formatSeconds(GRACE_MS)}`
    : `stopped ${c.name} (pid ${c.pid})`;
}

export const downCommand: Command = {
  name: 'down',
  summary: 'stop the local stack started by `up` (data is kept)',
  help,
  async run(args: string[], io: Io): Promise<number> {
    const values = parseStackCommand('down', args, {});
    if (values.help === true) {
      io.out(help);
      return 2;
    }
    const layout = stackLayout(values['data-dir'], io.cwd);
    const state = readState(layout.stateFile);
    const fabric = existsSync(fabricConnectionFile(layout.dataDir));
    if (state === undefined && !fabric) {
      io.out(`nothing to stop: no ${displayPath(layout.stateFile, io.cwd)}`);
      return 0;
    }
    if (state) {
      // All at once, reported in reverse start order.
      const lines = await Promise.all([...state.components].reverse().map(stopComponent));
      for (const line of lines) io.out(line);
    }
    if (fabric) {
      await stopFabricNetwork(path.dirname(fabricConnectionFile(layout.dataDir)));
      io.out('stopped the Fabric network (orderer, peers, chaincode server)');
    }
    if (state) removeState(layout.stateFile);
    io.out(`removed ${displayPath(layout.stateFile, io.cwd)}; data and logs stay in ${displayPath(layout.dataDir, io.cwd)}`);
    return 0;
  },
};
