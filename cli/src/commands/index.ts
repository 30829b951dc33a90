import { auditCommand } from './audit';
import type { Command } from './command';
import { compareCommand } from './compare';
import { dataCommand } from './data';
import { datasetCommand } from './dataset';
import { downCommand } from './down';
import { eventsCommand } from './events';
import { experimentCommand } from './experiment';
import { exportCommand } from './export';
import { identityCommand } from './identity';
import { indexCommand } from './index-command';
import { ledgerCommand } from './ledger';
import { natsAuthCommand } from './nats-auth';
import { passportCommand } from './passport';
import { simulateCommand } from './simulate';
import { statusCommand } from './status';
import { upCommand } from './up';

export type { Command } from './command';

/** Every `fedledger` subcommand, in the order the usage lists them. Add new ones here. */
export const COMMANDS: readonly Command[] = [simulateCommand, compareCommand, experimentCommand, eventsCommand, exportCommand, dataCommand, identityCommand, natsAuthCommand, ledgerCommand, passportCommand, datasetCommand, auditCommand, indexCommand, upCommand, statusCommand, downCommand];

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}
