import { parseArgs } from 'node:util';
import { verifyCache } from '@fedledger/ledger-index';
import { parseCommandArgs } from '../args';
import { UsageError } from '../errors';
import type { Io } from '../io';
import { CACHE_HELP, CACHE_OPTIONS, withLocalCache } from '../local-cache';
import type { Command } from './command';

const help = `Usage: fedledger index verify [--json]

Brings the ledger's cache up to date, then compares all of it with the ledger: every passport on either side with
every version and round (all fields, digests included), every cached dataset and grant. Exits 0 when they agree,
1 naming each difference (a row edited in the database behind the indexer's back shows here).

Options:
${CACHE_HELP}`;

export const indexCommand: Command = {
  name: 'index',
  summary: "check the ledger's cache (MongoDB) against the ledger",
  help,
  async run(args: string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs('index', () => parseArgs({ args, strict: true, allowPositionals: true, options: CACHE_OPTIONS }));
    if (values.help === true) {
      io.out(help);
      return 2;
    }
    if (positionals[0] !== 'verify' || positionals.length > 1) throw new UsageError(`unknown index command '${positionals.join(' ')}' (known: verify)`, 'index');
    return withLocalCache(values, io, 'index', async ({ db, ledger, reader }) => {
      const result = await verifyCache(db, ledger, reader);
      const differences = [...result.passports.flatMap((p) => p.differences.map((d) => `passport ${p.passportId}: ${d}`)), ...result.others];
      const c = result.checked;
      if (values.json === true) io.out(JSON.stringify({ ok: result.ok, checked: c, differences }));
      else if (result.ok) io.out(`the cache matches the ledger: ${c.passports} passports, ${c.versions} versions, ${c.rounds} rounds, ${c.datasets} datasets, ${c.grants} grants`);
      else io.out(`the cache DIFFERS from the ledger (${differences.length} difference${differences.length === 1 ? '' : 's'}):\n${differences.map((d) => `  ${d}`).join('\n')}`);
      return result.ok ? 0 : 1;
    });
  },
};
