// The ledger-indexer under load: a separate process writes passport updates to the embedded ledger at a steady rate
// (as the passport-registry would) while the indexer (libs/ledger-index, the service's own code) follows the block
// file into a real FerretDB. lag = when the event is in the cache − the transaction's timestamp. Then the whole
// ledger is replayed into an empty database: eventsPerSec.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import { addIdentity, initOrganisations, loadIdentity } from '@fedledger/identity';
import { LedgerIndexer } from '@fedledger/ledger-index';
import { repoRoot } from '@fedledger/local-stack';
import { startFerret } from '@fedledger/testing';

const log = (s: string) => process.stderr.write(`[bench indexer] ${s}\n`);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({ args, options: { rate: { type: 'string', default: '200' }, seconds: { type: 'string', default: '20' }, passports: { type: 'string', default: '20' } } });
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const passports = Number(values.passports);
  const { openLocalLedger } = await import('@fedledger/ledger-host'); // not at the top: the chaincode's loggers stay out of other benchmarks
  const root = mkdtempSync(path.join(os.tmpdir(), 'fedledger-bench-indexer-'));
  const ids = path.join(root, 'ids');
  const ledgerDir = path.join(root, 'ledger');
  const ferret = await startFerret();
  const mongo = await MongoClient.connect(ferret.uri);
  try {
    await initOrganisations(ids);
    const dev = await addIdentity(ids, { org: 'ub', user: 'dev-1', role: 'developer' });
    const reader = loadIdentity(ids, 'ub', 'Admin');
    const setup = openLocalLedger({ ledgerDir, identityDir: ids });
    for (let p = 0; p < passports; p++) {
      await setup.submit(dev, 'passport:Create', [
        JSON.stringify({
          id: `p-${p}`,
          description: 'benchmark passport',
          model: { name: 'small-cnn', version: '1', architecture: 'CNN', task: 'binary classification', modality: 'MG', framework: 'tfjs', licence: 'Apache-2.0' },
          intendedUse: { primaryUses: ['screening'], primaryUsers: ['radiologists'] },
          trainingType: 'FEDERATED',
          datasets: [{ datasetId: 'ds-1', role: 'train', centre: 'inbreast' }],
          aggregators: [],
        }),
      ]);
    }
    await setup.close();

    // The indexer follows the folder from here on, live.
    const follower = openLocalLedger({ ledgerDir, identityDir: ids });
    const lags: number[] = [];
    const indexer = new LedgerIndexer({
      db: mongo.db('live'),
      ledger: follower,
      reader,
      onIndexed: (event) => {
        const tx = follower.getBlocks()[event.blockNumber]?.transactions[event.checkpoint.txIndex];
        if (tx && event.eventName === 'PassportUpdated') lags.push(Date.now() - Date.parse(tx.timestamp));
      },
    });
    await indexer.init();
    const indexing = indexer.run();
    log(`writing ${rate} passport updates/s for ${seconds} s from another process; the indexer follows into FerretDB`);
    const load = await new Promise<{ writes: number; seconds: number; tps: number }>((resolve, reject) => {
      const child = spawn(process.execPath, ['-r', './scripts/register.js', 'bench/indexer-load.ts', ids, ledgerDir, String(rate), String(seconds), String(passports)], { cwd: repoRoot(), stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim()) as { writes: number; seconds: number; tps: number }) : reject(new Error(`the load process exited with ${code}`))));
    });
    const deadline = Date.now() + 60_000;
    while (lags.length < load.writes && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await follower.close();
    await indexing;
    const sorted = [...lags].sort((a, b) => a - b);
    log(`load ${load.tps.toFixed(0)} writes/s; indexed ${lags.length}/${load.writes}; lag p50 ${percentile(sorted, 50)} ms, p99 ${percentile(sorted, 99)} ms, max ${sorted[sorted.length - 1]} ms`);

    // Catch-up speed: the whole ledger into an empty database.
    const replayLedger = openLocalLedger({ ledgerDir, identityDir: ids });
    const replay = new LedgerIndexer({ db: mongo.db('replay'), ledger: replayLedger, reader });
    await replay.init();
    const last = replayLedger.lastEventCheckpoint()!;
    const t0 = Date.now();
    await replay.run(undefined, last);
    const replaySeconds = (Date.now() - t0) / 1000;
    const events = replayLedger.height;
    await replayLedger.close();
    log(`replayed ${events} events into an empty cache in ${replaySeconds.toFixed(1)} s`);
    return {
      bench: 'indexer',
      eventsPerSec: Math.round(events / replaySeconds),
      lagP99Ms: percentile(sorted, 99),
      lagP50Ms: percentile(sorted, 50),
      lagMaxMs: sorted[sorted.length - 1],
      loadTps: Math.round(load.tps),
      indexed: lags.length,
      writes: load.writes,
      database: 'FerretDB 1.24 (SQLite)',
    };
  } finally {
    await mongo.close();
    await ferret.stop();
    rmSync(root, { recursive: true, force: true });
  }
}
