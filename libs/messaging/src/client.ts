import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import type { PubAck } from '@nats-io/jetstream';
import type { JetStreamConnection } from './connection';
import { JetStreamPublisher, JetStreamRecord } from './publisher';

/**
 * The NestJS client side: `client.emit(subject, new JetStreamRecord(bytes, { msgId }))` publishes
 * to JetStream and resolves with the PubAck (`duplicate: true` when the msg id was seen).
 */
export class JetStreamClientProxy extends ClientProxy {
  private readonly publisher: JetStreamPublisher;

  constructor(private readonly connection: JetStreamConnection) {
    super();
    this.publisher = new JetStreamPublisher(connection);
  }

  async connect(): Promise<void> {
    if (this.connection.closed) throw new Error(`NATS connection ${this.connection.name} is closed`);
  }

  /** The connection belongs to whoever opened it; closing the proxy leaves it open. */
  close(): void {}

  unwrap<T>(): T {
    return this.connection.nc as T;
  }

  protected async dispatchEvent<T = PubAck>(packet: ReadPacket): Promise<T> {
    const subject = this.normalizePattern(packet.pattern);
    const record = toRecord(packet.data, subject);
    return (await this.publisher.publish(subject, record.data, record.options)) as T;
  }

  /** Request-reply is not how Fedledger services talk: everything is an event on a stream. */
  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    callback({ err: new Error(`request-reply on '${String(packet.pattern)}' is not supported by the JetStream client; use emit()`), isDisposed: true });
    return () => undefined;
  }
}

function toRecord(data: unknown, subject: string): JetStreamRecord {
  if (data instanceof JetStreamRecord) return data;
  if (data instanceof Uint8Array) return new JetStreamRecord(data);
  throw new Error(`emit('${subject}') needs a JetStreamRecord or encoded bytes, got ${data === null ? 'null' : typeof data}`);
}
