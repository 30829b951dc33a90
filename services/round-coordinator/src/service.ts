import { z } from 'zod';
import { envInt } from '@fedledger/config';
import { streams, subjects } from '@fedledger/contracts';
import { defineService } from '@fedledger/service-kit';
import { EVENTS_DUPLICATE_WINDOW_MS } from './experiments/round-engine';
import { RoundCoordinatorModule } from './round-coordinator.module';

/** Settings of the round-coordinator besides the common ones (NATS_URL, LOG_LEVEL, LOG_FORMAT, FEDLEDGER_OTEL_EXPORTER, ...). */
export const roundCoordinatorConfig = z.object({
  /** How long starting an experiment waits for its minAvailableCentres to send heartbeats. */
  CENTRES_WAIT_MS: envInt(0, 3_600_000, 'milliseconds').default(30_000),
  /**
   * Where the coordinator checks, before starting an experiment with a passport, that every centre's announced
   * dataset holds a live grant for it: `embedded` (LEDGER_DIR, read only), `fabric` (FABRIC_CONNECTION), or `none`.
   */
  LEDGER: z.enum(['none', 'embedded', 'fabric']).default('none'),
  LEDGER_DIR: z.string().min(1).default('.data/ledger'),
  /** The organisations whose identities sign writes to the REST API (checked at start-up), and the ledger's members. */
  IDENTITY_DIR: z.string().min(1).default('.data/identities'),
  FABRIC_CONNECTION: z.string().min(1).default('.data/fabric/connection.json'),
  /** The member identity it reads grants as: <org>/<user>. */
  COORDINATOR_IDENTITY: z.string().regex(/^[^/\s]+\/[^/\s]+$/, 'expected <org>/<user>').default('ub/Admin'),
});
export type RoundCoordinatorConfig = z.infer<typeof roundCoordinatorConfig>;

const DAY = 24 * 3600 * 1000;

export const roundCoordinatorService = defineService({
  name: 'round-coordinator',
  module: RoundCoordinatorModule,
  config: roundCoordinatorConfig,
  http: { defaultPort: 8080 },
  streams: () => [
    { ...streams.FL_TASKS, maxAgeMs: 7 * DAY, duplicateWindowMs: EVENTS_DUPLICATE_WINDOW_MS },
    // Kept for replay by analysts (`fedledger events`), so no age limit.
    { ...streams.FL_EVENTS, duplicateWindowMs: EVENTS_DUPLICATE_WINDOW_MS },
    { ...streams.FL_HEARTBEATS, maxAgeMs: 3600 * 1000 },
    { ...streams.FL_CONTROL, maxAgeMs: 7 * DAY, duplicateWindowMs: EVENTS_DUPLICATE_WINDOW_MS },
  ],
  consumers: () => [
    { handler: 'update-accepted', stream: streams.FL_EVENTS.name, durable: 'coordinator-accepted', filterSubjects: ['fl.events.*.update.accepted'], concurrency: 1, backoffMs: [200, 1_000, 5_000] },
    { handler: 'update-rejected', stream: streams.FL_EVENTS.name, durable: 'coordinator-rejected', filterSubjects: ['fl.events.*.update.rejected'], concurrency: 1, backoffMs: [200, 1_000, 5_000] },
    // From the centres: a task they cannot do, and their evaluations of the global model.
    { handler: 'task-failed', stream: streams.FL_EVENTS.name, durable: 'coordinator-task-failed', filterSubjects: [subjects.eventsOfKind('task.failed')], concurrency: 1, backoffMs: [200, 1_000, 5_000] },
    { handler: 'evaluation-reported', stream: streams.FL_EVENTS.name, durable: 'coordinator-evaluations', filterSubjects: [subjects.eventsOfKind('evaluation.reported')], concurrency: 1, backoffMs: [200, 1_000, 5_000] },
    // Availability: each centre's latest heartbeat, then every new one (a restarted coordinator knows at once who is there).
    { handler: 'centre-heartbeat', stream: streams.FL_HEARTBEATS.name, durable: 'coordinator-heartbeats', filterSubjects: ['fl.heartbeats.>'], deliverPolicy: 'last-per-subject', concurrency: 16, maxDeliver: 2, backoffMs: [500] },
    { handler: 'round-aggregated', stream: streams.FL_AGGREGATES.name, durable: 'coordinator-aggregates', filterSubjects: ['fl.aggregates.>'], concurrency: 4, backoffMs: [200, 1_000, 5_000] },
  ],
});
