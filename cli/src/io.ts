import path from 'node:path';

/** Where a command writes; injectable so handlers stay testable without spawning. */
export interface Io {
  /** One line (or block) to stdout; a newline is appended. */
  out(text: string): void;
  /** One line (or block) to stderr; a newline is appended. */
  err(text: string): void;
  cwd: string;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  cwd: process.cwd(),
};

/** A path relative to cwd when it lies inside it (shorter to read), else absolute. */
export function displayPath(file: string, cwd: string): string {
  const rel = path.relative(cwd, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/** Left-aligned columns, two spaces apart. */
export function table(rows: string[][], indent = '  '): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) => indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('  '))
    .join('\n');
}
