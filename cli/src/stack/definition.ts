import path from 'node:path';
import {
  DEFAULT_FERRETDB_DEBUG_PORT,
  DEFAULT_MONGO_PORT,
  DEFAULT_NATS_MONITOR_PORT,
  DEFAULT_NATS_PORT,
  ferretComponent,
  LOOPBACK,
  natsComponent,
  serviceComponent,
  type ComponentSpec,
  type SecuredNats,
} from '@fedledger/local-stack';
import { centrePrincipal, NATS_SERVICES, OPERATOR, servicePrincipal, type NatsService, type Principal } from '@fedledger/contracts';
import { logFileOf, type StackLayout } from './layout';

/**
 * What `fedledger up` runs, in start order (stopped in reverse): the infrastructure, then the
 * platform services; `--centres N` adds N local centre-agents (centre-c01, ...) after them.
 */
export const STACK_COMPONENTS = ['nats', 'ferretdb', 'round-coordinator', 'aggregator', 'passport-registry', 'ledger-indexer'] as const;

/** The round-coordinator's REST port when free. */
export const DEFAULT_COORDINATOR_PORT = 8080;
/** The passport-registry's and the ledger-indexer's REST ports when free. */
export const DEFAULT_REGISTRY_PORT = 8081;
export const DEFAULT_INDEXER_PORT = 8082;

/** The embedded ledger and the identities of a local stack, under its data directory. */
export function ledgerDirsOf(layout: StackLayout): { ledgerDir: string; identityDir: string } {
  return { ledgerDir: path.join(layout.dataDir, 'ledger'), identityDir: path.join(layout.dataDir, 'identities') };
}
export type StackComponentName = (typeof STACK_COMPONENTS)[number];

/** A port the stack needs: explicit (from a flag) must be free, else the default if free, else any. */
export interface PortRequest {
  key: keyof StackPorts;
  default: number;
  explicit?: number;
  /** The flag that set it, for error messages. */
  flag?: string;
}

export interface StackPorts {
  nats: number;
  natsMonitor: number;
  mongo: number;
  ferretDebug: number;
  coordinator: number;
  registry: number;
  indexer: number;
}

export function portRequests(flags: { natsPort?: number; mongoPort?: number }): PortRequest[] {
  return [
    { key: 'nats', default: DEFAULT_NATS_PORT, explicit: flags.natsPort, flag: '--nats-port' },
    { key: 'natsMonitor', default: DEFAULT_NATS_MONITOR_PORT },
    { key: 'mongo', default: DEFAULT_MONGO_PORT, explicit: flags.mongoPort, flag: '--mongo-port' },
    { key: 'ferretDebug', default: DEFAULT_FERRETDB_DEBUG_PORT },
    { key: 'coordinator', default: DEFAULT_COORDINATOR_PORT },
    { key: 'registry', default: DEFAULT_REGISTRY_PORT },
    { key: 'indexer', default: DEFAULT_INDEXER_PORT },
  ];
}

/** The centre ids `--centres N` runs: c01..cNN. */
export function localCentreIds(centres: number): string[] {
  return Array.from({ length: centres }, (_, i) => `c${String(i + 1).padStart(2, '0')}`);
}

/** Who may connect to the stack's NATS: the operator, every service and the local centres. */
export function stackPrincipals(centres: number): Principal[] {
  return [OPERATOR, ...NATS_SERVICES.map(servicePrincipal), ...localCentreIds(centres).map(centrePrincipal)];
}

/** The components; NATS requires TLS and the credentials in `nats` (see ensureNatsSecurity), handed to each service. */
export function stackSpecs(layout: StackLayout, ports: StackPorts, nats: SecuredNats, centres = 0, ledgerMode: 'embedded' | 'fabric' = 'embedded'): ComponentSpec[] {
  const natsDir = path.join(layout.dataDir, 'nats');
  const natsSpec = natsComponent({
    name: 'nats',
    port: ports.nats,
    monitorPort: ports.natsMonitor,
    storeDir: natsDir,
    configFile: path.join(natsDir, 'nats-server.conf'),
    logFile: logFileOf(layout, 'nats'),
    security: nats.security,
  });
  const natsUrl = natsSpec.url;
  const ledger = ledgerDirsOf(layout);
  const ledgerEnv = { LEDGER: ledgerMode, LEDGER_DIR: ledger.ledgerDir, IDENTITY_DIR: ledger.identityDir, FABRIC_CONNECTION: path.join(layout.dataDir, 'fabric', 'connection.json') };
  const service = (name: NatsService, extra: { httpPort?: number; env?: Record<string, string> } = {}) =>
    serviceComponent({ service: name, name, natsUrl, logFile: logFileOf(layout, name), ...extra, env: { ...nats.credentials(servicePrincipal(name)), ...extra.env } });
  return [
    natsSpec,
    ferretComponent({
      name: 'ferretdb',
      port: ports.mongo,
      debugPort: ports.ferretDebug,
      dataDir: path.join(layout.dataDir, 'ferretdb'),
      logFile: logFileOf(layout, 'ferretdb'),
    }),
    // writes to its REST API are signed by identities of these organisations
    service('round-coordinator', { httpPort: ports.coordinator, env: { IDENTITY_DIR: ledger.identityDir } }),
    service('aggregator'),
    service('passport-registry', { httpPort: ports.registry, env: ledgerEnv }),
    service('ledger-indexer', { httpPort: ports.indexer, env: { ...ledgerEnv, MONGO_URL: `mongodb://${LOOPBACK}:${ports.mongo}/` } }),
    ...localCentreIds(centres).map((id) =>
      serviceComponent({ service: 'centre-agent', name: `centre-${id}`, natsUrl, logFile: logFileOf(layout, `centre-${id}`), env: { ...nats.credentials(centrePrincipal(id)), CENTRE_ID: id } }),
    ),
  ];
}
