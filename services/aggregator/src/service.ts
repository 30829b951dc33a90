import { z } from 'zod';
import { streams } from '@fedledger/contracts';
import { defineService } from '@fedledger/service-kit';
import { AggregatorModule } from './aggregator.module';

/** Settings of the aggregator besides the common ones (NATS_URL, LOG_LEVEL, LOG_FORMAT, FEDLEDGER_OTEL_EXPORTER, ...). */
export const aggregatorConfig = z.object({});

export const aggregatorService = defineService({
  name: 'aggregator',
  module: AggregatorModule,
  config: aggregatorConfig,
  streams: () => [{ ...streams.FL_UPDATES, maxAgeMs: 7 * 24 * 3600 * 1000 }, { ...streams.FL_AGGREGATES }],
});
