import { z } from 'zod';
import { defineService } from '@fedledger/service-kit';
import { PassportRegistryModule } from './passport-registry.module';

/** Settings of the passport-registry besides the common ones (NATS_URL, LOG_LEVEL, LOG_FORMAT, FEDLEDGER_OTEL_EXPORTER, ...). */
export const passportRegistryConfig = z.object({});

export const passportRegistryService = defineService({
  name: 'passport-registry',
  module: PassportRegistryModule,
  config: passportRegistryConfig,
  http: { defaultPort: 8081 },
});
