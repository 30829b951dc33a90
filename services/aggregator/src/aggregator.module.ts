import { Module } from '@nestjs/common';
import { AggregatorHandler } from './handlers/aggregator.handler';
import { RoundAggregationService } from './rounds/round-aggregation.service';

/** Update validation, streaming aggregation and aggregate blobs. */
@Module({
  controllers: [AggregatorHandler],
  providers: [RoundAggregationService],
})
export class AggregatorModule {}
