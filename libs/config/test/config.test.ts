import { z } from 'zod';
import { ConfigError, envInt, httpConfig, loadConfig, logConfig, natsConfig, telemetryConfig } from '../src';

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  const coordinatorSchema = natsConfig.merge(httpConfig).merge(logConfig).and(telemetryConfig);

  it('applies defaults and converts types for a minimal environment', () => {
    const config = loadConfig('round-coordinator', coordinatorSchema, { HTTP_PORT: '8080' });
    expect(config).toEqual({
      NATS_URL: 'nats://127.0.0.1:4222',
      JETSTREAM_REPLICAS: 1,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: 8080,
      LOG_LEVEL: 'info',
      FEDLEDGER_OTEL_EXPORTER: 'none',
    });
  });

  it('reads the real variables and ignores everything else in the environment', () => {
    const config = loadConfig('aggregator', coordinatorSchema, {
      PATH: '/usr/bin',
      NATS_URL: 'nats://nats-0.nats:4222,tls://nats-1.nats:4222',
      NATS_NAME: 'aggregator-1',
      HTTP_HOST: '0.0.0.0',
      HTTP_PORT: '0',
      LOG_LEVEL: 'debug',
      FEDLEDGER_OTEL_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_SERVICE_NAME: 'fedledger-aggregator',
    });
    expect(config.NATS_URL).toBe('nats://nats-0.nats:4222,tls://nats-1.nats:4222');
    expect(config.HTTP_PORT).toBe(0);
    expect(config.LOG_LEVEL).toBe('debug');
    expect(config).not.toHaveProperty('PATH');
    if (config.FEDLEDGER_OTEL_EXPORTER === 'otlp') {
      const endpoint: string = config.OTEL_EXPORTER_OTLP_ENDPOINT; // narrowed: required with otlp
      expect(endpoint).toBe('http://collector:4318');
    }
  });

  it('names the service, the variable, the expectation and the bad value', () => {
    const err = configError(() => loadConfig('round-coordinator', natsConfig, { NATS_URL: 'localhost' }));
    expect(err.message).toContain("round-coordinator: NATS_URL: expected nats://host:port, got 'localhost'");
    expect(err.service).toBe('round-coordinator');
    expect(err.issues).toEqual([{ variable: 'NATS_URL', reason: "expected nats://host:port, got 'localhost'" }]);
  });

  it('lists every bad variable at once, not just the first', () => {
    const err = configError(() =>
      loadConfig('passport-registry', coordinatorSchema, {
        NATS_URL: 'nats://host-without-port',
        HTTP_PORT: '70000',
        LOG_LEVEL: 'verbose',
        FEDLEDGER_OTEL_EXPORTER: 'otlp',
      }),
    );
    expect(err.issues.map((i) => i.variable).sort()).toEqual(['HTTP_PORT', 'LOG_LEVEL', 'NATS_URL', 'OTEL_EXPORTER_OTLP_ENDPOINT']);
    expect(err.message.split('\n')).toEqual(
      expect.arrayContaining([
        'passport-registry: invalid configuration (4 problems)',
        "passport-registry: NATS_URL: expected nats://host:port, got 'nats://host-without-port'",
        "passport-registry: HTTP_PORT: expected a port number 0..65535, got '70000'",
        "passport-registry: LOG_LEVEL: expected one of fatal|error|warn|info|debug|trace, got 'verbose'",
        'passport-registry: OTEL_EXPORTER_OTLP_ENDPOINT: required when FEDLEDGER_OTEL_EXPORTER=otlp (e.g. http://127.0.0.1:4318)',
      ]),
    );
  });

  it('reports a missing required variable as not set', () => {
    const err = configError(() => loadConfig('ledger-indexer', httpConfig, {}));
    expect(err.issues).toEqual([{ variable: 'HTTP_PORT', reason: 'required, not set' }]);
  });

  it('treats an empty variable as unset so the default applies', () => {
    expect(loadConfig('aggregator', natsConfig, { NATS_URL: '' }).NATS_URL).toBe('nats://127.0.0.1:4222');
    expect(configError(() => loadConfig('aggregator', httpConfig, { HTTP_PORT: '' })).issues[0].reason).toBe('required, not set');
  });

  it('rejects non-integer ports', () => {
    for (const port of ['http', '80.5', '-1', '8080x']) {
      const err = configError(() => loadConfig('aggregator', httpConfig, { HTTP_PORT: port }));
      expect(err.issues).toEqual([{ variable: 'HTTP_PORT', reason: `expected a port number 0..65535, got '${port}'` }]);
    }
  });

  it('accepts service-specific variables next to the shared fragments', () => {
    const schema = natsConfig.extend({
      ROUND_DEADLINE_MS: envInt(1_000, 86_400_000, 'a deadline in ms').default(600_000),
      MONGODB_URL: z.string().startsWith('mongodb://', 'expected mongodb://…'),
    });
    const config = loadConfig('ledger-indexer', schema, { MONGODB_URL: 'mongodb://127.0.0.1:27017/fedledger' });
    expect(config.ROUND_DEADLINE_MS).toBe(600_000);
    expect(config.MONGODB_URL).toBe('mongodb://127.0.0.1:27017/fedledger');
  });

  it('never echoes secrets or URL passwords into the error', () => {
    const schema = z.object({
      MONGODB_URL: z.string().startsWith('mongodb://', 'expected mongodb://…'),
      LEDGER_API_TOKEN: z.string().length(32, 'expected 32 characters'),
    });
    const err = configError(() =>
      loadConfig('ledger-indexer', schema, { MONGODB_URL: 'mongo://admin:hunter2@db:27017', LEDGER_API_TOKEN: 'hunter2' }),
    );
    expect(err.message).not.toContain('hunter2');
    expect(err.message).toContain("MONGODB_URL: expected mongodb://…, got 'mongo://admin:***@db:27017'");
    expect(err.message).toContain("LEDGER_API_TOKEN: expected 32 characters, got '<redacted>'");
  });

  it('returns a frozen configuration', () => {
    const config = loadConfig('aggregator', natsConfig, {});
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('uses process.env when no environment is given', () => {
    const previous = process.env.NATS_URL;
    process.env.NATS_URL = 'nats://from-process-env:4222';
    try {
      expect(loadConfig('aggregator', natsConfig).NATS_URL).toBe('nats://from-process-env:4222');
    } finally {
      if (previous === undefined) delete process.env.NATS_URL;
      else process.env.NATS_URL = previous;
    }
  });
});

describe('telemetryConfig', () => {
  it('needs no endpoint for console and none', () => {
    expect(loadConfig('x', telemetryConfig, { FEDLEDGER_OTEL_EXPORTER: 'console' })).toEqual({ FEDLEDGER_OTEL_EXPORTER: 'console' });
  });

  it('rejects an endpoint that is not an http(s) URL', () => {
    const err = configError(() =>
      loadConfig('x', telemetryConfig, { FEDLEDGER_OTEL_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://collector:4317' }),
    );
    expect(err.issues).toEqual([
      { variable: 'OTEL_EXPORTER_OTLP_ENDPOINT', reason: "expected http(s)://host[:port][/path], got 'grpc://collector:4317'" },
    ]);
  });

  it('rejects an unknown exporter', () => {
    const err = configError(() => loadConfig('x', telemetryConfig, { FEDLEDGER_OTEL_EXPORTER: 'jaeger' }));
    expect(err.issues).toEqual([{ variable: 'FEDLEDGER_OTEL_EXPORTER', reason: "expected one of none|console|otlp, got 'jaeger'" }]);
  });
});
