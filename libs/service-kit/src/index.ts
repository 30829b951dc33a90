export { defineService, deadLetter, runService, startService, type CommonConfig, type HttpSettings, type RunningService, type ServiceDefinition } from './service';
export { SERVICE_CONFIG, ServiceKitModule } from './kit.module';
export { HealthController, ServiceHealth, SERVICE_IDENTITY, type HealthReport, type ServiceIdentity } from './health';
