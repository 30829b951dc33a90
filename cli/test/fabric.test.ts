import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fedledger } from './run-cli';

/** Issue 7's demonstration: `up --ledger fabric`, a simulation whose passport is on the Fabric peer, `down`. */
test('fedledger up --ledger fabric: simulate records the rounds on the Fabric peer, passport show reads them there, down stops everything', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fedledger-fabric-cli-'));
  const ids = path.join(dataDir, 'identities');
  let started = false;
  try {
    const up = await fedledger(['up', '--ledger', 'fabric', '--data-dir', dataDir]);
    expect({ code: up.code, stderr: up.stderr, stdout: up.code === 0 ? '' : up.stdout }).toEqual({ code: 0, stderr: '', stdout: '' });
    started = true;
    expect(up.stdout).toContain('Fabric network ready');
    expect(existsSync(path.join(dataDir, 'fabric', 'connection.json'))).toBe(true);

    const sim = await fedledger(['simulate', '--trainer', 'noop', '--centres', '2', '--rounds', '2', '--params', '2000', '--identity-dir', ids, '--out', path.join(dataDir, 'model'), '--json']);
    expect({ code: sim.code, stderr: sim.code === 0 ? '' : sim.stderr }).toEqual({ code: 0, stderr: '' });
    expect(sim.stderr).toContain('on the Fabric channel passports');
    const recorded = sim.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.event === 'passport.recorded')!;
    expect(recorded).toMatchObject({ rounds: 2 });

    const shown = await fedledger(['passport', 'show', String(recorded.passportId), '--identity-dir', ids, '--json']);
    expect(shown.code).toBe(0);
    const { passport, rounds, roundChainIntact } = JSON.parse(shown.stdout) as { passport: Record<string, unknown>; rounds: Record<string, unknown>[]; roundChainIntact: boolean };
    expect(passport).toMatchObject({ roundCount: 2, artifactDigest: recorded.artifactDigest });
    expect(rounds.map((r) => [r.roundNumber, r.aggregator])).toEqual([
      [1, 'UBMSP/passport-registry'],
      [2, 'UBMSP/passport-registry'],
    ]);
    expect(roundChainIntact).toBe(true);
    // Nothing went to an embedded ledger.
    expect(existsSync(path.join(dataDir, 'ledger', 'blocks.jsonl'))).toBe(false);
  } finally {
    const down = await fedledger(['down', '--data-dir', dataDir]);
    rmSync(dataDir, { recursive: true, force: true });
    // (when up failed, its own assertion above is the one to read)
    if (started) {
      expect(down.code).toBe(0);
      expect(down.stdout).toContain('stopped the Fabric network');
    }
  }
}, 300_000);
