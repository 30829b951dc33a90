import { connectAsOperator } from '../nats-connection';
import { parseArgs } from 'node:util';
import { assertSubjectToken, decodeEvent, describeEvent, streams, subjects } from '@fedledger/contracts';
import type { JetStreamConnection } from '@fedledger/messaging';
import { parseCommandArgs } from '../args';
import { CliError, UsageError } from '../errors';
import type { Io } from '../io';
import type { Command } from './command';

const help = `Usage: fedledger events <experiment> [--follow] [--json] [--nats <url>]

Prints an experiment's events (round.started, update.accepted, update.rejected, round.completed,
experiment.completed) from the first one, replayed from the FL_EVENTS stream; with --follow keeps
printing new ones until the experiment completes. Analysts can read the same stream with any NATS
client and the .proto files in proto/fedledger/fl/v1.

Options:
  --follow        keep going until experiment.completed
  --json          one JSON line per event
  --nats <url>    NATS server (default $NATS_URL or nats://127.0.0.1:4222)`;

export const eventsCommand: Command = {
  name: 'events',
  summary: "print an experiment's events (replay, then --follow)",
  help,
  async run(args: string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs('events', () =>
      parseArgs({
        args,
        strict: true,
        allowPositionals: true,
        options: {
          follow: { type: 'boolean', default: false },
          json: { type: 'boolean', default: false },
          nats: { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
      }),
    );
    if (values.help === true) {
      io.out(help);
      return 2;
    }
    const [experimentId, ...extra] = positionals;
    if (!experimentId || extra.length > 0) throw new UsageError('give exactly one experiment id', 'events');
    try {
      assertSubjectToken(experimentId, 'experiment id');
    } catch (err) {
      throw new UsageError((err as Error).message, 'events');
    }
    const servers = values.nats ?? process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
    let connection: JetStreamConnection;
    try {
      connection = await connectAsOperator(servers, 'fedledger-events');
    } catch (err) {
      throw new CliError(`${(err as Error).message} (is the stack running? \`fedledger up\`)`);
    }
    try {
      const consumer = await connection.js.consumers.get(streams.FL_EVENTS.name, { filter_subjects: [subjects.experimentEvents(experimentId)] }).catch((err: Error) => {
        throw new CliError(`cannot read stream ${streams.FL_EVENTS.name} at ${servers}: ${err.message}`);
      });
      let pending = (await consumer.info()).num_pending;
      if (pending === 0 && !values.follow) {
        io.err(`no events for experiment ${experimentId} (yet)`);
        return 1;
      }
      const messages = await consumer.consume();
      for await (const m of messages) {
        const event = decodeEvent(m.subject, m.data);
        io.out(values.json ? JSON.stringify(event) : describeEvent(event));
        pending = m.info.pending;
        if (event.event === 'experiment.completed' || (!values.follow && pending === 0)) break;
      }
      messages.stop();
      return 0;
    } finally {
      await connection.drain();
    }
  },
};
