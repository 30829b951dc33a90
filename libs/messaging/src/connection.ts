import { Logger } from '@nestjs/common';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';

export interface JetStreamConnectionOptions {
  /** nats://host:port, comma-separated for a cluster. */
  servers: string | string[];
  /** Connection name shown by the server (`nats server report connections`). */
  name: string;
  /** Per-request timeout for JetStream API calls and publish acks. */
  apiTimeoutMs?: number;
}

/**
 * One NATS connection with its JetStream client and manager. A service opens one and hands it to
 * the transport, the client proxy, the KV state and the blob store.
 */
export class JetStreamConnection {
  private readonly logger: Logger;

  private constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    readonly name: string,
  ) {
    this.logger = new Logger(`nats:${name}`);
    void this.watchStatus();
  }

  static async connect(options: JetStreamConnectionOptions): Promise<JetStreamConnection> {
    const servers = Array.isArray(options.servers) ? options.servers : options.servers.split(',').map((s) => s.trim());
    let nc: NatsConnection;
    try {
      nc = await connect({ servers, name: options.name, maxReconnectAttempts: -1, reconnectTimeWait: 500, timeout: 5_000 });
    } catch (err) {
      throw new Error(`cannot connect to NATS at ${servers.join(',')} as ${options.name}: ${(err as Error).message}`);
    }
    // Generous: on a busy machine moving large blobs, JetStream answers can take seconds.
    const timeout = options.apiTimeoutMs ?? 30_000;
    const jsm = await jetstreamManager(nc, { timeout }).catch((err: Error) => {
      void nc.close();
      throw new Error(`NATS at ${servers.join(',')} has no JetStream enabled (or it is not ready): ${err.message}`);
    });
    return new JetStreamConnection(nc, jetstream(nc, { timeout }), jsm, options.name);
  }

  /** Largest message the server accepts, headers included. */
  get maxPayload(): number {
    return this.nc.info?.max_payload ?? 1024 * 1024;
  }

  get connected(): boolean {
    return !this.nc.isClosed() && !this.nc.isDraining();
  }

  /** Flushes pending publishes and closes; subscriptions drain first. */
  async drain(): Promise<void> {
    if (this.nc.isClosed()) return;
    try {
      await this.nc.drain();
    } catch (err) {
      if (!this.nc.isClosed()) await this.nc.close();
      this.logger.warn(`drain failed, connection closed: ${(err as Error).message}`);
    }
  }

  private async watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      switch (s.type) {
        case 'disconnect':
          this.logger.warn(`disconnected from ${s.server}`);
          break;
        case 'reconnect':
          this.logger.log(`reconnected to ${s.server}`);
          break;
        case 'error':
          this.logger.error(`connection error: ${String(s.error)}`);
          break;
        default:
          break;
      }
    }
  }
}
