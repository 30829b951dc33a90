import { z } from 'zod';
import { streams } from '@fedledger/contracts';
import { defineService } from '@fedledger/service-kit';
import { RoundCoordinatorModule } from './round-coordinator.module';

/** Settings of the round-coordinator besides the common ones (NATS_URL, LOG_LEVEL, LOG_FORMAT, FEDLEDGER_OTEL_EXPORTER, ...). */
export const roundCoordinatorConfig = z.object({});

export const roundCoordinatorService = defineService({
  name: 'round-coordinator',
  module: RoundCoordinatorModule,
  config: roundCoordinatorConfig,
  http: { defaultPort: 8080 },
  streams: () => [{ ...streams.FL_TASKS, maxAgeMs: 7 * 24 * 3600 * 1000 }, { ...streams.FL_EVENTS }, { ...streams.FL_HEARTBEATS, maxAgeMs: 3600 * 1000 }],
});
