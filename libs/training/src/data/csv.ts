/** One CSV record: its cells and the 1-based line it starts on (a quoted field may span lines). */
export interface CsvRecord {
  line: number;
  cells: string[];
  /** Set when the record is malformed (bad quoting); its cells are then best effort. */
  error?: string;
}

/**
 * Parses RFC 4180 CSV: comma-separated, fields optionally in double quotes (with "" for a quote, and commas and
 * line breaks inside), records ending in CRLF, LF or CR, a UTF-8 BOM ignored. Blank lines are skipped. Lenient
 * where it can be but never silent: a quote inside an unquoted field, text after a closing quote, or a quote left
 * open at the end mark the record with `error`.
 */
export function parseCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  while (i < text.length) {
    const start = line;
    const cells: string[] = [];
    let error: string | undefined;
    let cell = '';
    let ended = false;
    while (!ended) {
      if (text[i] === '"') {
        // Quoted field.
        i++;
        let closed = false;
        while (i < text.length) {
          const ch = text[i]!;
          if (ch === '"') {
            if (text[i + 1] === '"') {
              cell += '"';
              i += 2;
              continue;
            }
            i++;
            closed = true;
            break;
          }
          if (ch === '\n' || (ch === '\r' && text[i + 1] !== '\n')) line++;
          cell += ch;
          i++;
        }
        if (!closed) error ??= `unterminated quoted field (opened on line ${start})`;
        else if (i < text.length && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') error ??= `unexpected text after a closing quote on line ${line}`;
      }
      // Unquoted part (or what trails a closing quote).
      while (i < text.length) {
        const ch = text[i]!;
        if (ch === ',' || ch === '\n' || ch === '\r') break;
        if (ch === '"') error ??= `stray double quote on line ${line}`;
        cell += ch;
        i++;
      }
      cells.push(cell);
      cell = '';
      if (i >= text.length) ended = true;
      else if (text[i] === ',') i++;
      else {
        i += text[i] === '\r' && text[i + 1] === '\n' ? 2 : 1;
        line++;
        ended = true;
      }
    }
    const blank = cells.length === 1 && cells[0]!.trim() === '' && error === undefined;
    if (!blank) records.push(error === undefined ? { line: start, cells } : { line: start, cells, error });
  }
  return records;
}

/** A CSV with a header row: column names (trimmed) and the data rows after it. */
export interface CsvTable {
  header: string[];
  headerLine: number;
  /** Set when the header record itself is malformed. */
  headerError?: string;
  rows: CsvRecord[];
}

/**
 * Splits parsed records into header and rows. A row whose cell count differs from the header's gets `error`.
 * Returns undefined for a file without any record.
 */
export function csvTable(text: string): CsvTable | undefined {
  const records = parseCsv(text);
  const head = records[0];
  if (head === undefined) return undefined;
  const header = head.cells.map((c) => c.trim());
  const rows = records.slice(1).map((r) =>
    r.error === undefined && r.cells.length !== header.length ? { ...r, error: `${r.cells.length} cells, the header has ${header.length}` } : r,
  );
  return { header, headerLine: head.line, ...(head.error === undefined ? {} : { headerError: head.error }), rows };
}

/** One cell as CSV: quoted when it holds a comma, quote or line break. */
function csvCell(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Rows (the first being the header) as CSV text, LF line endings, trailing newline. */
export function toCsv(rows: readonly (readonly (string | number)[])[]): string {
  return rows.map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}
