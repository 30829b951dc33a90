/**
 * An expected, explainable failure of the local stack (missing binary, busy port, process that
 * would not start). `message` is one line naming the file / port / process and the reason, so a
 * CLI can print it as is, without a stack trace.
 */
export class LocalStackError extends Error {
  override readonly name = 'LocalStackError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** `err.code` of a Node system error (ENOENT, EADDRINUSE, ...), if there is one. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
