import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { freePorts, isPidAlive, repoRoot } from '@fedledger/local-stack';

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const bin = path.join(repoRoot(), 'cli', 'bin', 'fedledger.js');

function fedledger(...args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: repoRoot(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface StatusJson {
  running: boolean;
  components: { name: string; state: string; pid: number | null; url: string | null; pidAlive: boolean; portAnswers: boolean }[];
}

describe('fedledger CLI', () => {
  let dataDir: string;

  beforeAll(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'fedledger-cli-'));
  });

  afterAll(async () => {
    // A failed assertion must not leave detached servers behind.
    if (existsSync(path.join(dataDir, 'stack.json'))) await fedledger('down', '--data-dir', dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('up starts nats, FerretDB, the coordinator, the aggregator, the passport-registry and the ledger-indexer in the background, status sees them, down stops them', async () => {
    const [natsPort, mongoPort] = await freePorts(2);

    const up = await fedledger('up', '--data-dir', dataDir, '--nats-port', String(natsPort), '--mongo-port', String(mongoPort));
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    expect(up.stdout).toContain(`tls://127.0.0.1:${natsPort}`);
    expect(up.stdout).toContain(`mongodb://127.0.0.1:${mongoPort}/`);

    const running = await fedledger('status', '--json', '--data-dir', dataDir);
    expect(running.code).toBe(0);
    const status = JSON.parse(running.stdout) as StatusJson;
    expect(status.running).toBe(true);
    expect(status.components.map((c) => [c.name, c.state, c.url])).toEqual([
      ['nats', 'running', `tls://127.0.0.1:${natsPort}`],
      ['ferretdb', 'running', `mongodb://127.0.0.1:${mongoPort}/`],
      ['round-coordinator', 'running', expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/)],
      ['aggregator', 'running', `tls://127.0.0.1:${natsPort}`],
      ['passport-registry', 'running', expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/)],
      ['ledger-indexer', 'running', expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/)],
    ]);
    const indexer = status.components.find((c) => c.name === 'ledger-indexer')!;
    expect(await (await fetch(`${indexer.url}/health`)).json()).toMatchObject({ status: 'ok', checks: { index: { ok: true } } });
    const coordinator = status.components.find((c) => c.name === 'round-coordinator')!;
    const health = await fetch(`${coordinator.url}/health`);
    expect(await health.json()).toMatchObject({ status: 'ok', service: 'round-coordinator', nats: { connected: true } });
    // Secure by default: TLS, and only the generated principals get in.
    const auth = path.join(dataDir, 'nats-auth');
    expect(readdirSync(auth).sort()).toEqual(['aggregator.nk', 'ca.crt', 'ledger-indexer.nk', 'operator.nk', 'passport-registry.nk', 'round-coordinator.nk']);
    await expect(connect({ servers: `tls://127.0.0.1:${natsPort}`, tls: { caFile: path.join(auth, 'ca.crt') } })).rejects.toThrow(/Authorization Violation/);
    const pids = status.components.map((c) => c.pid as number);
    expect(pids.every((pid) => isPidAlive(pid))).toBe(true);

    const again = await fedledger('up', '--data-dir', dataDir);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already running');

    const down = await fedledger('down', '--data-dir', dataDir);
    expect(down.code).toBe(0);
    expect(down.stdout).toContain(`stopped nats (pid ${pids[0]})`);
    expect(down.stdout).toContain(`stopped ferretdb (pid ${pids[1]})`);
    expect(down.stdout).toContain(`stopped round-coordinator (pid ${pids[2]})`);
    expect(down.stdout).toContain(`stopped aggregator (pid ${pids[3]})`);
    expect(down.stdout).toContain(`stopped passport-registry (pid ${pids[4]})`);
    expect(down.stdout).toContain(`stopped ledger-indexer (pid ${pids[5]})`);
    expect(down.stdout).not.toContain('SIGKILL');

    const stopped = await fedledger('status', '--json', '--data-dir', dataDir);
    expect(stopped.code).toBe(1);
    const after = JSON.parse(stopped.stdout) as StatusJson;
    expect(after.running).toBe(false);
    expect(after.components.map((c) => [c.name, c.state])).toEqual([
      ['nats', 'stopped'],
      ['ferretdb', 'stopped'],
      ['round-coordinator', 'stopped'],
      ['aggregator', 'stopped'],
      ['passport-registry', 'stopped'],
      ['ledger-indexer', 'stopped'],
    ]);
    expect(pids.filter((pid) => isPidAlive(pid))).toEqual([]);
  });

  it('refuses an explicitly configured busy port with one line naming it', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const busy = (server.address() as net.AddressInfo).port;
    try {
      const result = await fedledger('up', '--data-dir', dataDir, '--nats-port', String(busy));
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n')).toEqual([
        `fedledger up: port ${busy} (--nats-port) is already in use on 127.0.0.1; choose another or stop what listens there`,
      ]);
      expect(existsSync(path.join(dataDir, 'stack.json'))).toBe(false);
    } finally {
      server.close();
    }
  });

  it('prints usage with exit code 2 for --help and unknown commands', async () => {
    const help = await fedledger('--help');
    expect(help.code).toBe(2);
    expect(help.stdout).toMatch(/Usage: fedledger <command>[\s\S]*up[\s\S]*status[\s\S]*down/);

    const unknown = await fedledger('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
  });
});
