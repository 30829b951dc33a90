import { mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { natsPermissions, parsePrincipal, principalToken, type Principal } from '@fedledger/contracts';
import { ensureSeed, LocalStackError, natsAuthorization, publicKeyOf, type NatsUser } from '@fedledger/local-stack';
import { parseCommandArgs } from '../args';
import { CliError, UsageError } from '../errors';
import { displayPath, table, type Io } from '../io';
import type { Command } from './command';

const help = `Usage: fedledger nats-auth --out <dir> [<principal>...] [--rotate <principal>]... [--json]

Makes the NATS credentials of a platform: one nkey user seed per principal, <dir>/<principal>.nk (mode 0600), and
<dir>/auth.conf, the nats-server \`authorization\` block with each principal's permissions (libs/contracts
principals.ts) for every seed in <dir>. A seed already there is kept; --rotate makes that principal a new one.
Run it again with a new centre to add it: the others keep their seeds, auth.conf gets them all.

Principals: round-coordinator, aggregator, passport-registry, ledger-indexer, operator (fedledger events and
experiment against this NATS), and centre-<id> for each hospital (its CENTRE_ID).

  fedledger nats-auth --out /secure/nats-auth round-coordinator aggregator passport-registry ledger-indexer centre-inbreast
  fedledger nats-auth --out /secure/nats-auth centre-bcdr                 # a new hospital
  fedledger nats-auth --out /secure/nats-auth --rotate centre-inbreast    # its seed leaked

The chart mounts auth.conf (Secret fedledger-nats-auth) and each seed (fedledger-nats-<service>, and the hospital's
fedledger-nats-centre): charts/README.md. Remove a principal by deleting its .nk and running the command again.

Options:
  --out <dir>            the credentials folder (created 0700; keep it out of the repository)
  --rotate <principal>   a new seed for this principal (repeatable; it is added if absent)
  --json                 the result as one JSON object on stdout`;

const SEED = /^(.+)\.nk$/;

export const natsAuthCommand: Command = {
  name: 'nats-auth',
  summary: 'make the NATS nkey seeds of the platform and its centres, and the server authorization block',
  help,
  run(args: string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs('nats-auth', () =>
      parseArgs({
        args,
        strict: true,
        allowPositionals: true,
        options: { out: { type: 'string' }, rotate: { type: 'string', multiple: true, default: [] }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
      }),
    );
    if (values.help === true) {
      io.out(help);
      return Promise.resolve(2);
    }
    if (!values.out) throw new UsageError('give --out <dir>, the folder the seeds and auth.conf go to', 'nats-auth');
    const dir = path.resolve(io.cwd, values.out);
    const principal = (token: string, where: string): Principal => {
      try {
        return parsePrincipal(token);
      } catch (err) {
        throw new UsageError(`${where}: ${(err as Error).message}`, 'nats-auth');
      }
    };
    const asked = positionals.map((t) => principal(t, 'argument'));
    const rotating = values.rotate.map((t) => principal(t, '--rotate'));
    const rotate = new Set(rotating.map(principalToken));
    if (asked.length === 0 && rotate.size === 0 && !values.json) io.err(`no principal given: auth.conf is written for the seeds already in ${displayPath(dir, io.cwd)}`);

    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Every seed of the folder, then the ones asked for: auth.conf names them all.
    const present = readdirSync(dir)
      .map((f) => SEED.exec(f)?.[1])
      .filter((t): t is string => t !== undefined)
      .map((t) => {
        try {
          return parsePrincipal(t);
        } catch (err) {
          throw new CliError(`${path.join(dir, `${t}.nk`)}: ${(err as Error).message}; rename or delete it`);
        }
      });
    const principals = new Map([...present, ...asked, ...rotating].map((p) => [principalToken(p), p] as const));
    const tokens = [...principals.keys()].sort();
    const users: (NatsUser & { status: string; file: string })[] = [];
    for (const token of tokens) {
      const file = path.join(dir, `${token}.nk`);
      let result: ReturnType<typeof ensureSeed>;
      try {
        result = ensureSeed(file, rotate.has(token));
      } catch (err) {
        if (err instanceof LocalStackError) throw new CliError(err.message);
        throw err;
      }
      users.push({ principal: token, nkey: publicKeyOf(result.seed), permissions: natsPermissions(principals.get(token)!), status: result.status, file });
    }
    const conf = path.join(dir, 'auth.conf');
    const staging = `${conf}.${process.pid}.tmp`;
    writeFileSync(staging, [`# Written by fedledger nats-auth: the users of ${displayPath(dir, io.cwd)}. Include it from nats-server.conf.`, ...natsAuthorization(users), ''].join('\n'), { mode: 0o600 });
    renameSync(staging, conf);

    if (values.json) {
      io.out(JSON.stringify({ dir, authConf: conf, principals: users.map(({ principal: p, nkey, status, file }) => ({ principal: p, nkey, status, seedFile: file })) }));
      return Promise.resolve(0);
    }
    io.out(table([['principal', 'seed', 'public key', 'file'], ...users.map((u) => [u.principal, u.status, u.nkey, displayPath(u.file, io.cwd)])]));
    io.out(`${displayPath(conf, io.cwd)}: ${users.length} user${users.length === 1 ? '' : 's'}; reload nats-server after updating its Secret (docs/runbook.md, rotating credentials)`);
    return Promise.resolve(0);
  },
};
