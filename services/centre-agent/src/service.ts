import { z } from 'zod';
import { defineService } from '@fedledger/service-kit';
import { CentreAgentModule } from './centre-agent.module';

/** Settings of the centre-agent besides the common ones (NATS_URL, LOG_LEVEL, LOG_FORMAT, FEDLEDGER_OTEL_EXPORTER, ...). */
export const centreAgentConfig = z.object({
  /** This centre's id, as granted on the ledger; also its task subject token and consumer name. */
  CENTRE_ID: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, "expected 1..128 letters, digits, '_' or '-'"),
});

export const centreAgentService = defineService({
  name: 'centre-agent',
  module: CentreAgentModule,
  config: centreAgentConfig,
});
