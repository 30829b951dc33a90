import path from 'node:path';
import { centrePrincipal, decodeEvent, NATS_SERVICES, OPERATOR, servicePrincipal, streams, subjects, type EventRecord, type NatsService, type Principal } from '@fedledger/contracts';
import { ensureIdentity, signedJsonPost, type Identity } from '@fedledger/identity';
import { BlobStore, JetStreamConnection } from '@fedledger/messaging';
import {
  ensureNatsSecurity,
  ensureTools,
  ferretComponent,
  freePorts,
  LocalStackError,
  natsComponent,
  serviceComponent,
  startComponent,
  type ComponentSpec,
  type RunningComponent,
  type SecuredNats,
} from '@fedledger/local-stack';

export interface FederationOptions {
  /** Where data and logs go (logs/<component>.log). */
  dir: string;
  centres: string[];
  /** Environment for every service (e.g. LOG_LEVEL). */
  env?: Record<string, string>;
  /** Extra environment per component name ('round-coordinator', 'aggregator', 'centre-<id>'). */
  envOf?: Record<string, Record<string, string>>;
  progress?: (line: string) => void;
  /** Also run the passport-registry on this embedded ledger, recording the experiments' rounds on their passports. */
  registry?: { ledgerDir: string; identityDir: string };
  /**
   * With the registry: also run the ledger-indexer, mirroring that ledger into a FerretDB cache of its own
   * (<dir>/ferretdb), as the platform does for audits.
   */
  indexer?: boolean;
  /**
   * Where the identities are that issue the NATS server's TLS certificate: NATS always requires TLS and a
   * least-privilege user per service and centre (credentials in <dir>/nats-auth). Default: `registry.identityDir`,
   * else <dir>/identities.
   */
  identityDir?: string;
  /**
   * Who signs the writes to the coordinator's REST API (`<org>/<user>`, a developer issued in the identity folder
   * when absent). Default `ub/dev-1`. The coordinator checks them against the same identity folder.
   */
  apiCaller?: string;
}

/**
 * A whole federation on this machine, every part a real process on 127.0.0.1: nats-server, the
 * round-coordinator, the aggregator and one centre-agent per centre. Parts can be killed and
 * restarted one by one (crash tests); `fedledger simulate` runs on it.
 */
export class Federation {
  private readonly running = new Map<string, RunningComponent>();
  private connection: JetStreamConnection | undefined;

  private constructor(
    private readonly specs: Map<string, ComponentSpec>,
    readonly natsUrl: string,
    /** The NATS credentials every part connects with. */
    readonly nats: SecuredNats,
    readonly apiUrl: string,
    readonly logDir: string,
    /** The passport-registry's REST API, when it runs. */
    readonly registryUrl: string | undefined,
    /** The ledger-indexer's REST API (the audit queries), when it runs. */
    readonly indexerUrl: string | undefined,
    /** The identities (organisations, users) the federation's services check signatures against. */
    readonly identityDir: string,
    /** The identity that signs this federation's writes to the coordinator. */
    private readonly apiSigner: Identity,
  ) {}

  static async start(o: FederationOptions): Promise<Federation> {
    await ensureTools();
    const logs = path.join(o.dir, 'logs');
    if (o.indexer && !o.registry) throw new LocalStackError('the ledger-indexer follows the registry\'s ledger: give registry too');
    const [natsPort, monitorPort, httpPort, registryPort, indexerPort, mongoPort, ferretDebugPort] = await freePorts(7);
    const identityDir = o.identityDir ?? o.registry?.identityDir ?? path.join(o.dir, 'identities');
    const secured = await ensureNatsSecurity({
      dir: path.join(o.dir, 'nats-auth'),
      identityDir,
      principals: [OPERATOR, ...NATS_SERVICES.map(servicePrincipal), ...o.centres.map(centrePrincipal)],
    });
    const [callerOrg, callerUser] = (o.apiCaller ?? 'ub/dev-1').split('/');
    const apiSigner = await ensureIdentity(identityDir, { org: callerOrg!, user: callerUser!, role: 'developer' });
    const nats = natsComponent({
      port: natsPort!,
      monitorPort: monitorPort!,
      storeDir: path.join(o.dir, 'nats'),
      configFile: path.join(o.dir, 'nats.conf'),
      logFile: path.join(logs, 'nats.log'),
      security: secured.security,
    });
    const natsUrl = nats.url;
    const service = (name: NatsService) => ({ ...secured.credentials(servicePrincipal(name)), ...o.env, ...o.envOf?.[name] });
    const specs = new Map<string, ComponentSpec>([['nats', nats]]);
    const coordinatorEnv = { IDENTITY_DIR: identityDir, ...service('round-coordinator') };
    specs.set('round-coordinator', serviceComponent({ service: 'round-coordinator', natsUrl, httpPort: httpPort!, env: coordinatorEnv, logFile: path.join(logs, 'round-coordinator.log') }));
    specs.set('aggregator', serviceComponent({ service: 'aggregator', natsUrl, env: service('aggregator'), logFile: path.join(logs, 'aggregator.log') }));
    if (o.registry) {
      const registryEnv = { LEDGER_DIR: o.registry.ledgerDir, IDENTITY_DIR: o.registry.identityDir, ...service('passport-registry') };
      specs.set('passport-registry', serviceComponent({ service: 'passport-registry', natsUrl, httpPort: registryPort!, env: registryEnv, logFile: path.join(logs, 'passport-registry.log') }));
    }
    if (o.registry && o.indexer) {
      const ferret = ferretComponent({ port: mongoPort!, debugPort: ferretDebugPort!, dataDir: path.join(o.dir, 'ferretdb'), logFile: path.join(logs, 'ferretdb.log') });
      specs.set('ferretdb', ferret);
      const indexerEnv = { LEDGER_DIR: o.registry.ledgerDir, IDENTITY_DIR: o.registry.identityDir, MONGO_URL: ferret.url, ...service('ledger-indexer') };
      specs.set('ledger-indexer', serviceComponent({ service: 'ledger-indexer', natsUrl, httpPort: indexerPort!, env: indexerEnv, logFile: path.join(logs, 'ledger-indexer.log') }));
    }
    for (const id of o.centres) {
      const name = `centre-${id}`;
      const env = { ...secured.credentials(centrePrincipal(id)), CENTRE_ID: id, ...o.env, ...o.envOf?.[name] };
      specs.set(name, serviceComponent({ service: 'centre-agent', name, natsUrl, env, logFile: path.join(logs, `${name}.log`) }));
    }
    const federation = new Federation(specs, natsUrl, secured, specs.get('round-coordinator')!.url, logs, specs.get('passport-registry')?.url, specs.get('ledger-indexer')?.url, identityDir, apiSigner);
    // What the services need before they start: NATS, and the indexer's cache.
    const infrastructure = ['nats', 'ferretdb'].filter((n) => specs.has(n));
    try {
      await Promise.all(infrastructure.map((n) => federation.startPart(n)));
      const services = [o.registry && 'the passport-registry', specs.has('ledger-indexer') && 'the ledger-indexer'].filter(Boolean).join(', ');
      o.progress?.(`nats-server ready on ${natsUrl}; starting the coordinator, the aggregator${services ? `, ${services}` : ''} and ${o.centres.length} centre-agents (logs in ${logs})`);
      const started = Date.now();
      await Promise.all([...specs.keys()].filter((n) => !infrastructure.includes(n)).map((n) => federation.startPart(n)));
      o.progress?.(`${specs.size - infrastructure.length} services ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } catch (err) {
      await federation.stop();
      throw err;
    }
    return federation;
  }

  /** Component names: 'nats', 'round-coordinator', 'aggregator', 'passport-registry', 'ferretdb' and 'ledger-indexer' (if asked for), 'centre-<id>'. */
  get parts(): string[] {
    return [...this.specs.keys()];
  }

  pid(name: string): number | undefined {
    return this.running.get(name)?.pid;
  }

  /** Starts a part that is not running (again) and waits until it is ready. */
  async startPart(name: string): Promise<void> {
    const spec = this.specs.get(name);
    if (!spec) throw new LocalStackError(`no part named ${name} in this federation (parts: ${this.parts.join(', ')})`);
    if (this.running.has(name)) throw new LocalStackError(`${name} is already running (pid ${this.running.get(name)!.pid})`);
    this.running.set(name, await startComponent(spec, 'attached'));
  }

  /** SIGKILL, as a crash would. */
  async kill(name: string): Promise<void> {
    const c = this.running.get(name);
    this.running.delete(name);
    await c?.kill();
  }

  async restart(name: string): Promise<void> {
    await this.kill(name);
    await this.startPart(name);
  }

  async connect(): Promise<JetStreamConnection> {
    this.connection ??= await JetStreamConnection.connect({ servers: this.natsUrl, name: 'fedledger-federation', ...this.nats.connectOptions(OPERATOR) });
    return this.connection;
  }

  /**
   * The blob store, writing as the operator (who uploads initial weights and reads models), or in the scope of
   * `writer` (a test playing a centre: the operator may write anywhere).
   */
  async blobStore(writer: Principal = OPERATOR): Promise<BlobStore> {
    return BlobStore.open(await this.connect(), { stream: streams.FL_BLOBS.name, subjectPrefix: subjects.blobPrefix, scope: subjects.blobScope(writer) });
  }

  /** POST to the coordinator's REST API, signed as `apiCaller`; throws with the status and body when it is not 2xx. */
  async api<T = unknown>(pathname: string, body?: unknown): Promise<T> {
    const url = `${this.apiUrl}${pathname}`;
    const res = await fetch(url, signedJsonPost(this.apiSigner, pathname, body));
    const text = await res.text();
    if (!res.ok) throw new LocalStackError(`POST ${url} answered ${res.status}: ${text}`);
    return JSON.parse(text) as T;
  }

  /** GET from the coordinator's REST API. */
  async get<T = unknown>(pathname: string): Promise<T> {
    const url = `${this.apiUrl}${pathname}`;
    const res = await fetch(url);
    const text = await res.text();
    if (!res.ok) throw new LocalStackError(`GET ${url} answered ${res.status}: ${text}`);
    return JSON.parse(text) as T;
  }

  /** The experiment's events from the first, as they come; ends after experiment.completed. */
  async *events(experimentId: string): AsyncGenerator<EventRecord> {
    const connection = await this.connect();
    const consumer = await connection.js.consumers.get(streams.FL_EVENTS.name, { filter_subjects: [subjects.experimentEvents(experimentId)] });
    const messages = await consumer.consume();
    try {
      for await (const m of messages) {
        const event = decodeEvent(m.subject, m.data);
        yield event;
        if (event.event === 'experiment.completed') return;
      }
    } finally {
      messages.stop();
    }
  }

  async stop(): Promise<void> {
    await this.connection?.drain();
    this.connection = undefined;
    // The services first, then what they use.
    const infrastructure = ['nats', 'ferretdb'];
    await Promise.all([...this.running.entries()].filter(([n]) => !infrastructure.includes(n)).map(([, c]) => c.stop(10_000)));
    await Promise.all(infrastructure.map((n) => this.running.get(n)?.stop(5_000)));
    this.running.clear();
  }
}
