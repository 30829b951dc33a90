import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNats, type NatsFixture } from './nats';
import { repoRoot } from '@fedledger/local-stack';

export interface ServiceProcess {
  pid: number;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  /** Asks every running instance of the service for its health over NATS; resolves with the first answer. */
  health(): Promise<Record<string, unknown>>;
  /** Resolves once the service answers its health request (or rejects with its output after timeoutMs). */
  ready(timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGTERM, and the exit code once it exited (SIGKILL after graceMs). */
  stop(graceMs?: number): Promise<number | null>;
  /** Resolves with the exit code when the process exits on its own. */
  exited(): Promise<number | null>;
  /** Sends a signal, e.g. SIGKILL as a crash would. */
  kill(signal: NodeJS.Signals): void;
}

const running = new Set<ChildProcess>();
// Jest gives a test file its own `process` whose 'exit' never fires; the real one does.
const realProcess = (globalThis as { process: NodeJS.Process }).process;
realProcess.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Runs services/<name>/src/main.ts as its own process, the way `fedledger up` and the containers
 * do, with `env` added to this process's environment.
 */
export function spawnService(name: string, natsUrl: string, env: Record<string, string> = {}): ServiceProcess {
  const root = repoRoot();
  const child = spawn(process.execPath, ['-r', path.join(root, 'scripts/register.js'), path.join(root, 'services', name, 'src/main.ts')], {
    cwd: root,
    env: { ...process.env, NATS_URL: natsUrl, LOG_FORMAT: 'text', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    });
  });

  const health = async (): Promise<Record<string, unknown>> => {
    const nc = await connect({ servers: natsUrl });
    try {
      const reply = await nc.request(`fedledger.health.${name}`, '', { timeout: 1_000 });
      return reply.json<Record<string, unknown>>();
    } finally {
      await nc.close();
    }
  };

  return {
    pid: child.pid ?? -1,
    output: () => out,
    health,
    exited: () => exit,
    kill: (signal) => {
      child.kill(signal);
    },
    ready: async (timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      let exitCode: number | null | undefined;
      void exit.then((c) => (exitCode = c));
      for (;;) {
        if (exitCode !== undefined) throw new Error(`${name} exited with code ${exitCode} before it was ready:\n${out}`);
        try {
          return await health();
        } catch {
          if (Date.now() > deadline) throw new Error(`${name} did not answer its health request within ${timeoutMs} ms:\n${out}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
    stop: async (graceMs = 10_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const [code] = (await once(child, 'exit')) as [number | null];
      clearTimeout(timer);
      return code;
    },
  };
}

export interface ServiceStartupExpectations {
  /** Extra environment the service needs (e.g. CENTRE_ID). */
  env?: Record<string, string>;
  /** Whether it serves REST (and GET /health); NATS-only services open no port. */
  http: boolean;
  /** Streams it provisions at start-up (FL_DLQ too, unless it provisions none); `none` for a centre-agent, which may not. */
  streams: string[] | 'none';
}

/**
 * The start-up contract every service keeps, as one jest test: starts against a real nats-server,
 * answers health over NATS (and HTTP when it has a REST API), provisions its streams, and exits 0
 * on SIGTERM after saying it stopped.
 */
export function serviceStartupTest(name: string, expected: ServiceStartupExpectations): void {
  let nats: NatsFixture;
  beforeAll(async () => {
    nats = await startNats();
  });
  afterAll(async () => {
    await nats?.stop();
  });

  test(`${name} starts, connects to NATS, reports health, and stops cleanly on SIGTERM`, async () => {
    const service = spawnService(name, nats.url, { ...(expected.http ? { HTTP_PORT: '0' } : {}), ...expected.env });
    try {
      const health = await service.ready();
      expect(health).toMatchObject({ status: 'ok', service: name, pid: service.pid, nats: { connected: true } });
      if (expected.http) {
        const res = await fetch(`${String(health.http)}/health`);
        expect(res.status).toBe(200);
        expect(await res.json()).toMatchObject({ status: 'ok', pid: service.pid });
      } else {
        expect(health.http).toBeUndefined();
      }
      const nc = await connect({ servers: nats.url });
      const jsm = await jetstreamManager(nc);
      const names: string[] = [];
      for await (const s of jsm.streams.list()) names.push(s.config.name);
      await nc.close();
      expect(names.sort()).toEqual(expected.streams === 'none' ? [] : [...expected.streams, 'FL_DLQ'].sort());
    } finally {
      const code = await service.stop();
      expect(code).toBe(0);
      expect(service.output()).toContain('stopped');
    }
  });
}
