import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect, nkeyAuthenticator } from '@nats-io/transport-node';
import { ensureTools, freePorts, missingTools, toolPath } from '@fedledger/local-stack';
import { fedledgerIn } from './run-cli';

/** `fedledger nats-auth` makes credentials a real nats-server (including its auth.conf) accepts, and only those. */
let tmp: string;
beforeAll(async () => {
  if (missingTools().length > 0) await ensureTools();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'fedledger-nats-auth-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs a command line in this process (cwd = the temp folder), capturing what it prints. */
const fedledger = (...argv: string[]) => fedledgerIn(tmp, argv);

type Principals = { principal: string; nkey: string; status: string; seedFile: string }[];

/** nats-server on a free loopback port with the folder's auth.conf included; stopped by the caller. */
async function natsWith(authConf: string): Promise<{ url: string; child: ChildProcess }> {
  const [port] = await freePorts(1);
  // nats-server resolves an include relative to the including file, as the chart's NATS config does.
  const conf = path.join(path.dirname(authConf), '..', `nats-${port}.conf`);
  writeFileSync(conf, `listen: "127.0.0.1:${port}"\ninclude "${path.relative(path.dirname(conf), authConf)}"\n`);
  const check = spawn(toolPath('nats-server'), ['-c', conf, '-t'], { stdio: 'pipe' });
  expect(await new Promise((resolve) => check.once('exit', resolve))).toBe(0);
  const child = spawn(toolPath('nats-server'), ['-c', conf], { stdio: 'ignore' });
  const url = `nats://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const probe = await connect({ servers: url, reconnect: false, timeout: 500 }).catch((err: Error) => err);
    // Up once it answers at all: an anonymous connection is refused for want of credentials.
    if (probe instanceof Error ? /Authorization/i.test(probe.message) : (await probe.close(), true)) return { url, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error('nats-server did not start');
}

async function connects(url: string, seedFile: string): Promise<true | string> {
  const seed = new TextEncoder().encode(readFileSync(seedFile, 'utf8').trim());
  const nc = await connect({ servers: url, reconnect: false, authenticator: nkeyAuthenticator(seed) }).catch((err: Error) => err);
  if (nc instanceof Error) return nc.message;
  await nc.close();
  return true;
}

describe('fedledger nats-auth', () => {
  it('makes a seed per principal (0600) and an auth.conf nats-server accepts; adding a centre keeps the others; --rotate replaces one seed only', async () => {
    const out = path.join(tmp, 'auth');
    const first = await fedledger('nats-auth', '--out', out, 'round-coordinator', 'centre-inbreast', 'operator', '--json');
    expect(first.code).toBe(0);
    const made = (JSON.parse(first.stdout) as { principals: Principals }).principals;
    expect(made.map((p) => [p.principal, p.status])).toEqual([['centre-inbreast', 'created'], ['operator', 'created'], ['round-coordinator', 'created']]);
    for (const p of made) expect((statSync(p.seedFile).mode & 0o777).toString(8)).toBe('600');
    expect((statSync(path.join(out, 'auth.conf')).mode & 0o777).toString(8)).toBe('600');

    const oldInbreastSeed = path.join(tmp, 'old-inbreast.nk');
    writeFileSync(oldInbreastSeed, readFileSync(path.join(out, 'centre-inbreast.nk')));
    const second = await fedledger('nats-auth', '--out', out, 'centre-bcdr', '--rotate', 'centre-inbreast', '--json');
    const now = (JSON.parse(second.stdout) as { principals: Principals }).principals;
    expect(now.map((p) => [p.principal, p.status])).toEqual([['centre-bcdr', 'created'], ['centre-inbreast', 'rotated'], ['operator', 'kept'], ['round-coordinator', 'kept']]);
    const key = (list: Principals, name: string) => list.find((p) => p.principal === name)!.nkey;
    expect(key(now, 'round-coordinator')).toBe(key(made, 'round-coordinator'));
    expect(key(now, 'centre-inbreast')).not.toBe(key(made, 'centre-inbreast'));
    // The permissions are the principal's own: a centre may publish its own updates, not another's.
    const conf = readFileSync(path.join(out, 'auth.conf'), 'utf8');
    expect(conf).toContain('# centre-bcdr');
    expect(conf).toContain('"fl.updates.*.*.bcdr"');
    expect(conf).not.toMatch(/# centre-bcdr\n.*"fl\.updates\.\*\.\*\.inbreast"/);

    const { url, child } = await natsWith(path.join(out, 'auth.conf'));
    try {
      for (const p of now) expect([p.principal, await connects(url, p.seedFile)]).toEqual([p.principal, true]);
      // The rotated principal's previous seed no longer gets in.
      expect(await connects(url, oldInbreastSeed)).toMatch(/Authorization/i);
      // A seed that is not in auth.conf (made in another folder) is refused.
      const stranger = await fedledger('nats-auth', '--out', path.join(tmp, 'other'), 'centre-inbreast', '--json');
      const strangerSeed = (JSON.parse(stranger.stdout) as { principals: Principals }).principals[0]!.seedFile;
      expect(await connects(url, strangerSeed)).toMatch(/Authorization/i);
    } finally {
      child.kill();
    }
  }, 60_000);

  it('refuses an unknown principal, a missing --out and a seed file that is not a seed, naming each', async () => {
    const bad = await fedledger('nats-auth', '--out', path.join(tmp, 'bad'), 'centre-a/b');
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining("unknown NATS principal 'centre-a/b'")]);
    const noOut = await fedledger('nats-auth', 'aggregator');
    expect([noOut.code, noOut.stderr]).toEqual([2, expect.stringContaining('give --out <dir>')]);
    const dir = path.join(tmp, 'broken');
    await fedledger('nats-auth', '--out', dir, 'aggregator');
    writeFileSync(path.join(dir, 'aggregator.nk'), 'not a seed\n');
    const broken = await fedledger('nats-auth', '--out', dir, 'centre-x');
    expect([broken.code, broken.stderr]).toEqual([1, expect.stringContaining(`${path.join(dir, 'aggregator.nk')} is not an nkey user seed`)]);
  });
});
