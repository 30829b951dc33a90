import { Logger } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { connect, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';

export interface JetStreamConnectionOptions {
  /** nats://host:port, comma-separated for a cluster. */
  servers: string | string[];
  /** Connection name shown by the server (`nats server report connections`). */
  name: string;
  /** Per-request timeout for JetStream API calls and publish acks. */
  apiTimeoutMs?: number;
  /** File holding this principal's nkey seed (SU…): the server knows the principal by its public key. */
  nkeySeedFile?: string;
  /** PEM file of the CA that issued the server's TLS certificate: the connection is then TLS, verified. */
  tlsCaFile?: string;
  /**
   * Where request replies arrive (default `_INBOX`). The server lets each principal subscribe only to its own
   * prefix (`inboxPrefix()` of @fedledger/contracts), so nobody reads another's replies or pulled messages.
   */
  inboxPrefix?: string;
  /**
   * How many servers keep each stream and bucket this connection provisions (JetStream replicas; 3 on a 3-server
   * cluster to survive losing one). Default 1. A spec that names its own count keeps it.
   */
  replicas?: number;
}

/**
 * One NATS connection with its JetStream client and manager. A service opens one and hands it to
 * the transport, the client proxy, the KV state and the blob store.
 */
export class JetStreamConnection {
  private readonly logger: Logger;
  /** False from a disconnect until the reconnect (nats.js keeps the connection open while it retries). */
  private linkUp = true;

  private constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    readonly name: string,
    /** Replicas of what this connection provisions (JetStreamConnectionOptions.replicas). */
    readonly replicas: number,
  ) {
    this.logger = new Logger(`nats:${name}`);
    void this.watchStatus();
  }

  static async connect(options: JetStreamConnectionOptions): Promise<JetStreamConnection> {
    const servers = Array.isArray(options.servers) ? options.servers : options.servers.split(',').map((s) => s.trim());
    let nc: NatsConnection;
    let seed: Uint8Array | undefined;
    if (options.nkeySeedFile) {
      try {
        seed = new TextEncoder().encode(readFileSync(options.nkeySeedFile, 'utf8').trim());
      } catch (err) {
        throw new Error(`cannot read the NATS nkey seed ${options.nkeySeedFile}: ${(err as Error).message}`);
      }
    }
    try {
      nc = await connect({
        servers,
        name: options.name,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        timeout: 5_000,
        ...(seed ? { authenticator: nkeyAuthenticator(seed) } : {}),
        ...(options.tlsCaFile ? { tls: { caFile: options.tlsCaFile } } : {}),
        ...(options.inboxPrefix ? { inboxPrefix: options.inboxPrefix } : {}),
      });
    } catch (err) {
      const how = [seed ? `nkey from ${options.nkeySeedFile}` : 'no credentials', options.tlsCaFile ? `TLS verified by ${options.tlsCaFile}` : 'no TLS'].join(', ');
      throw new Error(`cannot connect to NATS at ${servers.join(',')} as ${options.name} (${how}): ${(err as Error).message}`);
    }
    // Generous: on a busy machine moving large blobs, JetStream answers can take seconds.
    const timeout = options.apiTimeoutMs ?? 30_000;
    const jsm = await jetstreamManager(nc, { timeout }).catch((err: Error) => {
      void nc.close();
      if (/Permissions Violation/.test(err.message)) {
        throw new Error(`NATS at ${servers.join(',')} refused fedledger connection ${options.name}: ${err.message} (are these this principal's credentials? NATS_NKEY_SEED_FILE)`);
      }
      throw new Error(`NATS at ${servers.join(',')} has no JetStream enabled (or it is not ready): ${err.message}`);
    });
    return new JetStreamConnection(nc, jetstream(nc, { timeout }), jsm, options.name, options.replicas ?? 1);
  }

  /** Largest message the server accepts, headers included. */
  get maxPayload(): number {
    return this.nc.info?.max_payload ?? 1024 * 1024;
  }

  /** Whether the connection is up now: not closed or draining, and not between a disconnect and a reconnect. */
  get connected(): boolean {
    return this.linkUp && !this.closed;
  }

  /** Closed or draining for good (a disconnected connection is not closed: nats.js reconnects and buffers meanwhile). */
  get closed(): boolean {
    return this.nc.isClosed() || this.nc.isDraining();
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
          this.linkUp = false;
          this.logger.warn(`disconnected from ${s.server}`);
          break;
        case 'reconnect':
          this.linkUp = true;
          this.logger.log(`reconnected to ${s.server}`);
          break;
        case 'error':
          // A permission violation names the subject and what was refused ("Permissions Violation for Publish to …").
          this.logger.error(`connection error: ${s.error instanceof Error ? s.error.message : String(s.error)}`);
          break;
        default:
          break;
      }
    }
  }
}
