import { z } from 'zod';
import { defineService } from '@fedledger/service-kit';
import { LedgerIndexerModule } from './ledger-indexer.module';

/** Settings of the ledger-indexer besides the common ones (NATS_URL, LOG_LEVEL, LOG_FORMAT, FEDLEDGER_OTEL_EXPORTER, ...). */
export const ledgerIndexerConfig = z.object({});

export const ledgerIndexerService = defineService({
  name: 'ledger-indexer',
  module: LedgerIndexerModule,
  config: ledgerIndexerConfig,
  http: { defaultPort: 8082 },
});
