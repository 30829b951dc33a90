import { z } from 'zod';
import { streams } from '@fedledger/contracts';
import { defineService } from '@fedledger/service-kit';
import { LedgerIndexerModule } from './ledger-indexer.module';

/** Settings of the ledger-indexer besides the common ones (NATS_URL, LOG_LEVEL, LOG_FORMAT, FEDLEDGER_OTEL_EXPORTER, ...). */
export const ledgerIndexerConfig = z.object({
  /** The cache: MongoDB, or FerretDB locally (mongodb://host:port/). */
  MONGO_URL: z.string().regex(/^mongodb(\+srv)?:\/\/\S+$/, 'expected mongodb://host:port/').default('mongodb://127.0.0.1:27017/'),
  MONGO_DB: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, 'expected a database name: letters, digits, _ or -').default('fedledger_cache'),
  /** embedded: follow the single-machine ledger in LEDGER_DIR; fabric: a Fabric network through FABRIC_CONNECTION. */
  LEDGER: z.enum(['embedded', 'fabric']).default('embedded'),
  FABRIC_CONNECTION: z.string().min(1).default('.data/fabric/connection.json'),
  /** The embedded ledger's folder it follows (read only: the passport-registry writes it). */
  LEDGER_DIR: z.string().min(1).default('.data/ledger'),
  IDENTITY_DIR: z.string().min(1).default('.data/identities'),
  /** The member identity the indexer reads the ledger as: <org>/<user>. */
  INDEXER_IDENTITY: z.string().regex(/^[^/\s]+\/[^/\s]+$/, 'expected <org>/<user>, e.g. ub/Admin').default('ub/Admin'),
  /** Health turns degraded when the cache is this many blocks behind the ledger. */
  MAX_LAG_BLOCKS: z.coerce.number().int().min(1).default(1000),
});
export type LedgerIndexerConfig = z.infer<typeof ledgerIndexerConfig>;

export const ledgerIndexerService = defineService({
  name: 'ledger-indexer',
  module: LedgerIndexerModule,
  config: ledgerIndexerConfig,
  http: { defaultPort: 8082 },
  // What it indexed, for other services (grant revocations, passport changes); replays are de-duplicated by msg id.
  streams: () => [{ ...streams.LEDGER_EVENTS, maxAgeMs: 30 * 24 * 3600 * 1000, duplicateWindowMs: 24 * 3600 * 1000 }],
});
