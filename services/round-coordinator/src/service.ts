import { z } from 'zod';
import { streams } from '@fedledger/contracts';
import { defineService } from '@fedledger/service-kit';
import { EVENTS_DUPLICATE_WINDOW_MS } from './experiments/round-engine';
import { RoundCoordinatorModule } from './round-coordinator.module';

/** Settings of the round-coordinator besides the common ones (NATS_URL, LOG_LEVEL, LOG_FORMAT, FEDLEDGER_OTEL_EXPORTER, ...). */
export const roundCoordinatorConfig = z.object({});

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
    { handler: 'round-aggregated', stream: streams.FL_AGGREGATES.name, durable: 'coordinator-aggregates', filterSubjects: ['fl.aggregates.>'], concurrency: 4, backoffMs: [200, 1_000, 5_000] },
  ],
});
