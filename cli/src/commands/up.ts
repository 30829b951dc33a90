import path from 'node:path';
import {
  FABRIC_DEFAULT_PORTS,
  startFabricNetwork,
  LocalStackError,
  ensureNatsSecurity,
  ensureTools,
  formatSeconds,
  missingTools,
  spawnComponent,
  waitForReady,
  type RunningComponent,
} from '@fedledger/local-stack';
import { parseStackCommand, parsePort } from '../args';
import { CliError, UsageError } from '../errors';
import { displayPath, type Io } from '../io';
import { fabricConnectionFile, ledgerModeOf } from '../ledger-mode';
import { simulationIdentities } from '../simulation/passport-setup';
import { ledgerDirsOf, portRequests, stackPrincipals, stackSpecs } from '../stack/definition';
import { natsAuthDirOf } from '../nats-connection';
import { stackStatus } from '../stack/inspect';
import { DATA_DIR_OPTION_HELP, stackLayout } from '../stack/layout';
import { planPorts } from '../stack/ports';
import { renderStatus } from '../stack/render';
import { componentState, readState, removeState, writeState, type StackState } from '../stack/state';
import type { Command } from './command';

const help = `Usage: fedledger up [--data-dir <dir>] [--nats-port <port>] [--mongo-port <port>] [--centres <n>] [--ledger embedded|fabric]

Starts in the background, on 127.0.0.1 only: nats-server (JetStream), FerretDB (MongoDB protocol over
SQLite), the round-coordinator (REST on 8080 if free), the aggregator, the passport-registry (8081) and the
ledger-indexer (8082) on the embedded ledger <data-dir>/ledger (identities in <data-dir>/identities, created when
absent); with --centres n also n local
centre-agents c01..cNN (tfjs trainer). Logs go to <data-dir>/logs, state to <data-dir>/stack.json.

Options:
  ${DATA_DIR_OPTION_HELP}
  --nats-port <port>  NATS client port (default 4222 if free, else any free port)
  --mongo-port <port> FerretDB port (default 27017 if free, else any free port)
  --centres <n>       also run n local centre-agents (default 0: centres run at the hospitals)
  --ledger fabric     instead of the embedded ledger, a real Hyperledger Fabric 2.5.9 network (deploy/fabric-local:
                      a Raft orderer, a peer of UB and of InBreast, TLS, the ai-passport chaincode as a service, on
                      ports 7050-7053, 9051-9052, 9443-9445, 9999; data in <data-dir>/fabric) and the services on it;
                      passport, dataset and simulate then use it while it runs
  --fabric-port-offset <n>  add n to every Fabric port (a second network on the same machine); keep it the same
                      for a network that already has data (its channel pins the orderer's address)`;

export const upCommand: Command = {
  name: 'up',
  summary: 'start NATS, FerretDB, the coordinator, the aggregator, the passport-registry and the ledger-indexer (and local centres) in the background',
  help,
  async run(args: string[], io: Io): Promise<number> {
    const values = parseStackCommand('up', args, {
      'nats-port': { type: 'string' },
      'mongo-port': { type: 'string' },
      centres: { type: 'string' },
      ledger: { type: 'string', default: 'embedded' },
      'fabric-port-offset': { type: 'string' },
    });
    if (values.help === true) {
      io.out(help);
      return 2;
    }
    const natsPort = parsePort('--nats-port', values['nats-port']);
    const mongoPort = parsePort('--mongo-port', values['mongo-port']);
    const layout = stackLayout(values['data-dir'], io.cwd);
    const where = displayPath(layout.dataDir, io.cwd);

    const existing = readState(layout.stateFile);
    if (existing !== undefined) {
      const status = await stackStatus(layout, existing);
      if (status.running) {
        io.out(`the local stack is already running (data in ${where}):`);
        io.out(renderStatus(status, io.cwd));
        return 0;
      }
      const alive = status.components.filter((c) => c.pidAlive);
      if (alive.length > 0) {
        const summary = status.components.map((c) => `${c.name} ${c.pidAlive ? `pid ${c.pid} alive` : 'stopped'}`).join(', ');
        throw new CliError(
          `the stack in ${layout.stateFile} is partly running (${summary}); run \`fedledger down${downFlag(values['data-dir'])}\` first`,
        );
      }
      io.out(`no process recorded in ${displayPath(layout.stateFile, io.cwd)} is running any more; starting afresh`);
      removeState(layout.stateFile);
    }

    const missing = missingTools();
    if (missing.length > 0) {
      io.out(`building ${missing.join(' and ')} (npm run tools); this takes a few minutes the first time...`);
      await ensureTools();
    }

    const ports = await planPorts(portRequests({ natsPort, mongoPort }));
    const centres = values.centres === undefined ? 0 : Number(values.centres);
    if (!Number.isInteger(centres) || centres < 0 || centres > 50) throw new UsageError(`--centres must be a whole number from 0 to 50, got '${values.centres}'`);
    const ledgerMode = ledgerModeOf(values.ledger, layout.dataDir, 'up');
    // The passport-registry signs rounds as its own aggregator identity; the organisations come first.
    await simulationIdentities(ledgerDirsOf(layout).identityDir, [], (line) => io.out(line));
    const authDir = natsAuthDirOf(layout.dataDir);
    const nats = await ensureNatsSecurity({ dir: authDir, identityDir: ledgerDirsOf(layout).identityDir, principals: stackPrincipals(centres) });
    io.out(`NATS: TLS required, one nkey user per service and centre with least-privilege permissions (credentials in ${displayPath(authDir, io.cwd)})`);
    io.out(`REST writes to the coordinator are signed by an identity of ${displayPath(ledgerDirsOf(layout).identityDir, io.cwd)} (e.g. \`fedledger experiment create <plan> --as ub/dev-1\`)`);
    const specs = stackSpecs(layout, ports, nats, centres, ledgerMode);
    if (ledgerMode === 'fabric') {
      io.out(`starting the Fabric network (data in ${displayPath(path.join(layout.dataDir, 'fabric'), io.cwd)})...`);
      const t0 = Date.now();
      const offsetArg = values['fabric-port-offset'] ?? '0';
      if (!/^\d+$/.test(offsetArg) || Number(offsetArg) > 50_000) throw new UsageError(`--fabric-port-offset must be a whole number from 0 to 50000, got '${offsetArg}'`, 'up');
      const ports = Object.fromEntries(Object.entries(FABRIC_DEFAULT_PORTS).map(([name, p]) => [name, p + Number(offsetArg)]));
      await startFabricNetwork({ dataDir: path.join(layout.dataDir, 'fabric'), identityDir: ledgerDirsOf(layout).identityDir, ports, log: (line) => io.out(`  ${line}`) });
      io.out(`  Fabric network ready in ${formatSeconds(Date.now() - t0)}: channel passports, chaincode ai-passport (${displayPath(fabricConnectionFile(layout.dataDir), io.cwd)})`);
    }
    const startedAt = new Date();
    const state: StackState = { version: 1, dataDir: layout.dataDir, startedAt: startedAt.toISOString(), components: [] };
    const started: RunningComponent[] = [];

    io.out(`starting the local stack (data in ${where})`);
    try {
      for (const spec of specs) {
        const t0 = Date.now();
        io.out(`  ${spec.name}: starting ${spec.ports.main ? `${path.basename(spec.command)} on 127.0.0.1:${spec.ports.main}` : path.basename(spec.args[spec.args.length - 1] ?? spec.command)}...`);
        const running = await spawnComponent(spec, 'detached');
        started.push(running);
        // Recorded as soon as it exists, so `fedledger down` can stop it even if we die here.
        state.components.push(componentState(running, new Date()));
        writeState(layout.stateFile, state);
        await waitForReady(running);
        io.out(`  ${spec.name}: ready in ${formatSeconds(Date.now() - t0)} (pid ${running.pid})`);
      }
    } catch (err) {
      for (const running of [...started].reverse()) await running.stop(5000).catch(() => undefined);
      removeState(layout.stateFile);
      if (err instanceof LocalStackError) throw new CliError(err.message);
      throw err;
    }

    const status = await stackStatus(layout, state);
    io.out('');
    io.out(renderStatus(status, io.cwd));
    io.out('');
    io.out(`state in ${displayPath(layout.stateFile, io.cwd)}; stop with \`fedledger down${downFlag(values['data-dir'])}\``);
    return status.running ? 0 : 1;
  },
};

function downFlag(dataDir: string | undefined): string {
  return dataDir !== undefined ? ` --data-dir ${dataDir}` : '';
}
