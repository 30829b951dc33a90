import { Module } from '@nestjs/common';
import { AuditController } from './http/audit.controller';
import { DatasetsController } from './http/datasets.controller';
import { PassportsController } from './http/passports.controller';
import { IndexerRunner } from './index/indexer-runner';

/** Chaincode events mirrored into MongoDB, audit queries and the cache-vs-ledger check (issue 6). */
@Module({
  controllers: [PassportsController, DatasetsController, AuditController],
  providers: [IndexerRunner],
})
export class LedgerIndexerModule {}
