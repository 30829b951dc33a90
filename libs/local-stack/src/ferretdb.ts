import type { ComponentSpec } from './component';
import { LOOPBACK } from './net';
import { toolPath } from './paths';

export const DEFAULT_MONGO_PORT = 27017;
export const DEFAULT_FERRETDB_DEBUG_PORT = 8088;

export interface FerretOptions {
  /** Component name; default "ferretdb". */
  name?: string;
  /** MongoDB wire protocol port. */
  port: number;
  /** HTTP debug endpoint (/debug/readyz, /debug/metrics). */
  debugPort: number;
  /** SQLite databases (one file per database) and FerretDB's state.json live here. */
  dataDir: string;
  logFile: string;
}

/** FerretDB speaking the MongoDB protocol over SQLite. Ready when /debug/readyz answers 200. */
export function ferretComponent(opts: FerretOptions): ComponentSpec {
  const debugUrl = `http://${LOOPBACK}:${opts.debugPort}/debug`;
  const dataDir = opts.dataDir.endsWith('/') ? opts.dataDir : `${opts.dataDir}/`;
  return {
    name: opts.name ?? 'ferretdb',
    command: toolPath('ferretdb'),
    args: [
      '--handler=sqlite',
      `--sqlite-url=file:${dataDir}`,
      `--listen-addr=${LOOPBACK}:${opts.port}`,
      `--debug-addr=${LOOPBACK}:${opts.debugPort}`,
      '--telemetry=disable',
      `--state-dir=${opts.dataDir}`,
      '--log-level=warn',
    ],
    cwd: opts.dataDir,
    ports: { main: opts.port, debug: opts.debugPort },
    url: `mongodb://${LOOPBACK}:${opts.port}/`,
    endpoints: { debug: debugUrl },
    logFile: opts.logFile,
    dirs: [opts.dataDir],
    readiness: [
      { kind: 'tcp', host: LOOPBACK, port: opts.port },
      { kind: 'http', url: `${debugUrl}/readyz`, status: 200 },
    ],
  };
}
