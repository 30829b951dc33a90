import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureNode, initOrganisations } from '@fedledger/identity';
import { LocalStackError } from './errors';
import { freePorts, isPortFree } from './net';
import { ensureTools, repoRoot, toolsDir } from './paths';

/** The network of deploy/fabric-local: one Raft orderer (orderer org), a peer of UB (the university) and of InBreast (a hospital). */
export const FABRIC_ORGS = { orderer: 'orderer', peers: ['ub', 'inbreast'] } as const;

export type FabricPort = 'orderer' | 'ordererAdmin' | 'ordererOps' | 'peer1' | 'peer1Chaincode' | 'peer1Ops' | 'peer2' | 'peer2Chaincode' | 'peer2Ops' | 'chaincodeServer';

/** Fabric's own defaults (test-network), for a network that lives across `fedledger up` / `down`. */
export const FABRIC_DEFAULT_PORTS: Record<FabricPort, number> = {
  orderer: 7050,
  ordererAdmin: 7053,
  ordererOps: 9443,
  peer1: 7051,
  peer1Chaincode: 7052,
  peer1Ops: 9444,
  peer2: 9051,
  peer2Chaincode: 9052,
  peer2Ops: 9445,
  chaincodeServer: 9999,
};

export interface FabricNetworkOptions {
  /** Its data (channel, ledgers, logs, pids) and connection.json: <dataDir>. */
  dataDir: string;
  /** The organisations' identities (created when absent, with the orderer and peer nodes). */
  identityDir: string;
  /**
   * Loopback ports; free ones when not given. A network that is stopped and started again must keep its orderer's
   * address (the channel pins it): `fedledger up` uses FABRIC_DEFAULT_PORTS.
   */
  ports?: Partial<Record<FabricPort, number>>;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface FabricNetwork {
  /** What `openLedger({ mode: 'fabric' })` reads: the UB peer's gateway, its TLS CA, channel and chaincode. */
  connectionFile: string;
  dataDir: string;
  /** Stops every process the network started (its data is kept; `up` again restarts it). */
  stop(): Promise<void>;
}

/**
 * `count` consecutive free loopback ports below the kernel's ephemeral range (32768 and up on Linux). The network
 * binds its ports one process after another over several seconds: an ephemeral port picked at the start could be
 * taken meanwhile by any outgoing connection on the machine (gRPC, gossip, NATS clients); these never are.
 */
async function portsOutsideEphemeralRange(count: number): Promise<number[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * (12_000 - count));
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if ((await Promise.all(ports.map((p) => isPortFree(p)))).every(Boolean)) return ports;
  }
  return freePorts(count);
}

const SCRIPT = () => path.join(repoRoot(), 'deploy', 'fabric-local', 'network.sh');

function runScript(command: 'up' | 'down', env: Record<string, string>, log?: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [SCRIPT(), command], { cwd: repoRoot(), env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const take = (d: Buffer) => {
      const text = d.toString();
      output += text;
      for (const line of text.split('\n')) if (line.trim() && log) log(line);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve();
      else {
        // The script names the component that died; its own log says why.
        const dead = /error: (\S+) exited/.exec(output)?.[1];
        const logFile = dead && env.FABRIC_DATA_DIR ? path.join(env.FABRIC_DATA_DIR, 'logs', `${dead}.log`) : undefined;
        const logTail = logFile && existsSync(logFile) ? `\n${dead}'s log ends:\n${readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n')}` : '';
        reject(new LocalStackError(`deploy/fabric-local/network.sh ${command} exited with ${code}:\n${output.split('\n').slice(-25).join('\n')}${logTail}`));
      }
    });
  });
}

/**
 * Starts the local Fabric network (deploy/fabric-local/network.sh, Fabric 2.5.9 from .tools/bin) on the project's
 * own identities — the orderer and peer nodes are issued here — and writes <dataDir>/connection.json.
 */
export async function startFabricNetwork(o: FabricNetworkOptions): Promise<FabricNetwork> {
  await ensureTools();
  await initOrganisations(o.identityDir);
  await ensureNode(o.identityDir, { org: FABRIC_ORGS.orderer, name: 'orderer0', kind: 'orderer' });
  const peers = await Promise.all(FABRIC_ORGS.peers.map((org) => ensureNode(o.identityDir, { org, name: 'peer0', kind: 'peer' })));
  const names = ['orderer', 'ordererAdmin', 'ordererOps', 'peer1', 'peer1Chaincode', 'peer1Ops', 'peer2', 'peer2Chaincode', 'peer2Ops', 'chaincodeServer'] as const;
  const free = await portsOutsideEphemeralRange(names.length);
  const port = (n: (typeof names)[number], i: number) => String(o.ports?.[n] ?? free[i]);
  const env: Record<string, string> = {
    FABRIC_DATA_DIR: o.dataDir,
    FABRIC_IDENTITIES: o.identityDir,
    FABRIC_BIN: toolsDir(),
    NODE_BIN: process.execPath,
    ORDERER_PORT: port('orderer', 0),
    ORDERER_ADMIN_PORT: port('ordererAdmin', 1),
    ORDERER_OPS_PORT: port('ordererOps', 2),
    PEER1_PORT: port('peer1', 3),
    PEER1_CC_PORT: port('peer1Chaincode', 4),
    PEER1_OPS_PORT: port('peer1Ops', 5),
    PEER2_PORT: port('peer2', 6),
    PEER2_CC_PORT: port('peer2Chaincode', 7),
    PEER2_OPS_PORT: port('peer2Ops', 8),
    CC_SERVER_PORT: port('chaincodeServer', 9),
  };
  mkdirSync(o.dataDir, { recursive: true });
  const stop = () => stopFabricNetwork(o.dataDir, o.log);
  try {
    await runScript('up', env, o.log);
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  const connectionFile = path.join(o.dataDir, 'connection.json');
  const ubPeer = peers[0]!;
  writeFileSync(
    connectionFile,
    `${JSON.stringify({ peerEndpoint: `localhost:${env.PEER1_PORT}`, tlsRootCert: path.join(ubPeer.tlsDir, 'ca.crt'), channel: 'passports', chaincode: 'ai-passport' }, null, 2)}\n`,
  );
  return { connectionFile, dataDir: o.dataDir, stop };
}

/**
 * Stops the network whose data is in `dataDir` (network.sh down: every process it started, found by the data dir
 * each carries) and removes its connection file.
 */
export async function stopFabricNetwork(dataDir: string, log?: (line: string) => void): Promise<void> {
  await runScript('down', { FABRIC_DATA_DIR: dataDir, FABRIC_BIN: toolsDir(), NODE_BIN: process.execPath }, log);
  rmSync(path.join(dataDir, 'connection.json'), { force: true });
}
