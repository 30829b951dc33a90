import { z } from 'zod';
import { envInt } from '@fedledger/config';
import { streams } from '@fedledger/contracts';
import { defineService } from '@fedledger/service-kit';
import { AggregatorModule } from './aggregator.module';

/** Settings of the aggregator besides the common ones (NATS_URL, LOG_LEVEL, LOG_FORMAT, FEDLEDGER_OTEL_EXPORTER, ...). */
export const aggregatorConfig = z.object({
  /**
   * Centre signatures on updates: `require` counts only updates signed by an identity (role centre) of the
   * organisation whose id is the centre's; `verify` checks those that are signed and counts unsigned ones; `off`.
   */
  UPDATE_SIGNATURES: z.enum(['off', 'verify', 'require']).default('verify'),
  /** The organisations (their CAs) the signatures are checked against. */
  IDENTITY_DIR: z.string().min(1).default('.data/identities'),
  /** Most examples one update may claim: a larger claim would buy a centre the round's average (rejected). */
  UPDATE_MAX_EXAMPLES: envInt(1, Number.MAX_SAFE_INTEGER, 'an example count').default(100_000_000),
});
export type AggregatorConfig = z.infer<typeof aggregatorConfig>;

export const aggregatorService = defineService({
  name: 'aggregator',
  module: AggregatorModule,
  config: aggregatorConfig,
  blobStore: true,
  streams: () => [{ ...streams.FL_UPDATES, maxAgeMs: 7 * 24 * 3600 * 1000, duplicateWindowMs: 3600 * 1000 }, { ...streams.FL_AGGREGATES, duplicateWindowMs: 3600 * 1000 }],
  consumers: () => [
    // Updates stay unacked until their round is aggregated: many wait at once, kept alive (working) every ackWait/2.
    // A short ackWait brings a killed aggregator's updates back to its successor within seconds.
    { handler: 'model-update', stream: streams.FL_UPDATES.name, durable: 'aggregator-updates', filterSubjects: ['fl.updates.>'], concurrency: 512, ackWaitMs: 4_000, maxDeliver: 20, backoffMs: [500, 2_000, 10_000] },
    { handler: 'round-close', stream: streams.FL_CONTROL.name, durable: 'aggregator-control', filterSubjects: ['fl.control.*.*.close'], concurrency: 16, ackWaitMs: 5_000, maxDeliver: 20, backoffMs: [1_000, 5_000, 10_000] },
  ],
});
