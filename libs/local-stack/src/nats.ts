import type { ComponentSpec } from './component';
import { natsAuthorization, type NatsSecurity } from './nats-security';
import { LOOPBACK } from './net';
import { toolPath } from './paths';

export const DEFAULT_NATS_PORT = 4222;
export const DEFAULT_NATS_MONITOR_PORT = 8222;
/** Model updates travel over NATS: allow 8 MB messages (the server default is 1 MB). */
export const DEFAULT_NATS_MAX_PAYLOAD = 8 * 1024 * 1024;
const DEFAULT_MAX_PENDING = 64 * 1024 * 1024;

export interface NatsOptions {
  /** Component name; default "nats". */
  name?: string;
  port: number;
  monitorPort: number;
  /** JetStream file storage directory (the server creates `jetstream/` in it). */
  storeDir: string;
  /** Where the generated server config is written. */
  configFile: string;
  logFile: string;
  /** Bytes; default 8 MB. */
  maxPayload?: number;
  /** TLS required and only these users (nkeys, least-privilege permissions); without it the server is open (tests). */
  security?: NatsSecurity;
}

const quote = (s: string): string => JSON.stringify(s);

/**
 * The nats-server config file: loopback only, monitoring endpoint, JetStream on file storage; with `security`,
 * TLS on every client connection and only the listed users (an anonymous connection is refused).
 */
export function natsConfig(opts: NatsOptions): string {
  const maxPayload = opts.maxPayload ?? DEFAULT_NATS_MAX_PAYLOAD;
  const lines = [
    '# Written by @fedledger/local-stack; regenerated on every start.',
    `listen: ${quote(`${LOOPBACK}:${opts.port}`)}`,
    `http: ${quote(`${LOOPBACK}:${opts.monitorPort}`)}`,
    maxPayload === DEFAULT_NATS_MAX_PAYLOAD ? 'max_payload: 8MB' : `max_payload: ${maxPayload}`,
  ];
  // The server refuses a max_payload above max_pending.
  if (maxPayload > DEFAULT_MAX_PENDING) lines.push(`max_pending: ${maxPayload}`);
  lines.push('jetstream {', `  store_dir: ${quote(opts.storeDir)}`, '}');
  if (opts.security) {
    const { tls, users } = opts.security;
    lines.push('tls {', `  cert_file: ${quote(tls.certFile)}`, `  key_file: ${quote(tls.keyFile)}`, '  timeout: 5', '}');
    lines.push(...natsAuthorization(users));
  }
  lines.push('');
  return lines.join('\n');
}

/** nats-server with JetStream. Ready when /healthz?js-enabled-only=true answers 200. */
export function natsComponent(opts: NatsOptions): ComponentSpec {
  const monitorUrl = `http://${LOOPBACK}:${opts.monitorPort}`;
  return {
    name: opts.name ?? 'nats',
    command: toolPath('nats-server'),
    args: ['-c', opts.configFile],
    ports: { main: opts.port, monitor: opts.monitorPort },
    url: `${opts.security ? 'tls' : 'nats'}://${LOOPBACK}:${opts.port}`,
    endpoints: { monitor: monitorUrl },
    logFile: opts.logFile,
    dirs: [opts.storeDir],
    files: [{ path: opts.configFile, content: natsConfig(opts) }],
    readiness: [
      { kind: 'tcp', host: LOOPBACK, port: opts.port },
      { kind: 'http', url: `${monitorUrl}/healthz?js-enabled-only=true`, status: 200 },
    ],
  };
}
