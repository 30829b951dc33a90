import { freePort, isPortFree, LOOPBACK } from '@fedledger/local-stack';
import { CliError, UsageError } from '../errors';
import type { PortRequest, StackPorts } from './definition';

/**
 * Resolves every port request: explicit ones first (a busy one is an error naming it), then
 * defaults when free, else a free port from the OS. All distinct.
 */
export async function planPorts(requests: PortRequest[]): Promise<StackPorts> {
  const chosen = new Map<number, PortRequest>();
  const result: Partial<StackPorts> = {};
  for (const req of requests) {
    const port = req.explicit;
    if (port === undefined) continue;
    const other = chosen.get(port);
    if (other !== undefined) throw new UsageError(`${other.flag} and ${req.flag} are both ${port}; each needs its own port`);
    if (!(await isPortFree(port))) {
      throw new CliError(`port ${port} (${req.flag}) is already in use on ${LOOPBACK}; choose another or stop what listens there`);
    }
    chosen.set(port, req);
    result[req.key] = port;
  }
  for (const req of requests.filter((r) => r.explicit === undefined)) {
    let port = req.default;
    if (chosen.has(port) || !(await isPortFree(port))) {
      do port = await freePort();
      while (chosen.has(port));
    }
    chosen.set(port, req);
    result[req.key] = port;
  }
  const missing = requests.filter((r) => result[r.key] === undefined);
  if (missing.length > 0) throw new Error(`no port planned for ${missing.map((r) => r.key).join(', ')}`);
  return result as StackPorts;
}
