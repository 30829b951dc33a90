import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { hostname } from 'node:os';
import path from 'node:path';
import { MongoClient, type Db } from 'mongodb';
import { context as otelContext, metrics, trace } from '@opentelemetry/api';
import { LedgerEventIndexed, subjects } from '@fedledger/contracts';
import type { Identity } from '@fedledger/identity';
import type { ChaincodeEvent, LedgerGateway } from '@fedledger/ledger';
import { IndexerBusyError, LedgerIndexer, type PassportDirectory } from '@fedledger/ledger-index';
import { openServiceLedger } from '@fedledger/ledger-host';
import { JetStreamConnection, JetStreamPublisher, KvState, LEDGER_TRACE_LINKS } from '@fedledger/messaging';
import { SERVICE_CONFIG, ServiceHealth } from '@fedledger/service-kit';
import { contextFromCarrier, telemetryRecording } from '@fedledger/telemetry';

const tracer = trace.getTracer('ledger-indexer');
/** How old a standby's passport directory may get before a listing reloads it from the cache. */
const DIRECTORY_REFRESH_MS = 2_000;
import type { LedgerIndexerConfig } from '../service';

/**
 * Runs the indexer for the service's lifetime: follows the ledger of LEDGER_DIR from the checkpoint in MongoDB,
 * announces every indexed event on `ledger.events.<name>.<subject>` and reports its lag in /health. A failure
 * (the database gone, say) is logged and the loop resumes from the checkpoint after a pause.
 */
@Injectable()
export class IndexerRunner implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(IndexerRunner.name);
  private readonly stop = new AbortController();
  private client: MongoClient | undefined;
  private ledger: LedgerGateway | undefined;
  private ledgerHeight = 0;
  private heightTimer: NodeJS.Timeout | undefined;
  private indexer: LedgerIndexer | undefined;
  private reader: Identity | undefined;
  private loop: Promise<void> | undefined;
  private lastError: string | undefined;
  /** True while this process holds the cache's lease and indexes: its directory follows every batch. */
  private writing = false;
  private directoryLoad: Promise<void> | undefined;
  private readonly publisher: JetStreamPublisher;
  /** The registry's trace links (transaction id → the submit's trace context), bound on first use. */
  private traceLinks: Promise<KvState<Record<string, string>> | undefined> | undefined;
  private noTraceLinksUntil: number | undefined;

  constructor(
    @Inject(SERVICE_CONFIG) private readonly config: LedgerIndexerConfig,
    private readonly connection: JetStreamConnection,
    private readonly health: ServiceHealth,
  ) {
    this.publisher = new JetStreamPublisher(connection);
  }

  async onApplicationBootstrap(): Promise<void> {
    ({ ledger: this.ledger, identity: this.reader } = openServiceLedger('ledger-indexer', this.config, { variable: 'INDEXER_IDENTITY', value: this.config.INDEXER_IDENTITY }));
    // The ledger's height for the lag, refreshed every second (a Fabric peer answers it over the network).
    const refresh = () =>
      void this.ledger
        ?.chainHeight()
        .then((h) => (this.ledgerHeight = h))
        .catch((err: unknown) => this.logger.warn(`cannot read the ledger's height: ${err instanceof Error ? err.message : String(err)}`));
    refresh();
    this.heightTimer = setInterval(refresh, 1_000);
    this.client = new MongoClient(this.config.MONGO_URL, { serverSelectionTimeoutMS: 5_000 });
    this.indexer = new LedgerIndexer({
      db: this.db,
      ledger: this.ledger,
      reader: this.reader,
      onIndexed: (event, subjectId) => this.announce(event, subjectId),
      log: (line) => this.logger.warn(line),
      // Stable across restarts on this host, so a restarted indexer takes its own lease back at once.
      holder: `ledger-indexer@${hostname()}`,
    });
    this.health.addCheck('index', () => this.lag());
    // The lag as a metric too (exported with the service's telemetry: FEDLEDGER_OTEL_EXPORTER).
    metrics
      .getMeter('ledger-indexer')
      .createObservableGauge('fedledger.ledger_indexer.lag', { unit: '{block}', description: 'blocks on the ledger not yet in the cache' })
      .addCallback((result) => result.observe(this.lag().lagBlocks));
    this.loop = this.runForever();
    const source = this.config.LEDGER === 'fabric' ? `Fabric channel ${this.ledger.channel}` : path.resolve(this.config.LEDGER_DIR);
    this.logger.log(`indexing ${source} into ${this.config.MONGO_DB}, reading as ${this.reader.mspId}/${this.reader.user}`);
  }

  async onModuleDestroy(): Promise<void> {
    this.stop.abort();
    clearInterval(this.heightTimer);
    await this.ledger?.close(); // ends the event stream the loop waits on
    await this.loop;
    await this.indexer?.release().catch(() => undefined);
    await this.client?.close();
  }

  get db(): Db {
    if (!this.client) throw new Error('the cache is not open');
    return this.client.db(this.config.MONGO_DB);
  }

  /** The ledger and the reader identity, for the audits. */
  get ledgerAndReader(): { ledger: LedgerGateway; reader: Identity } {
    if (!this.ledger || !this.reader) throw new Error('the ledger is not open');
    return { ledger: this.ledger, reader: this.reader };
  }

  /**
   * The passport directory the listings read. The writer's is current after every batch; a process that waits for
   * the lease (another indexer writes the cache) or has not started indexing yet loads it from the cache, again when
   * it is older than DIRECTORY_REFRESH_MS.
   */
  async directory(): Promise<PassportDirectory> {
    const indexer = this.indexer;
    if (!indexer) throw new Error('the cache is not open');
    const stale = indexer.directory.loaded === 0 || (!this.writing && Date.now() - indexer.directory.loaded > DIRECTORY_REFRESH_MS);
    if (stale) {
      this.directoryLoad ??= indexer.loadDirectory().finally(() => (this.directoryLoad = undefined));
      await this.directoryLoad;
    }
    return indexer.directory;
  }

  /** Ledger height against what the cache holds, in blocks. */
  lag(): { ok: boolean; ledgerHeight: number; indexedHeight: number; lagBlocks: number; lastError?: string } {
    const position = this.indexer?.position;
    const ledgerHeight = Math.max(this.ledgerHeight, position ? position.blockNumber + 1 : 0);
    const indexedHeight = position ? position.blockNumber + 1 : 0;
    // Blocks without events (invalid transactions) never move the checkpoint: count only what is behind the last event.
    const lagBlocks = Math.max(0, ledgerHeight - indexedHeight);
    return { ok: this.lastError === undefined && lagBlocks <= this.config.MAX_LAG_BLOCKS, ledgerHeight, indexedHeight, lagBlocks, ...(this.lastError ? { lastError: this.lastError } : {}) };
  }

  private async runForever(): Promise<void> {
    while (!this.stop.signal.aborted) {
      try {
        await this.indexer!.init();
        this.writing = true;
        this.lastError = undefined;
        await this.indexer!.run(this.stop.signal);
        return;
      } catch (err) {
        this.writing = false;
        if (this.stop.signal.aborted) return;
        if (err instanceof IndexerBusyError) this.logger.warn(`${err.message}: serving reads from the cache, taking the lease when it is free`);
        this.lastError = err instanceof Error ? err.message : String(err);
        this.logger.error(`indexing stopped: ${this.lastError}; resuming from the checkpoint in 2 s`);
        await new Promise((r) => setTimeout(r, 2_000));
      }
    }
  }

  /**
   * Announces an indexed event; while telemetry records, inside a span `index <event>` whose parent is the span that
   * submitted the transaction (found by its id in the registry's trace links), so the indexing joins that trace.
   */
  private async announce(event: ChaincodeEvent, subjectId: string): Promise<void> {
    if (!telemetryRecording()) return this.publishIndexed(event, subjectId);
    const carrier = await this.traceLinkOf(event.txId);
    const parent = carrier ? contextFromCarrier(carrier) : otelContext.active();
    const span = tracer.startSpan(`index ${event.eventName}`, { attributes: { 'fedledger.ledger.tx_id': event.txId, 'fedledger.ledger.block': event.blockNumber, 'fedledger.ledger.subject': subjectId } }, parent);
    try {
      await otelContext.with(trace.setSpan(parent, span), () => this.publishIndexed(event, subjectId));
    } finally {
      span.end();
    }
  }

  private async traceLinkOf(txId: string): Promise<Record<string, string> | undefined> {
    if (!this.traceLinks || (this.noTraceLinksUntil !== undefined && Date.now() >= this.noTraceLinksUntil)) {
      this.noTraceLinksUntil = undefined;
      this.traceLinks = KvState.bind(this.connection, LEDGER_TRACE_LINKS).catch(() => {
        this.noTraceLinksUntil = Date.now() + 5_000; // not there yet (no submit traced so far): asked again in a while
        return undefined;
      });
    }
    // One look, no waiting: most transactions have no link (submitted elsewhere), and indexing must not slow down
    // for them. The registry stores a link right after the commit, well before the indexer reads that block.
    return (await (await this.traceLinks)?.get(txId).catch(() => undefined))?.value;
  }

  private async publishIndexed(event: ChaincodeEvent, subjectId: string): Promise<void> {
    const message = LedgerEventIndexed.encode({
      eventName: event.eventName,
      subjectId,
      blockNumber: event.blockNumber,
      txIndex: event.checkpoint.txIndex,
      txId: event.txId,
      payloadJson: event.payload,
      indexedAtUnixMs: Date.now(),
    }).finish();
    await this.publisher.publish(subjects.ledgerEvent(event.eventName, subjectId), message, { msgId: `ledger:${event.txId}:${event.eventName}` });
  }
}
