import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { auditPassport, passportTimeline, timelineHtml } from '@fedledger/ledger-index';
import { parseCommandArgs } from '../args';
import { CliError, UsageError } from '../errors';
import { displayPath, table, type Io } from '../io';
import { CACHE_HELP, CACHE_OPTIONS, withLocalCache } from '../local-cache';
import type { Command } from './command';

const help = `Usage: fedledger audit <passport id> [--json] [--html <file>]

An AI passport's timeline from the ledger's cache (the ledger-indexer's MongoDB): every version with its transaction,
the federated rounds with their participants and digest chain, metrics, bias flags and their resolution, the grants it
trained under; then the cache checked against the ledger for this passport (every version, every round digest).
Exits 0 when they agree, 1 when they differ (each difference named).

Options:
  --html <file>         also write the timeline as a readable HTML page (open it in a browser)
${CACHE_HELP}`;

type Row = Record<string, unknown>;
const s = (v: unknown) => (v === undefined || v === null ? '-' : String(v));

export const auditCommand: Command = {
  name: 'audit',
  summary: "an AI passport's timeline from the ledger's cache, checked against the ledger",
  help,
  async run(args: string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs('audit', () =>
      parseArgs({ args, strict: true, allowPositionals: true, options: { ...CACHE_OPTIONS, html: { type: 'string' } } }),
    );
    if (values.help === true) {
      io.out(help);
      return 2;
    }
    const [id] = positionals;
    if (id === undefined || positionals.length > 1) throw new UsageError('give one passport id', 'audit');
    return withLocalCache(values, io, 'audit', async ({ db, ledger, reader }) => {
      const timeline = await passportTimeline(db, id);
      if (!timeline) throw new CliError(`the cache has no passport ${id} (and the ledger none either: the cache is up to date with it)`);
      const audit = await auditPassport(db, ledger, reader, id);
      if (values.html !== undefined) {
        const file = path.resolve(io.cwd, values.html);
        writeFileSync(file, timelineHtml(timeline));
        io.err(`[audit] the timeline page: file://${file}`);
      }
      if (values.json === true) {
        io.out(JSON.stringify({ ...timeline, audit }));
        return audit.ok ? 0 : 1;
      }
      const p = timeline.passport;
      const owner = p.owner as Row;
      io.out(`passport ${s(p.id)} v${s(p.version)} ${s(p.status)}, owner ${s(owner.mspId)}/${s(owner.commonName)}: ${s((p.model as Row).name)} — ${s(p.description)}`);
      io.out(`  released model ${s(p.artifactDigest)}; ${s(p.roundCount)} rounds, chain ending ${s(p.lastRoundDigest)}`);
      io.out('\ntimeline:');
      io.out(table([['time', 'what', 'tx'], ...timeline.entries.map((e) => [e.at, e.summary, `${e.txId.slice(0, 12)}…`])], '  '));
      if (timeline.rounds.length) {
        io.out('\nrounds:');
        io.out(
          table(
            [['round', 'participants', 'aggregate', 'previous', 'digest'], ...timeline.rounds.map((r) => [s(r.roundNumber), ((r.participants as Row[]) ?? []).map((x) => `${s(x.centre)} (${s(x.numExamples)})`).join(', '), `${s(r.aggregateDigest).slice(0, 19)}…`, r.previousRoundDigest ? `${s(r.previousRoundDigest).slice(0, 19)}…` : '-', `${s(r.roundDigest).slice(0, 19)}…`])],
            '  ',
          ),
        );
      }
      io.out(
        audit.ok
          ? `\nthe cache matches the ledger for ${id} (${audit.checked.versions} versions, ${audit.checked.rounds} rounds checked)`
          : `\nthe cache DIFFERS from the ledger for ${id}:\n${audit.differences.map((d) => `  ${d}`).join('\n')}`,
      );
      if (values.html !== undefined) io.out(`timeline page: ${displayPath(path.resolve(io.cwd, values.html), io.cwd)}`);
      return audit.ok ? 0 : 1;
    });
  },
};
