import { createHash } from 'node:crypto';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import type { PubAck } from '@nats-io/jetstream';
import type { JetStreamConnection } from './connection';
import { endSpan, startPublishSpan } from './tracing';

export interface PublishOptions {
  /**
   * Nats-Msg-Id for de-duplication within the stream's duplicate window. Give one that names the
   * fact (e.g. `update:<exp>:<round>:<centre>`); without one the id is the SHA-256 of subject and
   * payload, so a retried publish of the same bytes is stored once.
   */
  msgId?: string;
  headers?: Record<string, string>;
}

/** What a service hands to the client proxy's `emit`: payload bytes plus publish options. */
export class JetStreamRecord {
  constructor(
    readonly data: Uint8Array,
    readonly options: PublishOptions = {},
  ) {}
}

export function defaultMsgId(subject: string, data: Uint8Array): string {
  return createHash('sha256').update(subject).update('\0').update(data).digest('base64url');
}

/** Publishes to JetStream with a Nats-Msg-Id, W3C trace context and a PRODUCER span. */
export class JetStreamPublisher {
  constructor(private readonly connection: JetStreamConnection) {}

  async publish(subject: string, data: Uint8Array, options: PublishOptions = {}): Promise<PubAck> {
    const msgId = options.msgId ?? defaultMsgId(subject, data);
    const hdrs: MsgHdrs = natsHeaders();
    for (const [k, v] of Object.entries(options.headers ?? {})) hdrs.set(k, v);
    const span = startPublishSpan(subject, hdrs, { 'messaging.message.id': msgId, 'messaging.message.body.size': data.length });
    try {
      const ack = await this.connection.js.publish(subject, data, { msgID: msgId, headers: hdrs });
      span.setAttributes({
        'messaging.nats.stream': ack.stream,
        'messaging.nats.stream.sequence': ack.seq,
        'messaging.nats.duplicate': ack.duplicate,
      });
      endSpan(span);
      return ack;
    } catch (err) {
      endSpan(span, err);
      throw new Error(`publish to ${subject} (msg id ${msgId}) failed: ${(err as Error).message}`);
    }
  }
}
