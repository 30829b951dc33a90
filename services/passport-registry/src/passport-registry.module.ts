import { Module } from '@nestjs/common';
import { RoundEventsHandler } from './handlers/round-events.handler';
import { DatasetsController } from './http/datasets.controller';
import { PassportsController } from './http/passports.controller';
import { TransactionsController } from './http/transactions.controller';
import { LedgerTraceLinks } from './ledger/trace-links';
import { RegistryLedger } from './ledger/registry-ledger';
import { RoundRecorder } from './rounds/round-recorder';

/**
 * AI passports, datasets and grants on the ledger (issue 5): a REST API where callers sign their own
 * transactions (prepare → sign → submit), reads, and the automatic record of every federated round and final
 * model under the registry's own aggregator identity.
 */
@Module({
  controllers: [TransactionsController, PassportsController, DatasetsController, RoundEventsHandler],
  providers: [RegistryLedger, LedgerTraceLinks, RoundRecorder],
})
export class PassportRegistryModule {}
