import { csvTable, parseCsv, toCsv } from '../src/data';

describe('parseCsv', () => {
  it('splits fields, honours quotes ("" and commas inside), CRLF / LF / CR, a BOM, and skips blank lines', () => {
    const text = '\ufeffa,b,c\r\n1,"x, y","say ""hi"""\r\n\r\n2,,\n3,"",z\r4,  spaced  ';
    expect(parseCsv(text)).toEqual([
      { line: 1, cells: ['a', 'b', 'c'] },
      { line: 2, cells: ['1', 'x, y', 'say "hi"'] },
      { line: 4, cells: ['2', '', ''] },
      { line: 5, cells: ['3', '', 'z'] },
      { line: 6, cells: ['4', '  spaced  '] },
    ]);
  });

  it('keeps line breaks inside quotes and counts lines from where each record starts', () => {
    const records = parseCsv('h1,h2\n"multi\nline\r\nvalue",2\nnext,3\n');
    expect(records).toEqual([
      { line: 1, cells: ['h1', 'h2'] },
      { line: 2, cells: ['multi\nline\r\nvalue', '2'] },
      { line: 5, cells: ['next', '3'] },
    ]);
  });

  it('marks malformed quoting on the record instead of guessing silently', () => {
    const [, stray, after, open] = parseCsv('a,b\nab"c,1\n"x"y,2\n"never closed,3\n');
    expect(stray).toMatchObject({ line: 2, error: 'stray double quote on line 2' });
    expect(after).toMatchObject({ line: 3, error: 'unexpected text after a closing quote on line 3' });
    expect(open).toMatchObject({ line: 4, error: 'unterminated quoted field (opened on line 4)' });
  });

  it('round-trips what toCsv writes', () => {
    const rows = [
      ['image', 'label'],
      ['a,b.png', 'he said "x"'],
      ['multi\nline', 3],
    ];
    expect(parseCsv(toCsv(rows)).map((r) => r.cells)).toEqual(rows.map((r) => r.map(String)));
  });
});

describe('csvTable', () => {
  it('trims the header and flags rows whose cell count differs from it', () => {
    const table = csvTable(' image , label\na.png,benign\nb.png\nc.png,malignant,extra\n')!;
    expect(table.header).toEqual(['image', 'label']);
    expect(table.rows.map((r) => [r.line, r.error])).toEqual([
      [2, undefined],
      [3, '1 cells, the header has 2'],
      [4, '3 cells, the header has 2'],
    ]);
    expect(csvTable('')).toBeUndefined();
    expect(csvTable('"open,header\n')!.headerError).toMatch(/unterminated/);
  });
});
