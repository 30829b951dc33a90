import { Module } from '@nestjs/common';

/** Experiments, the round state machine and task dispatch (issue 3). */
@Module({})
export class RoundCoordinatorModule {}
