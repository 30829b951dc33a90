// npm run bench -- <name> [--json] [bench options]
// Each benchmark prints progress on stderr and, with --json, exactly one JSON line on stdout.
import { parseArgs } from 'node:util';

import * as aggregate from './aggregate';
import * as blob from './blob';
import * as indexer from './indexer';
import * as ledger from './ledger';
import * as rounds from './rounds';
import * as train from './train';

type Bench = (args: string[]) => Promise<Record<string, unknown>>;

const benches: Record<string, Bench> = {
  aggregate: aggregate.run,
  blob: blob.run,
  indexer: indexer.run,
  ledger: ledger.run,
  rounds: rounds.run,
  train: train.run,
};

async function main(): Promise<void> {
  const [name, ...rest] = process.argv.slice(2);
  if (!name || !(name in benches)) {
    process.stderr.write(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [--json] [options]\n`);
    process.exit(2);
  }
  const { values, tokens } = parseArgs({ args: rest, options: { json: { type: 'boolean', default: false } }, strict: false, tokens: true });
  const passOn = tokens.filter((t) => !(t.kind === 'option' && t.name === 'json')).flatMap((t) => (t.kind === 'option' ? [t.rawName, ...(t.value !== undefined ? [t.value] : [])] : t.kind === 'positional' ? [t.value] : []));
  const result = await benches[name]!(passOn);
  process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : `${JSON.stringify(result, null, 2)}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
