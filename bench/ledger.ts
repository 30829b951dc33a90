// The embedded ledger's throughput: passport updates submitted (each signed by the owner, endorsed by running the
// ai-passport chaincode unmodified, validated, ordered into a hash-chained block, fsync'd) and passport reads
// evaluated, against a temporary ledger and freshly issued identities.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { addIdentity, initOrganisations } from '@fedledger/identity';

const log = (s: string) => process.stderr.write(`[bench ledger] ${s}\n`);

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({ args, options: { submits: { type: 'string', default: '2000' }, evaluates: { type: 'string', default: '5000' }, passports: { type: 'string', default: '20' } } });
  const submits = Number(values.submits);
  const evaluates = Number(values.evaluates);
  const passports = Number(values.passports);
  // Loaded here, not at the top: bench/run.ts imports every benchmark, and the chaincode's loggers must not run in the others.
  const { openLocalLedger } = await import('@fedledger/ledger-host');
  const root = mkdtempSync(path.join(os.tmpdir(), 'fedledger-bench-ledger-'));
  try {
    await initOrganisations(path.join(root, 'ids'));
    const dev = await addIdentity(path.join(root, 'ids'), { org: 'ub', user: 'dev-1', role: 'developer' });
    const ledger = openLocalLedger({ ledgerDir: path.join(root, 'ledger'), identityDir: path.join(root, 'ids') });
    const passport = (id: string) => ({
      id,
      description: 'benchmark passport',
      model: { name: 'small-cnn', version: '1.0.0', architecture: 'CNN', task: 'binary classification', modality: 'MG', framework: 'tfjs 4.22', licence: 'Apache-2.0' },
      intendedUse: { primaryUses: ['screening'], primaryUsers: ['radiologists'], outOfScopeUses: [] },
      trainingType: 'FEDERATED',
      datasets: [{ datasetId: 'ds-1', role: 'train', centre: 'inbreast' }],
      aggregators: ['UBMSP/agg-1'],
    });
    const version = new Map<string, number>();
    for (let p = 0; p < passports; p++) {
      await ledger.submit(dev, 'passport:Create', [JSON.stringify(passport(`p-${p}`))]);
      version.set(`p-${p}`, 1);
    }
    // warm-up
    for (let i = 0; i < 50; i++) {
      const id = `p-${i % passports}`;
      await ledger.submit(dev, 'passport:Update', [id, String(version.get(id)), JSON.stringify({ description: `warm ${i}` })]);
      version.set(id, version.get(id)! + 1);
    }
    log(`${submits} passport updates, one at a time (each signed, endorsed, validated, ordered, fsync'd)`);
    let t0 = process.hrtime.bigint();
    for (let i = 0; i < submits; i++) {
      const id = `p-${i % passports}`;
      await ledger.submit(dev, 'passport:Update', [id, String(version.get(id)), JSON.stringify({ description: `update ${i}` })]);
      version.set(id, version.get(id)! + 1);
    }
    const submitSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    log(`${evaluates} passport reads`);
    t0 = process.hrtime.bigint();
    for (let i = 0; i < evaluates; i++) await ledger.evaluate(dev, 'passport:Read', [`p-${i % passports}`]);
    const evaluateSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const height = ledger.height;
    await ledger.close();
    const result = {
      bench: 'ledger',
      mode: 'embedded',
      submitTps: Math.round(submits / submitSeconds),
      evaluateTps: Math.round(evaluates / evaluateSeconds),
      submits,
      evaluates,
      blocks: height,
      note: 'sequential: one submit at a time (one block per transaction, fsync each)',
    };
    log(`submit ${result.submitTps} tx/s, evaluate ${result.evaluateTps} tx/s`);
    return result;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
