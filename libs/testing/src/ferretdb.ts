import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ferretComponent, forgetOnExit, freePorts, removeOnExit, startComponent } from '@fedledger/local-stack';
import { ensureToolsForTests } from './tools';

export interface FerretFixture {
  /** mongodb://127.0.0.1:<port>/ for the official mongodb driver */
  uri: string;
  port: number;
  /** SIGTERM (SIGKILL after 5 s) and delete the temp data directory. */
  stop(): Promise<void>;
}

/** A real FerretDB (SQLite backend) on free loopback ports with a temp data dir. */
export async function startFerret(): Promise<FerretFixture> {
  await ensureToolsForTests();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fedledger-ferretdb-'));
  removeOnExit(dir);
  const [port, debugPort] = await freePorts(2);
  const spec = ferretComponent({
    port,
    debugPort,
    dataDir: path.join(dir, 'data'),
    logFile: path.join(dir, 'ferretdb.log'),
  });
  const running = await startComponent(spec, 'attached').catch(async (err: unknown) => {
    await rm(dir, { recursive: true, force: true });
    forgetOnExit(dir);
    throw err;
  });
  let stopped = false;
  return {
    uri: spec.url,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      await running.stop(5000);
      await rm(dir, { recursive: true, force: true });
      forgetOnExit(dir);
    },
  };
}
