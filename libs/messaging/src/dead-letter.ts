/** Headers on a dead-lettered message, saying where it came from and why it was given up. */
export const DeadLetterHeaders = {
  reason: 'Fedledger-Dlq-Reason',
  kind: 'Fedledger-Dlq-Kind',
  subject: 'Fedledger-Dlq-Subject',
  stream: 'Fedledger-Dlq-Stream',
  sequence: 'Fedledger-Dlq-Sequence',
  consumer: 'Fedledger-Dlq-Consumer',
  deliveries: 'Fedledger-Dlq-Deliveries',
  messageType: 'Fedledger-Dlq-Message-Type',
} as const;

export type DeadLetterKind = 'undecodable' | 'poison' | 'max-deliveries';

export interface DeadLetterOptions {
  /** Stream holding dead letters; provisioned by the transport. */
  stream: string;
  /** Dead letters go to `<subjectPrefix>.<stream>.<durable>`. */
  subjectPrefix: string;
  /** How long dead letters are kept (ms). Default 30 days. */
  maxAgeMs?: number;
}

export interface DeadLetterEvent {
  kind: DeadLetterKind;
  reason: string;
  subject: string;
  stream: string;
  sequence: number;
  consumer: string;
  deliveries: number;
}

/** Header values are one line; a long reason is cut so the message stays under max_payload. */
export function headerValue(text: string, max = 1_000): string {
  const line = text.replace(/[\r\n]+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
