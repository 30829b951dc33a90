import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  ConsoleSpanExporter,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  BatchSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';

export type TraceExporterKind = 'none' | 'console' | 'otlp' | 'memory';

export interface TelemetryOptions {
  serviceName: string;
  serviceVersion?: string;
  /** `none` records nothing; `memory` keeps spans in process (tests); `otlp` sends them over OTLP/HTTP. */
  exporter: TraceExporterKind;
  /** OTLP/HTTP endpoint, e.g. http://otel-collector:4318/v1/traces. Required for `otlp`. */
  otlpEndpoint?: string;
}

export interface Telemetry {
  /** Spans recorded so far when the exporter is `memory`. */
  readonly memory?: InMemorySpanExporter;
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
  let exporter: SpanExporter;
  let processor: SpanProcessor;
  let memory: InMemorySpanExporter | undefined;
  switch (options.exporter) {
    case 'memory':
      memory = new InMemorySpanExporter();
      exporter = memory;
      processor = new SimpleSpanProcessor(exporter);
      break;
    case 'console':
      exporter = new ConsoleSpanExporter();
      processor = new SimpleSpanProcessor(exporter);
      break;
    case 'otlp':
      if (!options.otlpEndpoint) throw new Error(`${options.serviceName}: the otlp trace exporter needs an endpoint (OTEL_EXPORTER_OTLP_ENDPOINT)`);
      exporter = new OTLPTraceExporter({ url: options.otlpEndpoint });
      processor = new BatchSpanProcessor(exporter);
      break;
  }
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    spanProcessors: [processor],
    instrumentations: [],
    autoDetectResources: false,
  });
  sdk.start();
  return {
    memory,
    shutdown: async () => {
      await sdk.shutdown();
    },
  };
}
