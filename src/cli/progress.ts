/**
 * The training progress display: on a terminal, one bar redrawn in place (at most 10 times a
 * second); otherwise (a pipe, a log file) one plain line every `lineEverySec` seconds. Iterations/s
 * and the running reward are over the last WINDOW iterations. A library would add a dependency for
 * what these few lines do.
 */
const WINDOW = 100;
const BAR_WIDTH = 16;
const REDRAW_MS = 100;

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

export class Progress {
  readonly #times: number[] = [];
  readonly #rewards: number[] = [];
  #lastDraw = -Infinity;
  #drawn = -1;
  #done = 0;

  constructor(
    readonly label: string,
    readonly total: number,
    readonly stream: ProgressStream,
    readonly lineEverySec = 10,
  ) {}

  /** Records a finished iteration: `done` iterations are complete, the last with mean episode reward `reward`. */
  update(done: number, reward: number): void {
    const now = performance.now();
    this.#done = done;
    this.#times.push(now);
    this.#rewards.push(reward);
    if (this.#times.length > WINDOW + 1) this.#times.shift();
    if (this.#rewards.length > WINDOW) this.#rewards.shift();
    const interval = this.stream.isTTY ? REDRAW_MS : this.lineEverySec * 1000;
    if (now - this.#lastDraw >= interval || done === this.total) this.#draw(now);
  }

  /** Ends the bar's line (a terminal) or prints the last state (a pipe). */
  finish(): void {
    if (this.stream.isTTY) this.stream.write('\n');
    else if (this.#drawn !== this.#done) this.#draw(performance.now());
  }

  /** Iterations per second over the window (0 before two iterations). */
  get rate(): number {
    const n = this.#times.length;
    return n < 2 ? 0 : ((n - 1) * 1000) / (this.#times[n - 1] - this.#times[0]);
  }

  /** Iterations in the reward window. */
  get window(): number {
    return this.#rewards.length;
  }

  /** Mean episode reward over the window. */
  get runningReward(): number {
    return this.#rewards.reduce((a, b) => a + b, 0) / Math.max(1, this.#rewards.length);
  }

  #draw(now: number): void {
    this.#lastDraw = now;
    this.#drawn = this.#done;
    const rate = this.rate;
    const eta = rate > 0 ? formatDuration((this.total - this.#done) / rate) : '--';
    const stats = `${this.#done}/${this.total} ${rate.toFixed(rate < 10 ? 2 : 1)} it/s reward ${this.runningReward.toFixed(3)} eta ${eta}`;
    if (!this.stream.isTTY) {
      this.stream.write(`${this.label} ${stats}\n`);
      return;
    }
    const filled = Math.round((BAR_WIDTH * this.#done) / Math.max(1, this.total));
    const line = `${this.label} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${stats}`;
    this.stream.write(`\r${line.slice(0, (this.stream.columns ?? 200) - 1)}\x1b[K`);
  }
}

/** 3725 → '1h02m', 125 → '2m05s', 9 → '9s'. */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  const [h, m, sec] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}
