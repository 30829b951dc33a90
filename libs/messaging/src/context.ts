import { BaseRpcContext } from '@nestjs/microservices';
import type { JsMsg } from '@nats-io/jetstream';

/** What a handler learns about the message besides its payload. */
export class JetStreamContext extends BaseRpcContext<[JsMsg, AbortSignal]> {
  get message(): JsMsg {
    return this.args[0];
  }
  /**
   * Aborted when the service starts shutting down: a handler that waits (for a round, for training)
   * should give up; its message is then returned to the stream at once for another delivery.
   */
  get signal(): AbortSignal {
    return this.args[1];
  }
  get subject(): string {
    return this.args[0].subject;
  }
  /** 1 on the first delivery, 2 on the first redelivery, ... */
  get deliveryCount(): number {
    return this.args[0].info.deliveryCount;
  }
  get streamSequence(): number {
    return this.args[0].info.streamSequence;
  }
  header(name: string): string | undefined {
    const value = this.args[0].headers?.get(name);
    return value ? value : undefined;
  }
}

/**
 * Thrown by a handler when retrying cannot help (the message is wrong, not the moment): the
 * message goes to the dead-letter subject at once with this reason.
 */
export class PoisonMessageError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'PoisonMessageError';
  }
}
