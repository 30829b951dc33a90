import path from 'node:path';
import type { ComponentSpec } from './component';
import { LOOPBACK } from './net';
import { repoRoot } from './paths';

export interface ServiceOptions {
  /** Directory name under services/, e.g. 'round-coordinator'. */
  service: string;
  /** Component name, e.g. 'centre-agent c07'; defaults to the service. */
  name?: string;
  natsUrl: string;
  /** For services with a REST API: the port to listen on (127.0.0.1). */
  httpPort?: number;
  env?: Record<string, string>;
  logFile: string;
}

/**
 * A Fedledger service as a local component: its TypeScript main run through SWC, JSON logs to a
 * file, ready when GET /health answers (REST services) or when it logs that it started.
 */
export function serviceComponent(o: ServiceOptions): ComponentSpec {
  const root = repoRoot();
  const http = o.httpPort !== undefined;
  return {
    name: o.name ?? o.service,
    command: process.execPath,
    args: ['-r', path.join(root, 'scripts/register.js'), path.join(root, 'services', o.service, 'src/main.ts')],
    cwd: root,
    env: {
      NATS_URL: o.natsUrl,
      LOG_FORMAT: 'json',
      ...(http ? { HTTP_HOST: LOOPBACK, HTTP_PORT: String(o.httpPort) } : {}),
      ...o.env,
    },
    ports: { main: o.httpPort ?? 0 },
    url: http ? `http://${LOOPBACK}:${o.httpPort}` : o.natsUrl,
    logFile: o.logFile,
    readiness: http
      ? [{ kind: 'http', url: `http://${LOOPBACK}:${o.httpPort}/health` }]
      : [{ kind: 'log', file: o.logFile, contains: 'started as' }],
    readyTimeoutMs: 120_000,
  };
}
