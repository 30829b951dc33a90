export { defineService, deadLetter, runService, serviceConfigSchema, startService, type CommonConfig, type HttpSettings, type RunningService, type ServiceDefinition } from './service';
export { SERVICE_CONFIG, ServiceKitModule } from './kit.module';
export { HealthController, ServiceHealth, SERVICE_IDENTITY, type HealthCheckResult, type HealthReport, type ServiceIdentity } from './health';
export { parseRequest } from './request';
