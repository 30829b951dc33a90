import {
  context as otelContext,
  propagation,
  trace,
  SpanKind,
  SpanStatusCode,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import type { MsgHdrs } from '@nats-io/transport-node';
import type { JsMsg } from '@nats-io/jetstream';

const tracer = () => trace.getTracer('@fedledger/messaging');

const setter: TextMapSetter<MsgHdrs> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

// NATS header names are case-insensitive; the propagator asks for lower-case keys.
const getter: TextMapGetter<MsgHdrs | undefined> = {
  keys: (carrier) => (carrier ? carrier.keys() : []),
  get: (carrier, key) => {
    if (!carrier) return undefined;
    const match = carrier.keys().find((k) => k.toLowerCase() === key.toLowerCase());
    return match ? carrier.get(match) : undefined;
  },
};

/** Starts a PRODUCER span for a publish and writes its W3C trace context into the headers. */
export function startPublishSpan(subject: string, headers: MsgHdrs, attributes: Record<string, string | number>): Span {
  const span = tracer().startSpan(`publish ${subject}`, {
    kind: SpanKind.PRODUCER,
    attributes: {
      'messaging.system': 'nats',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'publish',
      'messaging.destination.name': subject,
      ...attributes,
    },
  });
  propagation.inject(trace.setSpan(otelContext.active(), span), headers, setter);
  return span;
}

/** Starts a CONSUMER span whose parent is the trace context carried in the message headers. */
export function startConsumeSpan(msg: JsMsg, durable: string): { span: Span; ctx: Context } {
  const parent = propagation.extract(otelContext.active(), msg.headers, getter);
  const span = tracer().startSpan(
    `process ${msg.subject}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'nats',
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'messaging.destination.name': msg.subject,
        'messaging.consumer.group.name': durable,
        'messaging.nats.stream': msg.info.stream,
        'messaging.nats.stream.sequence': msg.info.streamSequence,
        'messaging.nats.delivery_count': msg.info.deliveryCount,
        'messaging.message.body.size': msg.data.length,
      },
    },
    parent,
  );
  return { span, ctx: trace.setSpan(parent, span) };
}

export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) {
    span.recordException(error instanceof Error ? error : new Error(String(error)));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  }
  span.end();
}

export { otelContext };
