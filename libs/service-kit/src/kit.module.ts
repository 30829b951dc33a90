import { Global, Module, type DynamicModule, type Type } from '@nestjs/common';
import { BlobStore, JetStreamClientProxy, JetStreamConnection } from '@fedledger/messaging';
import { HealthController, SERVICE_IDENTITY, ServiceHealth, type ServiceIdentity } from './health';

/** Injection token of the validated configuration of the running service. */
export const SERVICE_CONFIG = Symbol('SERVICE_CONFIG');

/** What every service module can inject: its config, the NATS connection, the client proxy, its health, and the blob store when asked for. */
@Global()
@Module({})
export class ServiceKitModule {
  static forRoot(opts: { config: unknown; connection: JetStreamConnection; identity: ServiceIdentity; blobStore?: BlobStore }): DynamicModule {
    const blobs = opts.blobStore ? [{ provide: BlobStore, useValue: opts.blobStore }] : [];
    return {
      module: ServiceKitModule,
      providers: [
        { provide: SERVICE_CONFIG, useValue: opts.config },
        { provide: JetStreamConnection, useValue: opts.connection },
        { provide: JetStreamClientProxy, useFactory: () => new JetStreamClientProxy(opts.connection) },
        { provide: SERVICE_IDENTITY, useValue: opts.identity },
        ServiceHealth,
        ...blobs,
      ],
      exports: [SERVICE_CONFIG, JetStreamConnection, JetStreamClientProxy, SERVICE_IDENTITY, ServiceHealth, ...blobs.map((b) => b.provide)],
    };
  }
}

/** The root module of a running service: the kit, the service's own module, and /health for HTTP services. */
@Module({})
export class ServiceRootModule {
  static create(kit: DynamicModule, serviceModule: Type<unknown>, http: boolean): DynamicModule {
    return { module: ServiceRootModule, imports: [kit, serviceModule], controllers: http ? [HealthController] : [] };
  }
}
