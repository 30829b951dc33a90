export { LocalStackError, errorMessage, errnoCode } from './errors';
export { TOOL_NAMES, ensureTools, missingTools, repoRoot, toolPath, toolsDir, type ToolName } from './paths';
export {
  LOOPBACK,
  formatSeconds,
  freePort,
  freePorts,
  httpStatus,
  isPortFree,
  sleep,
  tcpAnswers,
  waitForTcp,
  waitUntil,
  type WaitOptions,
} from './net';
export {
  forgetOnExit,
  hostProcess,
  isPidAlive,
  pidRunsCommand,
  removeOnExit,
  signal,
  stopPid,
  type StopResult,
} from './proc';
export {
  checkReadiness,
  describeCheck,
  lastLogLine,
  spawnComponent,
  startComponent,
  waitForReady,
  type ComponentSpec,
  type ExitInfo,
  type ReadinessCheck,
  type RunMode,
  type RunningComponent,
} from './component';
export {
  DEFAULT_NATS_MAX_PAYLOAD,
  DEFAULT_NATS_MONITOR_PORT,
  DEFAULT_NATS_PORT,
  natsComponent,
  natsConfig,
  type NatsOptions,
} from './nats';
export { DEFAULT_FERRETDB_DEBUG_PORT, DEFAULT_MONGO_PORT, ferretComponent, type FerretOptions } from './ferretdb';
export { serviceComponent, type ServiceOptions } from './service';
export { FABRIC_DEFAULT_PORTS, FABRIC_ORGS, startFabricNetwork, stopFabricNetwork, type FabricNetwork, type FabricNetworkOptions, type FabricPort } from './fabric';
export { ensureNatsSecurity, ensureSeed, NATS_TLS_ORG, natsAuthorization, natsCredentialsIn, publicKeyOf, type NatsClientCredentials, type NatsSecurity, type NatsUser, type SecuredNats } from './nats-security';
