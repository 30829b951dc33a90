import { isPidAlive, LOOPBACK, pidRunsCommand, tcpAnswers } from '@fedledger/local-stack';
import { STACK_COMPONENTS } from './definition';
import { logFileOf, type StackLayout } from './layout';
import type { ComponentState, StackState } from './state';

export interface ComponentStatus {
  name: string;
  state: 'running' | 'stopped';
  pid: number | null;
  /** The recorded pid exists and still runs the recorded binary. */
  pidAlive: boolean;
  /** The main port accepts TCP connections. */
  portAnswers: boolean;
  url: string | null;
  ports: Record<string, number>;
  endpoints: Record<string, string>;
  logFile: string;
  startedAt: string | null;
}

export interface StackStatus {
  dataDir: string;
  stateFile: string;
  /** Every component runs. */
  running: boolean;
  components: ComponentStatus[];
}

/** The recorded pid alive and running the recorded command (not a reused pid). */
export function recordedPidAlive(c: ComponentState): boolean {
  return isPidAlive(c.pid) && pidRunsCommand(c.pid, c.command);
}

export async function componentStatus(c: ComponentState): Promise<ComponentStatus> {
  const pidAlive = recordedPidAlive(c);
  // Services that open no port (aggregator, centre-agents) are running when their process is.
  const portAnswers = c.ports.main === 0 ? pidAlive : await tcpAnswers(LOOPBACK, c.ports.main, 1000);
  return {
    name: c.name,
    state: pidAlive && portAnswers ? 'running' : 'stopped',
    pid: c.pid,
    pidAlive,
    portAnswers,
    url: c.url,
    ports: c.ports,
    endpoints: c.endpoints,
    logFile: c.logFile,
    startedAt: c.startedAt,
  };
}

/** Status of the recorded stack; with no state every known component is reported stopped. */
export async function stackStatus(layout: StackLayout, state: StackState | undefined): Promise<StackStatus> {
  const components =
    state !== undefined
      ? await Promise.all(state.components.map(componentStatus))
      : STACK_COMPONENTS.map(
          (name): ComponentStatus => ({
            name,
            state: 'stopped',
            pid: null,
            pidAlive: false,
            portAnswers: false,
            url: null,
            ports: {},
            endpoints: {},
            logFile: logFileOf(layout, name),
            startedAt: null,
          }),
        );
  return {
    dataDir: layout.dataDir,
    stateFile: layout.stateFile,
    running: components.length > 0 && components.every((c) => c.state === 'running'),
    components,
  };
}
