import { context, metrics, propagation, ROOT_CONTEXT, type Context, type Meter } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  ConsoleSpanExporter,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  BatchSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { envDetector } from '@opentelemetry/resources';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { AggregationTemporality, ConsoleMetricExporter, InMemoryMetricExporter, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';

export type TraceExporterKind = 'none' | 'console' | 'otlp' | 'memory';

export interface TelemetryOptions {
  serviceName: string;
  serviceVersion?: string;
  /** `none` records nothing; `memory` keeps spans in process (tests); `otlp` sends them over OTLP/HTTP. */
  exporter: TraceExporterKind;
  /**
   * OTLP/HTTP endpoint: the collector's base URL (http://otel-collector:4318, as OTEL_EXPORTER_OTLP_ENDPOINT is in the
   * OpenTelemetry spec) or its traces URL (…/v1/traces). Traces go to <base>/v1/traces, metrics to <base>/v1/metrics.
   */
  otlpEndpoint?: string;
  /** How often metrics are exported (ms); default OTEL_METRIC_EXPORT_INTERVAL or 60 000. */
  metricIntervalMs?: number;
}

export interface Telemetry {
  /** Spans recorded so far when the exporter is `memory`. */
  readonly memory?: InMemorySpanExporter;
  /** Metrics exported so far when the exporter is `memory`. */
  readonly metrics?: InMemoryMetricExporter;
  /** Flushes and stops; call on shutdown so the last spans are sent. */
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry Node SDK once per process: W3C trace-context propagation, the service
 * name as resource, spans sent to the configured exporter. Messaging spans come from
 * @fedledger/messaging through the global API.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  if (options.exporter === 'none') return { shutdown: async () => undefined };
  recording = true;
  let exporter: SpanExporter;
  let processor: SpanProcessor;
  let memory: InMemorySpanExporter | undefined;
  let metrics: InMemoryMetricExporter | undefined;
  let metricExporter: PushMetricExporter;
  switch (options.exporter) {
    case 'memory':
      memory = new InMemorySpanExporter();
      exporter = memory;
      processor = new SimpleSpanProcessor(exporter);
      metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
      metricExporter = metrics;
      break;
    case 'console':
      exporter = new ConsoleSpanExporter();
      processor = new SimpleSpanProcessor(exporter);
      metricExporter = new ConsoleMetricExporter();
      break;
    case 'otlp':
      if (!options.otlpEndpoint) throw new Error(`${options.serviceName}: the otlp trace exporter needs an endpoint (OTEL_EXPORTER_OTLP_ENDPOINT)`);
      {
        const base = options.otlpEndpoint.replace(/\/v1\/traces\/?$/, '').replace(/\/+$/, '');
        exporter = new OTLPTraceExporter({ url: `${base}/v1/traces` });
        processor = new BatchSpanProcessor(exporter);
        metricExporter = new OTLPMetricExporter({ url: `${base}/v1/metrics` });
      }
      break;
  }
  const interval = options.metricIntervalMs ?? (Number(process.env.OTEL_METRIC_EXPORT_INTERVAL) || 60_000);
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    spanProcessors: [processor],
    metricReader: new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: interval, exportTimeoutMillis: Math.min(interval, 30_000) }),
    instrumentations: [],
    // Only the environment's resource attributes (OTEL_RESOURCE_ATTRIBUTES: deployment, namespace, pod…), no probing.
    resourceDetectors: [envDetector],
  });
  sdk.start();
  return {
    memory,
    metrics,
    shutdown: async () => {
      await sdk.shutdown();
    },
  };
}

/**
 * Metric instruments made on first use. A meter taken before startTelemetry registers the SDK stays a no-op for
 * good (the metrics API, unlike the trace API, has no proxy provider), and module-level code runs before it: call
 * the returned function where the instruments are used.
 */
export function lazyInstruments<T>(meterName: string, make: (meter: Meter) => T): () => T {
  let made: T | undefined;
  return () => (made ??= make(metrics.getMeter(meterName)));
}

let recording = false;

/** Whether this process records telemetry (startTelemetry ran with an exporter): work done only for traces can be skipped. */
export function telemetryRecording(): boolean {
  return recording;
}

/** The active trace context as a plain W3C carrier (`traceparent`, `tracestate`), to store beside what it produced. */
export function traceCarrier(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** A context whose parent is the span a stored carrier names (the root context when it names none). */
export function contextFromCarrier(carrier: Record<string, string>): Context {
  return propagation.extract(ROOT_CONTEXT, carrier);
}
