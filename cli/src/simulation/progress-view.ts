/**
 * Live progress of a simulation on stderr: on a terminal, one bar per centre redrawn in place (what it
 * is doing in the current round and how far it is); elsewhere (logs, CI) a line per centre and phase
 * at most every 10 seconds. Fed by the centres' fl.progress messages and the experiment's events.
 */

interface CentreLine {
  phase: string;
  done: number;
  total: number;
}

const WIDTH = 24;

export class ProgressView {
  private readonly lines = new Map<string, CentreLine>();
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastPrinted = new Map<string, number>();
  private round = 0;

  constructor(
    centres: readonly string[],
    private readonly write: (text: string) => void,
    private readonly tty: boolean,
  ) {
    for (const c of centres) this.lines.set(c, { phase: 'waiting', done: 0, total: 0 });
    if (tty) this.timer = setInterval(() => this.draw(), 250);
  }

  /** A centre's progress message. */
  progress(centre: string, round: number, phase: string, done: number, total: number): void {
    this.round = Math.max(this.round, round);
    this.lines.set(centre, { phase, done, total });
    if (this.tty) return;
    const key = `${centre}/${round}/${phase}`;
    const now = Date.now();
    if (done < total && now - (this.lastPrinted.get(key) ?? 0) < 10_000) return;
    this.lastPrinted.set(key, now);
    this.write(`  round ${round}  ${centre}: ${phase} ${done}/${total}`);
  }

  /** A centre finished its part of the round (update accepted, evaluation reported, or failed). */
  state(centre: string, phase: string): void {
    const line = this.lines.get(centre);
    if (line) this.lines.set(centre, { ...line, phase });
  }

  /** Prints a line above the bars (a round's row, a warning), to stderr or through `to` (e.g. stdout). */
  print(text: string, to: (text: string) => void = this.write): void {
    this.clear();
    to(text);
    this.draw();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
  }

  private clear(): void {
    if (!this.tty || this.drawn === 0) return;
    process.stderr.write(`\x1b[${this.drawn}A\x1b[J`);
    this.drawn = 0;
  }

  private draw(): void {
    if (!this.tty || !this.timer) return;
    this.clear();
    const name = Math.max(...[...this.lines.keys()].map((c) => c.length));
    const rows = [...this.lines.entries()].map(([centre, l]) => {
      const fraction = l.total > 0 ? Math.min(1, l.done / l.total) : 0;
      const filled = Math.round(fraction * WIDTH);
      const bar = `${'█'.repeat(filled)}${'░'.repeat(WIDTH - filled)}`;
      const count = l.total > 0 ? `${l.done}/${l.total}` : '';
      return `  ${centre.padEnd(name)}  ${bar}  ${l.phase.padEnd(10)} ${count}`;
    });
    process.stderr.write(`  round ${this.round}\n${rows.join('\n')}\n`);
    this.drawn = rows.length + 1;
  }
}
