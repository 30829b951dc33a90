import path from 'node:path';
import {
  DEFAULT_FERRETDB_DEBUG_PORT,
  DEFAULT_MONGO_PORT,
  DEFAULT_NATS_MONITOR_PORT,
  DEFAULT_NATS_PORT,
  ferretComponent,
  natsComponent,
  type ComponentSpec,
} from '@fedledger/local-stack';
import { logFileOf, type StackLayout } from './layout';

/**
 * What `fedledger up` runs, in start order (stopped in reverse). Later issues append the
 * Fedledger services here as further ComponentSpecs.
 */
export const STACK_COMPONENTS = ['nats', 'ferretdb'] as const;
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
}

export function portRequests(flags: { natsPort?: number; mongoPort?: number }): PortRequest[] {
  return [
    { key: 'nats', default: DEFAULT_NATS_PORT, explicit: flags.natsPort, flag: '--nats-port' },
    { key: 'natsMonitor', default: DEFAULT_NATS_MONITOR_PORT },
    { key: 'mongo', default: DEFAULT_MONGO_PORT, explicit: flags.mongoPort, flag: '--mongo-port' },
    { key: 'ferretDebug', default: DEFAULT_FERRETDB_DEBUG_PORT },
  ];
}

export function stackSpecs(layout: StackLayout, ports: StackPorts): ComponentSpec[] {
  const natsDir = path.join(layout.dataDir, 'nats');
  return [
    natsComponent({
      name: 'nats',
      port: ports.nats,
      monitorPort: ports.natsMonitor,
      storeDir: natsDir,
      configFile: path.join(natsDir, 'nats-server.conf'),
      logFile: logFileOf(layout, 'nats'),
    }),
    ferretComponent({
      name: 'ferretdb',
      port: ports.mongo,
      debugPort: ports.ferretDebug,
      dataDir: path.join(layout.dataDir, 'ferretdb'),
      logFile: logFileOf(layout, 'ferretdb'),
    }),
  ];
}
