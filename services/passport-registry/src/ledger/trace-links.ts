import { Injectable, Logger } from '@nestjs/common';
import { JetStreamConnection, KvState, LEDGER_TRACE_LINKS } from '@fedledger/messaging';
import { telemetryRecording, traceCarrier } from '@fedledger/telemetry';

/** How long a transaction's trace link is kept: the indexer follows the ledger within seconds. */
const LINK_TTL_MS = 3600 * 1000;

/**
 * The trace context of each ledger submit, by transaction id, in a KV bucket the ledger-indexer reads: the indexer
 * follows blocks rather than messages, and this is how its work on a transaction joins the trace that submitted it.
 * Written only while telemetry records; a failure to write is logged and changes nothing else.
 */
@Injectable()
export class LedgerTraceLinks {
  private readonly logger = new Logger(LedgerTraceLinks.name);
  private bucket: Promise<KvState<Record<string, string>>> | undefined;

  constructor(private readonly connection: JetStreamConnection) {}

  /** Links `txId` to the active span (call inside the submit's span). */
  record(txId: string): void {
    if (!telemetryRecording()) return;
    const carrier = traceCarrier();
    this.bucket ??= KvState.open(this.connection, { ...LEDGER_TRACE_LINKS, history: 1, ttlMs: LINK_TTL_MS });
    void this.bucket.then((kv) => kv.create(txId, carrier)).catch((err: Error) => this.logger.warn(`trace link of transaction ${txId} not stored: ${err.message}`));
  }
}
