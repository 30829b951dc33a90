import { PoisonMessageError } from '@fedledger/messaging';

/**
 * A centre's message names the centre twice: in its payload and as the last token of its subject. NATS lets a
 * centre publish only on subjects ending with its own id, so the subject is who sent it; a payload naming another
 * centre is a forgery (or a bug) and is dead-lettered with this reason, never applied.
 */
export function assertSentBy(subject: string, centreId: string, what: string): void {
  const sender = subject.slice(subject.lastIndexOf('.') + 1);
  if (sender !== centreId) throw new PoisonMessageError(`${what} naming centre '${centreId}' was published on ${subject} (by centre '${sender}'); refused`);
}
