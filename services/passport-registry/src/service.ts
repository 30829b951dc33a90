import { z } from 'zod';
import { streams } from '@fedledger/contracts';
import { defineService } from '@fedledger/service-kit';
import { PassportRegistryModule } from './passport-registry.module';

/** Settings of the passport-registry besides the common ones (NATS_URL, LOG_LEVEL, LOG_FORMAT, FEDLEDGER_OTEL_EXPORTER, ...). */
export const passportRegistryConfig = z.object({
  /** embedded: the single-machine ledger in LEDGER_DIR; fabric: a Fabric network through FABRIC_CONNECTION. */
  LEDGER: z.enum(['embedded', 'fabric']).default('embedded'),
  /** fabric: the connection file `fedledger up --ledger fabric` writes (peer endpoint, TLS CA, channel, chaincode). */
  FABRIC_CONNECTION: z.string().min(1).default('.data/fabric/connection.json'),
  /** The embedded ledger's folder (its block file); this service is its one writer while it runs. */
  LEDGER_DIR: z.string().min(1).default('.data/ledger'),
  /** Where `fedledger identity init` put the organisations: their CAs are the ledger's members. */
  IDENTITY_DIR: z.string().min(1).default('.data/identities'),
  /** The registry's own identity (role aggregator) for the rounds and final models it records: <org>/<user>. */
  REGISTRY_IDENTITY: z.string().regex(/^[^/\s]+\/[^/\s]+$/, 'expected <org>/<user>, e.g. ub/passport-registry').default('ub/passport-registry'),
});
export type PassportRegistryConfig = z.infer<typeof passportRegistryConfig>;

export const passportRegistryService = defineService({
  name: 'passport-registry',
  module: PassportRegistryModule,
  config: passportRegistryConfig,
  http: { defaultPort: 8081 },
  consumers: () => [
    // One round at a time, in order: each round on the ledger chains to the one before it.
    { handler: 'round-completed', stream: streams.FL_EVENTS.name, durable: 'passport-registry-rounds', filterSubjects: ['fl.events.*.round.completed'], concurrency: 1, maxDeliver: 20, backoffMs: [500, 2_000, 5_000] },
    // The final model is recorded once its last round is (retried until then).
    { handler: 'experiment-completed', stream: streams.FL_EVENTS.name, durable: 'passport-registry-experiments', filterSubjects: ['fl.events.*.experiment.completed'], concurrency: 1, maxDeliver: 30, backoffMs: [500, 1_000, 2_000, 5_000] },
  ],
});
