import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePorts, natsComponent, forgetOnExit, removeOnExit, startComponent, type RunningComponent } from '@fedledger/local-stack';
import { ensureToolsForTests } from './tools';

export interface NatsFixture {
  /** nats://127.0.0.1:<port> */
  url: string;
  port: number;
  /** JetStream store directory (temporary; deleted by stop()). */
  storeDir: string;
  /** SIGTERM (SIGKILL after 5 s) and delete the temp directory. */
  stop(): Promise<void>;
  /** Stop gracefully, then start again on the same port with the same store dir. Also revives after kill(). */
  restart(): Promise<void>;
  /** SIGKILL, as a crash would; restart() brings it back. */
  kill(): Promise<void>;
}

const STOP_GRACE_MS = 5000;

/** A real nats-server with JetStream (file storage) on free loopback ports and a temp store dir. */
export async function startNats(opts: { maxPayload?: number } = {}): Promise<NatsFixture> {
  await ensureToolsForTests();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fedledger-nats-'));
  removeOnExit(dir);
  const [port, monitorPort] = await freePorts(2);
  const storeDir = path.join(dir, 'store');
  const spec = natsComponent({
    port,
    monitorPort,
    storeDir,
    configFile: path.join(dir, 'nats-server.conf'),
    logFile: path.join(dir, 'nats-server.log'),
    maxPayload: opts.maxPayload,
  });

  let current: RunningComponent | undefined;
  try {
    current = await startComponent(spec, 'attached');
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    forgetOnExit(dir);
    throw err;
  }
  let stopped = false;

  const halt = async (how: 'stop' | 'kill'): Promise<void> => {
    const running = current;
    current = undefined;
    if (running === undefined) return;
    if (how === 'stop') await running.stop(STOP_GRACE_MS);
    else await running.kill();
  };

  return {
    url: spec.url,
    port,
    storeDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await halt('stop');
      await rm(dir, { recursive: true, force: true });
      forgetOnExit(dir);
    },
    async restart() {
      if (stopped) throw new Error(`nats fixture on port ${port} was stopped; start a new one`);
      await halt('stop');
      current = await startComponent(spec, 'attached');
    },
    async kill() {
      await halt('kill');
    },
  };
}
