import { Module } from '@nestjs/common';

/** Chaincode events mirrored into MongoDB, audits (issue 6). */
@Module({})
export class LedgerIndexerModule {}
