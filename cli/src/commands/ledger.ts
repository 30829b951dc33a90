import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BLOCK_FILE, verifyChain } from '@fedledger/ledger';
import { parseCommandArgs } from '../args';
import { CliError, UsageError } from '../errors';
import { displayPath, type Io } from '../io';
import type { Command } from './command';

const help = `Usage: fedledger ledger verify [--ledger-dir .data/ledger] [--json]

verify re-reads the embedded ledger's block file (<dir>/${BLOCK_FILE}) and re-checks every block: its JSON, its
number, its hash over the header, the hash of its transactions (dataHash) and the previous block's hash. Exits 0
when the chain is intact; otherwise names the first bad block and why, and exits 1.

Options:
  --ledger-dir <dir>   the embedded ledger's folder (default .data/ledger), as for passport and dataset
  --json        the result as one JSON object on stdout`;

export const ledgerCommand: Command = {
  name: 'ledger',
  summary: "check the embedded ledger's hash-chained block file",
  help,
  async run(args: string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs('ledger', () =>
      parseArgs({ args, strict: true, allowPositionals: true, options: { 'ledger-dir': { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } } }),
    );
    if (values.help === true) {
      io.out(help);
      return 2;
    }
    if (positionals[0] !== 'verify' || positionals.length > 1) throw new UsageError(`unknown ledger command '${positionals.join(' ')}' (known: verify)`, 'ledger');
    const dir = path.resolve(io.cwd, values['ledger-dir'] ?? path.join('.data', 'ledger'));
    if (!existsSync(path.join(dir, BLOCK_FILE))) throw new CliError(`no embedded ledger at ${displayPath(dir, io.cwd)} (${BLOCK_FILE} not found)`);
    const result = verifyChain(dir);
    if (values.json === true) io.out(JSON.stringify({ dir, ...result }));
    else if (result.ok) io.out(`${displayPath(path.join(dir, BLOCK_FILE), io.cwd)}: ${result.blocks} blocks, chain intact`);
    else io.out(`${displayPath(path.join(dir, BLOCK_FILE), io.cwd)}: block ${result.block} is bad: ${result.reason}`);
    return result.ok ? 0 : 1;
  },
};
