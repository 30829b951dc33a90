import path from 'node:path';
import { repoRoot } from '@fedledger/local-stack';

/** Where `fedledger up` keeps everything for one local stack. */
export interface StackLayout {
  dataDir: string;
  /** <data-dir>/stack.json: what runs (pids, ports, urls). */
  stateFile: string;
  logsDir: string;
}

/** --data-dir relative to the current directory; default <repo>/.data. */
export function stackLayout(dataDirFlag: string | undefined, cwd: string): StackLayout {
  const dataDir = dataDirFlag !== undefined ? path.resolve(cwd, dataDirFlag) : path.join(repoRoot(), '.data');
  return {
    dataDir,
    stateFile: path.join(dataDir, 'stack.json'),
    logsDir: path.join(dataDir, 'logs'),
  };
}

export function logFileOf(layout: StackLayout, component: string): string {
  return path.join(layout.logsDir, `${component}.log`);
}

export const DATA_DIR_OPTION_HELP = `--data-dir <dir>   Stack data, logs and state (default: .data in the repository root)`;
