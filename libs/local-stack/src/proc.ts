import { readFileSync, rmSync } from 'node:fs';
import vm from 'node:vm';
import { errnoCode } from './errors';
import { sleep } from './net';

/**
 * The real Node process object. Inside a jest sandbox the global `process` is a copy whose
 * 'exit' event never fires; the host's is the one that exits.
 */
export function hostProcess(): NodeJS.Process {
  return vm.runInThisContext('process') as NodeJS.Process;
}

/** /proc/<pid>/stat state letter (Linux), undefined when unavailable. */
function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).charAt(0);
  } catch {
    return undefined;
  }
}

/** True when a process with this pid exists and is not a zombie waiting to be reaped. */
export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if (errnoCode(err) !== 'EPERM') return false;
  }
  const state = procState(pid);
  return state !== 'Z' && state !== 'X';
}

/**
 * Whether the live process `pid` still runs `command` (its argv[0]), so a recorded pid that the
 * OS has since reused for another program is never signalled. Where /proc is unavailable
 * (not Linux) this cannot be checked and the answer is true.
 */
export function pidRunsCommand(pid: number, command: string): boolean {
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch (err) {
    return errnoCode(err) !== 'ENOENT' || !isLinux();
  }
  return cmdline.split('\0')[0] === command;
}

function isLinux(): boolean {
  return process.platform === 'linux';
}

export interface StopResult {
  /** Whether SIGTERM was not enough and SIGKILL was sent. */
  killed: boolean;
  /** Whether the process was already gone before any signal. */
  wasRunning: boolean;
}

/**
 * Stops a process we started, by pid (never by name): SIGTERM, wait up to graceMs, then SIGKILL
 * and wait for it to go. Works for processes that are not our children (a CLI `down`).
 */
export async function stopPid(pid: number, graceMs: number): Promise<StopResult> {
  if (!isPidAlive(pid)) return { killed: false, wasRunning: false };
  if (!signal(pid, 'SIGTERM')) return { killed: false, wasRunning: false };
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await sleep(50);
    if (!isPidAlive(pid)) return { killed: false, wasRunning: true };
  }
  signal(pid, 'SIGKILL');
  const killDeadline = Date.now() + 5000;
  while (isPidAlive(pid) && Date.now() < killDeadline) await sleep(50);
  return { killed: true, wasRunning: true };
}

/** Sends a signal; false when the process no longer exists. */
export function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ESRCH') return false;
    throw err;
  }
}

const REGISTRY = Symbol.for('@fedledger/local-stack/exit-cleanup');
interface ExitCleanup {
  pids: Set<number>;
  dirs: Set<string>;
}
type HostWithRegistry = NodeJS.Process & { [REGISTRY]?: ExitCleanup };

/**
 * One 'exit' hook per host process, shared by every copy of this module (jest loads a fresh copy
 * per test file): SIGKILLs the attached processes nobody stopped, then removes their temp dirs.
 * Everything it calls is captured up front; at exit the module registry may be gone.
 */
function exitCleanup(): ExitCleanup {
  const host = hostProcess() as HostWithRegistry;
  const existing = host[REGISTRY];
  if (existing !== undefined) return existing;
  const cleanup: ExitCleanup = { pids: new Set(), dirs: new Set() };
  host[REGISTRY] = cleanup;
  const kill = host.kill.bind(host);
  const remove = rmSync;
  host.on('exit', () => {
    for (const pid of cleanup.pids) {
      try {
        kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const dir of cleanup.dirs) {
      try {
        remove(dir, { recursive: true, force: true });
      } catch {
        // best effort
      }
    }
  });
  return cleanup;
}

/** Attached processes die with the process that started them (SIGKILL from the exit hook). */
export function registerAttached(pid: number): void {
  exitCleanup().pids.add(pid);
}

export function unregisterAttached(pid: number): void {
  exitCleanup().pids.delete(pid);
}

/** Deletes a temp directory from the exit hook unless forgetOnExit() is called first. */
export function removeOnExit(dir: string): void {
  exitCleanup().dirs.add(dir);
}

export function forgetOnExit(dir: string): void {
  exitCleanup().dirs.delete(dir);
}
