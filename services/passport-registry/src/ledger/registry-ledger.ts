import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import path from 'node:path';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { lazyInstruments } from '@fedledger/telemetry';
import { ConfigError } from '@fedledger/config';
import type { Identity } from '@fedledger/identity';
import { prepareProposal, type LedgerGateway, type Proposal, type SignedProposal, type SubmitResult } from '@fedledger/ledger';
import { openServiceLedger } from '@fedledger/ledger-host';
import { SERVICE_CONFIG } from '@fedledger/service-kit';
import type { PassportRegistryConfig } from '../service';
import { LedgerTraceLinks } from './trace-links';

const tracer = trace.getTracer('passport-registry');
const submitDuration = lazyInstruments('passport-registry', (meter) =>
  meter.createHistogram('fedledger.ledger.submit.duration', { unit: 's', description: 'a transaction submitted to the ledger: endorsed, ordered and committed (or refused)' }),
);

/**
 * A ledger submit as a CLIENT span and a latency sample, by transaction name and outcome; `committed` runs inside
 * the span with the transaction id.
 */
async function measuredSubmit<T>(txName: string, submit: () => Promise<T>, committed: (txId: string) => void): Promise<T> {
  return tracer.startActiveSpan(`ledger submit ${txName}`, { kind: SpanKind.CLIENT, attributes: { 'fedledger.ledger.tx_name': txName } }, async (span) => {
    const started = performance.now();
    let outcome = 'committed';
    try {
      const result = await submit();
      const txId = (result as { txId?: unknown } | null)?.txId;
      if (typeof txId === 'string') {
        span.setAttribute('fedledger.ledger.tx_id', txId);
        committed(txId);
      }
      return result;
    } catch (err) {
      outcome = 'refused';
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      submitDuration().record((performance.now() - started) / 1000, { 'fedledger.ledger.tx_name': txName, outcome });
      span.end();
    }
  });
}

/** The chaincode answers JSON strings; an empty answer stays a string. */
export function parseResult(result: string): unknown {
  if (result === '') return result;
  try {
    return JSON.parse(result) as unknown;
  } catch {
    return result;
  }
}

/**
 * The registry's view of the ledger: the embedded ledger of LEDGER_DIR (this process its one writer), the
 * registry's own identity for automatic writes and reads, and the relay of proposals callers signed themselves.
 */
@Injectable()
export class RegistryLedger implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(RegistryLedger.name);
  private ledger: LedgerGateway | undefined;
  private me: Identity | undefined;

  constructor(
    @Inject(SERVICE_CONFIG) private readonly config: PassportRegistryConfig,
    private readonly traceLinks: LedgerTraceLinks,
  ) {}

  onModuleInit(): void {
    ({ ledger: this.ledger, identity: this.me } = openServiceLedger('passport-registry', this.config, { variable: 'REGISTRY_IDENTITY', value: this.config.REGISTRY_IDENTITY }, 'the passport-registry'));
    if (this.me.role !== 'aggregator') {
      throw new ConfigError('passport-registry', [
        { variable: 'REGISTRY_IDENTITY', reason: `${this.config.REGISTRY_IDENTITY} has ${this.me.role ? `role ${this.me.role}` : 'no role'}; the registry records rounds and needs role aggregator` },
      ]);
    }
    const where =
      this.config.LEDGER === 'fabric'
        ? `Fabric channel ${this.ledger.channel} (${path.resolve(this.config.FABRIC_CONNECTION)})`
        : `ledger ${path.resolve(this.config.LEDGER_DIR)}, members from ${path.resolve(this.config.IDENTITY_DIR)}`;
    this.logger.log(`${where}; recording rounds as ${this.label}`);
  }

  async onModuleDestroy(): Promise<void> {
    await this.ledger?.close();
  }

  /** The registry's identity as passports name aggregators: `MSP/user`. */
  get label(): string {
    return `${this.identity.mspId}/${this.identity.user}`;
  }

  private get identity(): Identity {
    if (!this.me) throw new Error('the registry ledger is not open');
    return this.me;
  }

  private get open(): LedgerGateway {
    if (!this.ledger) throw new Error('the registry ledger is not open');
    return this.ledger;
  }

  /** Reads as the registry (reads are public to members). */
  async evaluate<T = unknown>(txName: string, args: string[]): Promise<T> {
    return parseResult(await this.open.evaluate(this.identity, txName, args)) as T;
  }

  /** Writes as the registry: only what its aggregator role allows (rounds, the final model's digest). */
  async submit<T = unknown>(txName: string, args: string[]): Promise<T> {
    return parseResult((await measuredSubmit(txName, () => this.open.submit(this.identity, txName, args), (txId) => this.traceLinks.record(txId))).result) as T;
  }

  /** Step one of prepare → caller signs → submit: the proposal for the caller to sign. */
  prepare(creator: { mspId: string; certPem: string }, txName: string, args: string[]): Proposal {
    return prepareProposal(creator, txName, args, { channel: this.open.channel, chaincode: this.open.chaincode });
  }

  submitSigned(signed: SignedProposal): Promise<SubmitResult> {
    return measuredSubmit(signed.proposal.txName, () => this.open.submitSigned(signed), (txId) => this.traceLinks.record(txId));
  }

  evaluateSigned(signed: SignedProposal): Promise<string> {
    return this.open.evaluateSigned(signed);
  }
}
