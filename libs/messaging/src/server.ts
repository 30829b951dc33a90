import { Logger } from '@nestjs/common';
import { CustomTransportStrategy, EventPattern, Server, type MessageHandler } from '@nestjs/microservices';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { lastValueFrom } from 'rxjs';
import type { MessageCodec } from './codec';
import type { JetStreamConnection } from './connection';
import { JetStreamContext, PoisonMessageError } from './context';
import { DeadLetterHeaders, headerValue, type DeadLetterEvent, type DeadLetterKind, type DeadLetterOptions } from './dead-letter';
import { MissingStreamError, provisionConsumer, provisionStream, resolvedConsumer, type ConsumerSpec, type StreamSpec } from './streams';
import { endSpan, otelContext, startConsumeSpan } from './tracing';

export interface JetStreamServerOptions {
  connection: JetStreamConnection;
  streams: StreamSpec[];
  consumers: ConsumerSpec[];
  deadLetter: DeadLetterOptions;
  /** Create or update `streams` and the dead-letter stream at start (default). False for a principal that may not. */
  provisionStreams?: boolean;
  /** How long close() waits for handlers in flight before giving up on them. Default 30 s. */
  shutdownTimeoutMs?: number;
}

interface HandlerExtras {
  codec?: MessageCodec<unknown>;
}

/** Marks a method as the handler of a consumer: `@JetStreamEvent('training-task', trainingTaskCodec)`. */
export function JetStreamEvent<T>(handler: string, codec: MessageCodec<T>): MethodDecorator {
  return EventPattern(handler, { codec } satisfies HandlerExtras);
}

type Events = {
  deadLetter: (event: DeadLetterEvent) => void;
  error: (error: Error) => void;
};

interface RunningConsumer {
  spec: Required<ConsumerSpec>;
  messages: ConsumerMessages;
  loop: Promise<void>;
  inFlight: Set<Promise<void>>;
}

/**
 * The NestJS transport over JetStream: streams and durable pull consumers declared in code and
 * provisioned idempotently; ack after the handler succeeds; nak with backoff when it throws;
 * undecodable or poison messages and the last failed delivery go to the dead-letter subject with
 * their reason; drain on close.
 */
export class JetStreamServer extends Server<Events> implements CustomTransportStrategy {
  protected override readonly logger = new Logger('JetStreamServer');
  private readonly running: RunningConsumer[] = [];
  private readonly listeners: { [K in keyof Events]: Events[K][] } = { deadLetter: [], error: [] };
  private closing = false;
  private readonly shutdown = new AbortController();

  constructor(private readonly options: JetStreamServerOptions) {
    super();
  }

  listen(callback: (err?: unknown) => void): void {
    this.start().then(
      () => callback(),
      (err: unknown) => callback(err),
    );
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.shutdown.abort(new Error('the service is shutting down'));
    // Consumers still waiting for their stream are not waited for: one may be inside a JetStream API call made while
    // NATS was unreachable, which settles only at the API timeout (30 s); once it does, it sees `closing` and starts
    // nothing.
    for (const c of this.running) c.messages.stop();
    const all = Promise.all(this.running.map(async (c) => {
      await c.loop;
      await Promise.all(c.inFlight);
    }));
    const timeoutMs = this.options.shutdownTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const result = await Promise.race([all.then(() => 'done' as const), timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      this.logger.warn(`handlers still running after ${timeoutMs} ms; their messages will be redelivered`);
    }
  }

  on<K extends keyof Events>(event: K, callback: Events[K]): void {
    this.listeners[event].push(callback);
  }

  unwrap<T>(): T {
    return this.options.connection.nc as T;
  }

  private async start(): Promise<void> {
    const { connection, deadLetter } = this.options;
    const dlqStream: StreamSpec = {
      name: deadLetter.stream,
      subjects: [`${deadLetter.subjectPrefix}.>`],
      maxAgeMs: deadLetter.maxAgeMs ?? 30 * 24 * 3600 * 1000,
    };
    const streams = this.options.streams.some((s) => s.name === dlqStream.name)
      ? this.options.streams
      : [...this.options.streams, dlqStream];
    if (this.options.provisionStreams ?? true) for (const s of streams) await provisionStream(connection.jsm, s, connection.replicas);

    const bound = new Set<string>();
    for (const spec of this.options.consumers) {
      const handler = this.getHandlerByPattern(spec.handler);
      if (!handler) {
        const known = [...this.getHandlers().keys()].join(', ') || 'none';
        throw new Error(`consumer ${spec.durable} is bound to handler '${spec.handler}', but no @JetStreamEvent('${spec.handler}') exists (handlers: ${known})`);
      }
      bound.add(spec.handler);
      try {
        await provisionConsumer(connection.jsm, spec);
      } catch (err) {
        if (!(err instanceof MissingStreamError)) throw err;
        // Another service owns the stream (e.g. the coordinator owns FL_TASKS); start without it and bind when it appears.
        this.logger.warn(`${err.message}; ${spec.durable} starts once it does`);
        void this.startWhenStreamExists(spec, handler);
        continue;
      }
      await this.startConsumer(resolvedConsumer(spec), handler);
    }
    for (const pattern of this.getHandlers().keys()) {
      if (!bound.has(pattern)) this.logger.warn(`handler '${pattern}' has no consumer bound to it and will receive nothing`);
    }
    this._status$.next('connected');
    this.logger.log(`consuming ${this.running.map((c) => `${c.spec.stream}/${c.spec.durable}`).join(', ') || 'nothing'}`);
  }

  private async startWhenStreamExists(spec: ConsumerSpec, handler: MessageHandler): Promise<void> {
    const signal = this.shutdown.signal;
    while (!this.closing) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1_000);
        signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
      if (this.closing) return;
      try {
        await provisionConsumer(this.options.connection.jsm, spec);
        if (this.closing) return;
        await this.startConsumer(resolvedConsumer(spec), handler);
        if (this.closing) return;
        this.logger.log(`stream ${spec.stream} appeared; consuming ${spec.stream}/${spec.durable}`);
        return;
      } catch (err) {
        if (!(err instanceof MissingStreamError)) this.logger.error(`cannot start consumer ${spec.durable}: ${(err as Error).message}; retrying`);
      }
    }
  }

  private async startConsumer(spec: Required<ConsumerSpec>, handler: MessageHandler): Promise<void> {
    const consumer = await this.options.connection.js.consumers.get(spec.stream, spec.durable);
    // Pull no more than we can work on: a prefetched message's ack timer runs while it waits.
    const messages = await consumer.consume({ max_messages: spec.concurrency, expires: 5_000 });
    if (this.closing) {
      // Closed while this consumer was being set up (it waited for its stream): close() did not see it.
      messages.stop();
      return;
    }
    const running: RunningConsumer = { spec, messages, loop: Promise.resolve(), inFlight: new Set() };
    running.loop = (async () => {
      for await (const msg of messages) {
        if (this.closing) break;
        const work = this.process(msg, spec, handler).catch((err: Error) => this.emit('error', err));
        running.inFlight.add(work);
        void work.finally(() => running.inFlight.delete(work));
        if (running.inFlight.size >= spec.concurrency) await Promise.race(running.inFlight);
      }
    })().catch((err: Error) => {
      if (!this.closing) {
        this.logger.error(`consumer ${spec.durable} stopped: ${err.message}`);
        this.emit('error', err);
      }
    });
    this.running.push(running);
  }

  private async process(msg: JsMsg, spec: Required<ConsumerSpec>, handler: MessageHandler): Promise<void> {
    const codec = (handler.extras as HandlerExtras | undefined)?.codec;
    const { span, ctx } = startConsumeSpan(msg, spec.durable);
    let payload: unknown;
    try {
      payload = codec ? codec.decode(msg.data) : msg.data;
    } catch (err) {
      const reason = `cannot decode ${codec?.typeName ?? 'payload'} (${msg.data.length} bytes) from ${msg.subject}: ${(err as Error).message}`;
      await this.giveUp(msg, spec, 'undecodable', reason, codec?.typeName);
      endSpan(span, err);
      return;
    }

    // Long handlers (training) keep the delivery alive instead of letting ack_wait expire.
    const keepAlive = setInterval(() => msg.working(), Math.max(250, Math.floor(spec.ackWaitMs / 2)));
    try {
      await otelContext.with(ctx, async () => {
        const result = await handler(payload, new JetStreamContext([msg, this.shutdown.signal]));
        await lastValueFrom(this.transformToObservable(result), { defaultValue: undefined });
      });
      clearInterval(keepAlive);
      msg.ack();
      endSpan(span);
    } catch (thrown) {
      clearInterval(keepAlive);
      const err = asError(thrown);
      endSpan(span, err);
      if (this.shutdown.signal.aborted) {
        // Not a failure of the message: hand it back now for the next instance (or this one after restart).
        msg.nak();
        this.logger.debug(`${spec.durable}: ${msg.subject} #${msg.info.streamSequence} returned to the stream on shutdown`);
        return;
      }
      const deliveries = msg.info.deliveryCount;
      if (err instanceof PoisonMessageError || err.name === 'PoisonMessageError') {
        await this.giveUp(msg, spec, 'poison', err.message, codec?.typeName);
      } else if (deliveries >= spec.maxDeliver) {
        await this.giveUp(msg, spec, 'max-deliveries', `handler failed on all ${deliveries} deliveries; last error: ${err.message}`, codec?.typeName);
      } else {
        const delay = spec.backoffMs[Math.min(deliveries - 1, spec.backoffMs.length - 1)] ?? 1_000;
        this.logger.warn(`${spec.durable}: ${msg.subject} #${msg.info.streamSequence} failed (delivery ${deliveries}/${spec.maxDeliver}), retry in ${delay} ms: ${err.message}`);
        msg.nak(delay);
      }
    }
  }

  /** Publishes the message to the dead-letter subject with its reason, then terminates it. */
  private async giveUp(msg: JsMsg, spec: Required<ConsumerSpec>, kind: DeadLetterKind, reason: string, messageType?: string): Promise<void> {
    const { deadLetter, connection } = this.options;
    const subject = `${deadLetter.subjectPrefix}.${spec.stream}.${spec.durable}`;
    const hdrs = natsHeaders();
    if (msg.headers) for (const [k, values] of msg.headers) for (const v of values) hdrs.append(k, v);
    hdrs.delete('Nats-Msg-Id');
    hdrs.set(DeadLetterHeaders.reason, headerValue(reason));
    hdrs.set(DeadLetterHeaders.kind, kind);
    hdrs.set(DeadLetterHeaders.subject, msg.subject);
    hdrs.set(DeadLetterHeaders.stream, msg.info.stream);
    hdrs.set(DeadLetterHeaders.sequence, String(msg.info.streamSequence));
    hdrs.set(DeadLetterHeaders.consumer, spec.durable);
    hdrs.set(DeadLetterHeaders.deliveries, String(msg.info.deliveryCount));
    if (messageType) hdrs.set(DeadLetterHeaders.messageType, messageType);
    try {
      await connection.js.publish(subject, msg.data, { headers: hdrs, msgID: `dlq:${msg.info.stream}:${msg.info.streamSequence}` });
    } catch (err) {
      // Not recorded anywhere: keep the message rather than lose it, and retry later.
      this.logger.error(`cannot dead-letter ${msg.subject} #${msg.info.streamSequence} to ${subject}: ${(err as Error).message}; message kept for redelivery`);
      msg.nak(spec.backoffMs[spec.backoffMs.length - 1] ?? 30_000);
      return;
    }
    msg.term(headerValue(reason, 200));
    this.logger.warn(`dead-lettered ${msg.subject} #${msg.info.streamSequence} (${kind}): ${reason}`);
    this.emit('deadLetter', {
      kind,
      reason,
      subject: msg.subject,
      stream: msg.info.stream,
      sequence: msg.info.streamSequence,
      consumer: spec.durable,
      deliveries: msg.info.deliveryCount,
    });
  }

  private emit<K extends keyof Events>(event: K, arg: Parameters<Events[K]>[0]): void {
    for (const cb of this.listeners[event]) (cb as (a: typeof arg) => void)(arg);
  }
}

/** Nest's exception filters may hand back a plain object; keep whatever message it carries. */
function asError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (thrown && typeof thrown === 'object' && 'message' in thrown) {
    const e = new Error(String((thrown as { message: unknown }).message));
    if ('name' in thrown) e.name = String((thrown as { name: unknown }).name);
    return e;
  }
  return new Error(String(thrown));
}
