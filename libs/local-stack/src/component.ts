import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { LocalStackError, errorMessage } from './errors';
import { formatSeconds, httpStatus, sleep, tcpAnswers } from './net';
import { registerAttached, signal, unregisterAttached } from './proc';

/** How to tell that a started component is ready to serve. */
export type ReadinessCheck =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'http'; url: string; /** default 200 */ status?: number }
  /** A line of the component's log contains this text (for processes that open no port). */
  | { kind: 'log'; file: string; contains: string };

/**
 * One process of the local stack: what to run, where it listens and how to know it is ready.
 * Plain data, so the CLI can record it and later issues can add the Fedledger services.
 */
export interface ComponentSpec {
  /** Stable short name: "nats", "ferretdb", later "round-coordinator", ... */
  name: string;
  /** Absolute path of the executable (argv[0]; also how a recorded pid is recognised). */
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Named ports it listens on (all on 127.0.0.1); `main` is the one clients use. */
  ports: { main: number } & Record<string, number>;
  /** What clients connect to: nats://127.0.0.1:4222, mongodb://127.0.0.1:27017/ */
  url: string;
  /** Other useful endpoints (monitoring), by name. */
  endpoints?: Record<string, string>;
  /** stdout and stderr go here (appended). */
  logFile: string;
  /** All must pass, in order. */
  readiness: ReadinessCheck[];
  /** Directories to create and files to write before starting (data dirs, config files). */
  dirs?: string[];
  files?: { path: string; content: string }[];
  /** Readiness timeout; default 30 s. */
  readyTimeoutMs?: number;
}

export type RunMode =
  /** A child of this process, SIGKILLed when this process exits (test fixtures). */
  | 'attached'
  /** Own session, survives this process (CLI `up`). */
  | 'detached';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningComponent {
  readonly spec: ComponentSpec;
  readonly pid: number;
  readonly mode: RunMode;
  /** Set once the process has exited (only observable while this process is its parent). */
  readonly exit: ExitInfo | undefined;
  /** Resolves when the process exits. */
  readonly exited: Promise<ExitInfo>;
  /** SIGTERM, wait up to graceMs (default 5 s), then SIGKILL; resolves once it is gone. */
  stop(graceMs?: number): Promise<ExitInfo>;
  /** SIGKILL and wait until it is gone. */
  kill(): Promise<ExitInfo>;
}

function describeExit(exit: ExitInfo): string {
  return exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

/** The last non-empty line of a log file (why a process died), or '' when unreadable. */
export function lastLogLine(logFile: string): string {
  try {
    const lines = readFileSync(logFile, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('--- fedledger:'));
    return lines.length > 0 ? lines[lines.length - 1] : '';
  } catch {
    return '';
  }
}

function prepare(spec: ComponentSpec): void {
  for (const dir of spec.dirs ?? []) mkdirSync(dir, { recursive: true });
  for (const file of spec.files ?? []) {
    mkdirSync(path.dirname(file.path), { recursive: true });
    writeFileSync(file.path, file.content);
  }
  mkdirSync(path.dirname(spec.logFile), { recursive: true });
}

/** Starts the process without waiting for readiness. Output is appended to spec.logFile. */
export async function spawnComponent(spec: ComponentSpec, mode: RunMode): Promise<RunningComponent> {
  try {
    prepare(spec);
  } catch (err) {
    throw new LocalStackError(`cannot prepare ${spec.name}: ${errorMessage(err)}`, { cause: err });
  }
  const fd = openSync(spec.logFile, 'a');
  let child: ChildProcess;
  try {
    writeSync(fd, `--- fedledger: starting ${spec.name} at ${new Date().toISOString()}: ${[spec.command, ...spec.args].join(' ')}\n`);
    child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', fd, fd],
      detached: mode === 'detached',
    });
  } finally {
    closeSync(fd);
  }
  let exit: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, sig) => {
      exit = { code, signal: sig };
      if (child.pid !== undefined) unregisterAttached(child.pid);
      resolve(exit);
    });
  });
  const pid = await new Promise<number>((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid ?? -1));
    child.once('error', (err) => reject(new LocalStackError(`cannot start ${spec.name} (${spec.command}): ${err.message}`, { cause: err })));
  });
  // Neither mode keeps this process's event loop alive; attached ones are killed on exit.
  child.unref();
  if (mode === 'attached') registerAttached(pid);

  const waitExit = async (ms: number): Promise<boolean> => {
    if (exit !== undefined) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    const done = await Promise.race([exited.then(() => true), timeout]);
    clearTimeout(timer);
    return done;
  };

  const kill = async (): Promise<ExitInfo> => {
    if (exit === undefined) signal(pid, 'SIGKILL');
    if (!(await waitExit(10_000))) {
      throw new LocalStackError(`${spec.name} (pid ${pid}) did not exit after SIGKILL`);
    }
    return exited;
  };

  return {
    spec,
    pid,
    mode,
    get exit() {
      return exit;
    },
    exited,
    async stop(graceMs = 5000) {
      if (exit !== undefined) return exit;
      signal(pid, 'SIGTERM');
      if (await waitExit(graceMs)) return exited;
      return kill();
    },
    kill,
  };
}

/** Whether one readiness check passes right now. */
export async function checkReadiness(check: ReadinessCheck): Promise<boolean> {
  if (check.kind === 'tcp') return tcpAnswers(check.host, check.port, 500);
  if (check.kind === 'log') {
    try {
      // Only what this run wrote: each start appends a '--- fedledger:' marker line first.
      const log = readFileSync(check.file, 'utf8');
      return log.slice(log.lastIndexOf('--- fedledger:')).includes(check.contains);
    } catch {
      return false;
    }
  }
  return (await httpStatus(check.url, 1000)) === (check.status ?? 200);
}

export function describeCheck(check: ReadinessCheck): string {
  if (check.kind === 'tcp') return `accept TCP connections on ${check.host}:${check.port}`;
  if (check.kind === 'log') return `log '${check.contains}' in ${check.file}`;
  return `answer ${check.status ?? 200} on GET ${check.url}`;
}

/**
 * Waits until every readiness check passes. Fails early, with the log's last line, when the
 * process exits first; on timeout names the process, the check and the log file.
 */
export async function waitForReady(running: RunningComponent, timeoutMs?: number): Promise<void> {
  const { spec } = running;
  const total = timeoutMs ?? spec.readyTimeoutMs ?? 30_000;
  const deadline = Date.now() + total;
  const what = `${spec.name} (pid ${running.pid})`;
  for (const check of spec.readiness) {
    for (;;) {
      const exit = running.exit;
      if (exit !== undefined) {
        const why = lastLogLine(spec.logFile);
        throw new LocalStackError(
          `${what} ${describeExit(exit)} before it was ready${why !== '' ? `: ${why}` : ''} (log: ${spec.logFile})`,
        );
      }
      if (await checkReadiness(check)) break;
      if (Date.now() >= deadline) {
        throw new LocalStackError(
          `timed out after ${formatSeconds(total)} waiting for ${what} to ${describeCheck(check)} (log: ${spec.logFile})`,
        );
      }
      await sleep(100);
    }
  }
}

/** Spawns and waits for readiness; on failure the process is stopped before the error is thrown. */
export async function startComponent(
  spec: ComponentSpec,
  mode: RunMode,
  opts: { readyTimeoutMs?: number } = {},
): Promise<RunningComponent> {
  const running = await spawnComponent(spec, mode);
  try {
    await waitForReady(running, opts.readyTimeoutMs);
  } catch (err) {
    await running.stop(2000).catch(() => undefined);
    throw err;
  }
  return running;
}
