import { displayPath, table } from '../io';
import type { StackStatus } from './inspect';

/** The "what runs where" table shared by `up` and `status`. */
export function renderStatus(status: StackStatus, cwd: string): string {
  return table(
    status.components.map((c) => [
      c.name,
      c.state,
      c.pid !== null ? `pid ${c.pid}` : '-',
      c.url ?? '-',
      ...Object.entries(c.endpoints).map(([name, url]) => `${name} ${url}`),
      `log ${displayPath(c.logFile, cwd)}`,
    ]),
  );
}
