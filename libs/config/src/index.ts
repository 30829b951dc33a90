export { ConfigError, loadConfig, type ConfigIssue } from './load-config';
export {
  envInt,
  envPort,
  healthPortConfig,
  httpConfig,
  httpUrl,
  LOG_LEVELS,
  logConfig,
  logLevel,
  natsConfig,
  natsUrl,
  TELEMETRY_EXPORTERS,
  telemetryConfig,
  type LogLevel,
  type TelemetryConfig,
} from './fragments';
