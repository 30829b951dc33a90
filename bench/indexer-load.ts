// The write load of `npm run bench -- indexer`, as its own process (the passport-registry's place): passport
// updates at a steady rate on the embedded ledger of <ledger dir>. Prints one JSON line when done.
//   node -r ./scripts/register.js bench/indexer-load.ts <identity dir> <ledger dir> <writes per second> <seconds> <passports>
import { loadIdentity } from '@fedledger/identity';
import { openLocalLedger } from '@fedledger/ledger-host';

async function main(): Promise<void> {
  const [identityDir, ledgerDir, rateArg, secondsArg, passportsArg] = process.argv.slice(2);
  const rate = Number(rateArg);
  const seconds = Number(secondsArg);
  const passports = Number(passportsArg);
  const dev = loadIdentity(identityDir!, 'ub', 'dev-1');
  const ledger = openLocalLedger({ ledgerDir: ledgerDir!, identityDir: identityDir!, holder: 'the indexer benchmark load' });
  const version = new Map<string, number>();
  for (let p = 0; p < passports; p++) {
    const passport = JSON.parse(await ledger.evaluate(dev, 'passport:Read', [`p-${p}`])) as { version: number };
    version.set(`p-${p}`, passport.version);
  }
  const total = Math.round(rate * seconds);
  const started = Date.now();
  for (let i = 0; i < total; i++) {
    // Paced: write i is due at i / rate seconds; a late writer catches up without bursts beyond the schedule.
    const due = started + (i * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const id = `p-${i % passports}`;
    const v = version.get(id)!;
    await ledger.submit(dev, 'passport:Update', [id, String(v), JSON.stringify({ description: `update ${i}` })]);
    version.set(id, v + 1);
  }
  const elapsed = (Date.now() - started) / 1000;
  await ledger.close();
  process.stdout.write(`${JSON.stringify({ writes: total, seconds: elapsed, tps: total / elapsed })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`indexer load failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
