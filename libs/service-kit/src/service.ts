import { ConsoleLogger, type INestApplication, type INestMicroservice, type LogLevel as NestLogLevel, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { Subscription } from '@nats-io/transport-node';
import { z } from 'zod';
import { inboxPrefix, servicePrincipal, subjects, streams as contractStreams, type NatsService, type Principal } from '@fedledger/contracts';
import { ConfigError, envInt, envPort, healthPortConfig, httpConfig, loadConfig, logConfig, natsConfig, telemetryConfig, type LogLevel, type TelemetryConfig } from '@fedledger/config';
import {
  BlobStore,
  JetStreamConnection,
  JetStreamExceptionFilter,
  JetStreamServer,
  type ConsumerSpec,
  type StreamSpec,
} from '@fedledger/messaging';
import { startTelemetry, type Telemetry } from '@fedledger/telemetry';
import { newIdentity, ServiceHealth, type ServiceIdentity } from './health';
import { serveHealth } from './health-port';
import { ServiceKitModule, ServiceRootModule } from './kit.module';

/** Settings every service reads, besides its own. */
const commonConfig = natsConfig.merge(logConfig).extend({
  LOG_FORMAT: z.enum(['text', 'json']).default('text'),
  SHUTDOWN_TIMEOUT_MS: envInt(1_000, 600_000, 'milliseconds').default(30_000),
});
const blobConfig = z.object({
  /** Largest weights blob accepted (bytes). */
  BLOB_MAX_BYTES: envInt(1, Number.MAX_SAFE_INTEGER, 'a byte count').default(2 * 1024 ** 3),
  /** Chunk size of new blobs (KiB); reads are fastest well below 1 MiB. */
  BLOB_CHUNK_KIB: envInt(16, 8 * 1024, 'KiB').default(256),
});
export type CommonConfig = z.infer<typeof commonConfig> & TelemetryConfig;
export type HttpSettings = { HTTP_HOST: string; HTTP_PORT: number };
export type HealthPortSettings = { HEALTH_HOST: string; HEALTH_PORT?: number };

export interface ServiceDefinition<S extends z.AnyZodObject> {
  /** Service name, as in services/<name>; also its NATS connection and telemetry name. */
  name: string;
  version?: string;
  /** The service's own NestJS module (controllers, handlers, use cases). */
  module: Type<unknown>;
  /** Its own environment variables; the common ones (NATS_URL, LOG_LEVEL, ...) are added. */
  config: S;
  /**
   * A REST API with GET /health on HTTP_HOST:HTTP_PORT. Without it the service opens no port, unless HEALTH_PORT
   * asks for GET /health alone (for probes).
   */
  http?: { defaultPort: number };
  /** Streams this service owns and provisions at start-up. */
  streams?: (config: z.infer<S> & CommonConfig) => StreamSpec[];
  /** Opens the weights blob store (FL_BLOBS) and provides `BlobStore` to the module. */
  blobStore?: boolean;
  /** Durable consumers bound to the module's @JetStreamEvent handlers. */
  consumers?: (config: z.infer<S> & CommonConfig) => ConsumerSpec[];
  /**
   * Who the service is on NATS: its inbox prefix and blob scope follow, and the server's permissions for it.
   * Default: the service itself (a centre-agent says it is its centre).
   */
  principal?: (config: z.infer<S> & CommonConfig) => Principal;
  /**
   * Whether it creates and updates the streams it uses (the dead-letter stream, the blob stream). Default true;
   * a centre-agent does not — a centre may not touch streams — and waits for the platform's services to.
   */
  provisionStreams?: boolean;
}

export function defineService<S extends z.AnyZodObject>(definition: ServiceDefinition<S>): ServiceDefinition<S> {
  return definition;
}

export interface RunningService<C> {
  config: C;
  identity: ServiceIdentity;
  connection: JetStreamConnection;
  app: INestApplication | INestMicroservice;
  health(): ReturnType<ServiceHealth['report']>;
  /** Stops taking work, lets handlers in flight finish, drains NATS, flushes telemetry. */
  stop(): Promise<void>;
}

const NEST_LEVELS: Record<LogLevel, NestLogLevel[]> = {
  fatal: ['fatal'],
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  info: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug'],
  trace: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'],
};

/** The dead-letter stream every service's consumers use. */
export const deadLetter = { stream: contractStreams.FL_DLQ.name, subjectPrefix: contractStreams.FL_DLQ.subjects[0].replace(/\.>$/, '') };

/**
 * Everything a service validates its environment with: the common settings (NATS, logging, shutdown), HTTP when it
 * serves, the blob store when it has one, its own, and telemetry. The configuration reference is generated from it.
 */
export function serviceConfigSchema<S extends z.AnyZodObject>(def: ServiceDefinition<S>) {
  const http = def.http ? httpConfig.extend({ HTTP_PORT: envPort.default(def.http.defaultPort) }) : healthPortConfig;
  const blobs = def.blobStore ? blobConfig : z.object({});
  return commonConfig.merge(http).merge(blobs).merge(def.config).and(telemetryConfig);
}

/** Validates config, starts telemetry, connects to NATS, starts the NestJS app. Throws ConfigError on bad config. */
export async function startService<S extends z.AnyZodObject>(
  def: ServiceDefinition<S>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunningService<z.infer<S> & CommonConfig & Partial<HttpSettings> & Partial<HealthPortSettings>>> {
  const schema = serviceConfigSchema(def);
  type Config = z.infer<S> & CommonConfig & Partial<HttpSettings> & Partial<HealthPortSettings>;
  const config = loadConfig(def.name, schema, env) as Config;

  const logger = new ConsoleLogger(def.name, { json: config.LOG_FORMAT === 'json', logLevels: NEST_LEVELS[config.LOG_LEVEL], colors: config.LOG_FORMAT === 'text' && process.stdout.isTTY });
  const telemetry: Telemetry = startTelemetry({
    serviceName: config.OTEL_SERVICE_NAME ?? def.name,
    exporter: config.FEDLEDGER_OTEL_EXPORTER,
    ...(config.OTEL_EXPORTER_OTLP_ENDPOINT ? { otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT } : {}),
  });
  const identity = newIdentity(def.name, def.version ?? '0.1.0');
  let connection: JetStreamConnection | undefined;
  try {
    const principal = def.principal?.(config) ?? servicePrincipal(def.name as NatsService);
    const provision = def.provisionStreams ?? true;
    connection = await JetStreamConnection.connect({
      servers: config.NATS_URL,
      name: config.NATS_NAME ?? `${def.name}-${identity.instance}`,
      ...(config.NATS_NKEY_SEED_FILE ? { nkeySeedFile: config.NATS_NKEY_SEED_FILE } : {}),
      ...(config.NATS_TLS_CA_FILE ? { tlsCaFile: config.NATS_TLS_CA_FILE } : {}),
      inboxPrefix: inboxPrefix(principal),
      replicas: config.JETSTREAM_REPLICAS,
    });
    const conn = connection;
    const server = new JetStreamServer({
      connection: conn,
      streams: def.streams?.(config) ?? [],
      consumers: def.consumers?.(config) ?? [],
      deadLetter,
      provisionStreams: provision,
      shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    });
    const blobStore = def.blobStore
      ? await BlobStore.open(conn, {
          stream: contractStreams.FL_BLOBS.name,
          subjectPrefix: subjects.blobPrefix,
          scope: subjects.blobScope(principal),
          provision,
          maxBlobBytes: (config as unknown as z.infer<typeof blobConfig>).BLOB_MAX_BYTES,
          chunkBytes: (config as unknown as z.infer<typeof blobConfig>).BLOB_CHUNK_KIB * 1024,
        })
      : undefined;
    const root = ServiceRootModule.create(ServiceKitModule.forRoot({ config, connection: conn, identity, blobStore }), def.module, def.http !== undefined);

    let app: INestApplication | INestMicroservice;
    if (def.http) {
      // rawBody: a service that checks signed requests needs the bytes that were signed.
      const web = await NestFactory.create(root, { logger, abortOnError: false, rawBody: true });
      // A hybrid app's microservice is initialised on connect, so its filters come from the app.
      web.useGlobalFilters(new JetStreamExceptionFilter(web.getHttpAdapter()));
      web.connectMicroservice({ strategy: server }, { inheritAppConfig: true });
      // The REST API describes itself: OpenAPI 3 at /openapi.json, browsable at /docs.
      const document = SwaggerModule.createDocument(web, new DocumentBuilder().setTitle(`Fedledger ${def.name}`).setVersion(identity.version).build());
      SwaggerModule.setup('docs', web, document, { jsonDocumentUrl: 'openapi.json' });
      await web.startAllMicroservices();
      await web.listen(config.HTTP_PORT!, config.HTTP_HOST!);
      const address = web.getHttpServer().address() as { port: number } | null;
      identity.httpUrl = `http://${config.HTTP_HOST}:${address?.port ?? config.HTTP_PORT}`;
      app = web;
      logger.log(`REST API on ${identity.httpUrl} (GET /health)`);
    } else {
      const ms = await NestFactory.createMicroservice(root, { strategy: server, logger, abortOnError: false });
      ms.useGlobalFilters(new JetStreamExceptionFilter());
      await ms.listen();
      app = ms;
    }

    const health = app.get(ServiceHealth);
    const healthSub: Subscription = conn.nc.subscribe(subjects.health(def.name), {
      callback: (err, msg) => {
        if (!err) msg.respond(JSON.stringify(health.report()));
      },
    });
    let healthPort: Awaited<ReturnType<typeof serveHealth>> | undefined;
    if (!def.http && config.HEALTH_PORT !== undefined) {
      try {
        healthPort = await serveHealth(config.HEALTH_HOST!, config.HEALTH_PORT, () => health.report());
      } catch (err) {
        healthSub.unsubscribe();
        await app.close();
        throw new ConfigError(def.name, [{ variable: 'HEALTH_PORT', reason: `cannot listen on ${config.HEALTH_HOST}:${config.HEALTH_PORT} (${err instanceof Error ? err.message : String(err)})` }]);
      }
      identity.healthUrl = healthPort.url;
      logger.log(`health on ${healthPort.url}`);
    }
    logger.log(`started as ${identity.instance}, NATS ${config.NATS_URL}`);

    let stopped: Promise<void> | undefined;
    return {
      config,
      identity,
      connection: conn,
      app,
      health: () => health.report(),
      stop: () =>
        (stopped ??= (async () => {
          logger.log('stopping: no new work, waiting for handlers in flight');
          healthSub.unsubscribe();
          await healthPort?.close();
          await app.close();
          await conn.drain();
          await telemetry.shutdown();
          logger.log('stopped');
        })()),
    };
  } catch (err) {
    await connection?.drain();
    await telemetry.shutdown();
    throw err;
  }
}

/**
 * The main of every service: starts it, stops it gracefully on SIGTERM/SIGINT, exits 0 when done.
 * A configuration error prints every bad variable and exits 78 (EX_CONFIG) without a stack trace.
 */
export function runService<S extends z.AnyZodObject>(def: ServiceDefinition<S>): void {
  startService(def).then(
    (running) => {
      // Lifecycle lines go out whatever LOG_LEVEL says: supervisors and `fedledger` wait for this one.
      process.stderr.write(`${def.name}: started as ${running.identity.instance}${running.identity.httpUrl ? ` on ${running.identity.httpUrl}` : ''}\n`);
      const onSignal = (signal: NodeJS.Signals) => {
        process.stderr.write(`${def.name}: ${signal} received, shutting down\n`);
        const limit = running.config.SHUTDOWN_TIMEOUT_MS + 5_000;
        const timer = setTimeout(() => {
          process.stderr.write(`${def.name}: shutdown took longer than ${limit} ms, exiting\n`);
          process.exit(1);
        }, limit);
        timer.unref();
        running.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            process.stderr.write(`${def.name}: shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`);
            process.exit(1);
          },
        );
      };
      // A promise nobody awaited failing is a bug to fix, not a reason to drop every message in flight.
      process.on('unhandledRejection', (reason) => {
        process.stderr.write(`${def.name}: unhandled rejection (a bug; the service keeps running): ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}\n`);
      });
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
    },
    (err: unknown) => {
      if (err instanceof ConfigError) {
        process.stderr.write(`${err.message}\n`);
        process.exit(78);
      }
      process.stderr.write(`${def.name}: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
