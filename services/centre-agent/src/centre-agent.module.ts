import { Module } from '@nestjs/common';

/** Pulls its tasks outbound, trains locally, sends back weights (issues 3 and 4). */
@Module({})
export class CentreAgentModule {}
