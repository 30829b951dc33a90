import { Module } from '@nestjs/common';

/** Update validation and aggregation strategies (issue 3). */
@Module({})
export class AggregatorModule {}
