import http from 'node:http';
import net from 'node:net';
import { LocalStackError, errnoCode } from './errors';

/** Every server of the local stack listens here, never on a public interface. */
export const LOOPBACK = '127.0.0.1';

/** A port that was free on 127.0.0.1 a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new LocalStackError('the OS gave no free port'))));
    });
  });
}

/** `count` distinct free ports. */
export async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** True when nothing listens on 127.0.0.1:<port> (we could bind it). */
export function isPortFree(port: number, host: string = LOOPBACK): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (err) => {
      const code = errnoCode(err);
      if (code === 'EADDRINUSE' || code === 'EACCES') resolve(false);
      else reject(err);
    });
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** True when a TCP connection to host:port is accepted within timeoutMs. */
export function tcpAnswers(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The HTTP status of a GET, or undefined when there is no answer within timeoutMs. */
export function httpStatus(url: string, timeoutMs = 1000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(undefined));
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface WaitOptions {
  timeoutMs?: number;
  /** The process being waited for, for the error message: "nats-server", "ferretdb (pid 123)". */
  what: string;
  /** Its log file, named in the timeout error. */
  logFile?: string;
  /** Polled between attempts; a returned message aborts the wait with that error (e.g. "exited with code 1"). */
  abort?: () => string | undefined;
  intervalMs?: number;
}

/**
 * Polls `probe` until it returns true. On timeout throws a LocalStackError:
 * "timed out after 20s waiting for <what> to <goal> (log: <file>)".
 */
export async function waitUntil(goal: string, probe: () => Promise<boolean>, opts: WaitOptions): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  const logHint = opts.logFile !== undefined ? ` (log: ${opts.logFile})` : '';
  for (;;) {
    const aborted = opts.abort?.();
    if (aborted !== undefined) throw new LocalStackError(`${opts.what} ${aborted}${logHint}`);
    if (await probe()) return;
    if (Date.now() >= deadline) {
      throw new LocalStackError(`timed out after ${formatSeconds(timeoutMs)} waiting for ${opts.what} to ${goal}${logHint}`);
    }
    await sleep(opts.intervalMs ?? 100);
  }
}

/** Waits until host:port accepts TCP connections. */
export function waitForTcp(host: string, port: number, opts: WaitOptions): Promise<void> {
  return waitUntil(`accept TCP connections on ${host}:${port}`, () => tcpAnswers(host, port, 500), opts);
}

export function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)}s`;
}
