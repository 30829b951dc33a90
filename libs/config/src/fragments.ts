import { accessSync, constants, statSync } from 'node:fs';
import { z } from 'zod';

/*
 * Reusable pieces of service configuration, keyed by the environment variable they read.
 * Compose objects with `.merge()` / `.extend()`, and `.and()` for fragments carrying cross-variable
 * rules (telemetryConfig):
 *
 *   const schema = natsConfig.merge(httpConfig).merge(logConfig).extend({ ... }).and(telemetryConfig);
 *   const config = loadConfig('round-coordinator', schema);
 */

/**
 * An integer read from an environment string, within [min, max].
 * `what` names it in errors: "expected a port number 0..65535".
 */
export function envInt(min: number, max: number, what = 'an integer') {
  const message = `expected ${what} ${min}..${max}`;
  return z.preprocess(
    (v) => (typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v.trim()) : v),
    z.number({ invalid_type_error: message }).int(message).min(min, message).max(max, message),
  );
}

/** A TCP port; 0 asks the OS for a free one (tests). */
export const envPort = envInt(0, 65535, 'a port number');

/** A NATS server URL, or a comma-separated list of them for a cluster: nats://host:port or tls://host:port. */
export const natsUrl = z.string().refine((value) => value.split(',').every((u) => isServerUrl(u.trim(), ['nats:', 'tls:'])), {
  message: 'expected nats://host:port',
});

/** An absolute http(s) URL, e.g. an OTLP collector endpoint. */
export const httpUrl = z.string().refine((value) => isServerUrl(value, ['http:', 'https:'], false), {
  message: 'expected http(s)://host[:port][/path]',
});

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A log level name; `info` when unset. */
export const logLevel = z.enum(LOG_LEVELS).default('info');

/** LOG_LEVEL. */
export const logConfig = z.object({ LOG_LEVEL: logLevel });

/** A file that must exist and be readable at start-up (a key, a certificate). */
export const readableFile = z
  .string()
  .min(1)
  .refine((file) => {
    try {
      accessSync(file, constants.R_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  }, 'no such readable file');

/**
 * NATS_URL (default nats://127.0.0.1:4222), NATS_NAME (connection name shown by the server; optional),
 * NATS_NKEY_SEED_FILE (this principal's nkey seed: the server authenticates it by it), NATS_TLS_CA_FILE
 * (the CA the server's TLS certificate must chain to; TLS is then required), JETSTREAM_REPLICAS (how many NATS
 * servers keep each stream and bucket the service provisions: 3 on a 3-server cluster; default 1).
 */
export const natsConfig = z.object({
  NATS_URL: natsUrl.default('nats://127.0.0.1:4222'),
  NATS_NAME: z.string().min(1).optional(),
  NATS_NKEY_SEED_FILE: readableFile.optional(),
  NATS_TLS_CA_FILE: readableFile.optional(),
  JETSTREAM_REPLICAS: envInt(1, 5, 'a number of servers').default(1),
});

/** HTTP_HOST (default 127.0.0.1, i.e. not exposed unless asked) and HTTP_PORT (required). */
export const httpConfig = z.object({
  HTTP_HOST: z
    .string()
    .regex(/^[^\s/]+$/, 'expected a host name or IP address')
    .default('127.0.0.1'),
  HTTP_PORT: envPort,
});

/**
 * HEALTH_HOST (default 127.0.0.1) and HEALTH_PORT (optional): where a service without a REST API answers GET /health
 * for probes; without HEALTH_PORT it opens no port.
 */
export const healthPortConfig = z.object({
  HEALTH_HOST: z
    .string()
    .regex(/^[^\s/]+$/, 'expected a host name or IP address')
    .default('127.0.0.1'),
  HEALTH_PORT: envPort.optional(),
});

export const TELEMETRY_EXPORTERS = ['none', 'console', 'otlp'] as const;

/** The validated telemetry settings; with `otlp` the endpoint is known to be set. */
export type TelemetryConfig = {
  OTEL_SERVICE_NAME?: string;
} & (
  | { FEDLEDGER_OTEL_EXPORTER: 'none' | 'console'; OTEL_EXPORTER_OTLP_ENDPOINT?: string }
  | { FEDLEDGER_OTEL_EXPORTER: 'otlp'; OTEL_EXPORTER_OTLP_ENDPOINT: string }
);

/**
 * FEDLEDGER_OTEL_EXPORTER (none|console|otlp, default none), OTEL_EXPORTER_OTLP_ENDPOINT (required with otlp: the collector's OTLP/HTTP base URL, e.g. http://collector:4318, or its …/v1/traces URL),
 * OTEL_SERVICE_NAME (optional; telemetry defaults it to the service name).
 */
export const telemetryConfig = z
  .object({
    FEDLEDGER_OTEL_EXPORTER: z.enum(TELEMETRY_EXPORTERS).default('none'),
    OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl.optional(),
    OTEL_SERVICE_NAME: z.string().min(1).optional(),
  })
  .superRefine((value, ctx) => {
    if (value.FEDLEDGER_OTEL_EXPORTER === 'otlp' && value.OTEL_EXPORTER_OTLP_ENDPOINT === undefined) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['OTEL_EXPORTER_OTLP_ENDPOINT'],
        message: 'required when FEDLEDGER_OTEL_EXPORTER=otlp (e.g. http://127.0.0.1:4318)',
      });
    }
  })
  // Checked just above; the cast only tells the type system what superRefine guaranteed.
  .transform((value) => value as TelemetryConfig);

function isServerUrl(value: string, protocols: readonly string[], portRequired = true): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return protocols.includes(url.protocol) && url.hostname !== '' && (!portRequired || url.port !== '');
}
