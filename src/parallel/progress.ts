/**
 * `pmap(..., { progress: true })`: items done, rate and ETA on stderr — a bar redrawn in place when stderr
 * is a terminal, a plain line every few seconds (and at the end) otherwise, so logs stay readable.
 */

/** Where progress goes (stderr by default; tests pass their own). */
export interface ProgressSink {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const fmtTime = (s: number): string => {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s - m * 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
};
const fmtRate = (r: number): string => (r >= 1e6 ? `${(r / 1e6).toFixed(2)} M` : r >= 1e4 ? `${(r / 1e3).toFixed(1)} k` : r.toFixed(r < 10 ? 2 : 0));

/** A progress display for one map over `total` items (total unknown: counts and rate only). */
export class Progress {
  readonly #out: ProgressSink;
  readonly #label: string;
  readonly #tty: boolean;
  readonly #everyMs: number;
  #total: number | undefined;
  #done = 0;
  #t0 = 0;
  #lastDraw = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(label = 'pmap', out: ProgressSink = process.stderr, everyMs?: number) {
    this.#out = out;
    this.#label = label;
    this.#tty = out.isTTY === true;
    this.#everyMs = everyMs ?? (this.#tty ? 100 : 5000);
  }

  begin(total: number | undefined): void {
    this.#total = total;
    this.#t0 = Date.now();
    this.#timer = setInterval(() => this.#draw(false), this.#everyMs);
    this.#timer.unref();
    if (this.#tty) this.#draw(false);
  }

  tick(n: number): void {
    this.#done += n;
    if (this.#tty && Date.now() - this.#lastDraw >= this.#everyMs) this.#draw(false);
  }

  end(ok: boolean): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#draw(true, ok);
  }

  /** The status text: `pmap: 50/100 (50%) 1.2 k items/s ETA 0.4 s`. */
  line(final = false): string {
    const secs = Math.max((Date.now() - this.#t0) / 1000, 1e-3);
    const rate = this.#done / secs;
    const t = this.#total;
    const count = t === undefined ? `${this.#done}` : `${this.#done}/${t} (${Math.floor((100 * this.#done) / Math.max(t, 1))}%)`;
    const tail = final ? `in ${fmtTime(secs)}` : t === undefined ? `elapsed ${fmtTime(secs)}` : `ETA ${fmtTime(rate > 0 ? (t - this.#done) / rate : Infinity)}`;
    return `${this.#label}: ${count} ${fmtRate(rate)} items/s ${tail}`;
  }

  #draw(final: boolean, ok = true): void {
    this.#lastDraw = Date.now();
    const text = this.line(final) + (final && !ok ? ' (stopped by an error)' : '');
    if (!this.#tty) {
      this.#out.write(`${text}\n`);
      return;
    }
    const width = Math.max(10, Math.min(40, (this.#out.columns ?? 80) - text.length - 4));
    const frac = this.#total ? Math.min(1, this.#done / this.#total) : 0;
    const full = Math.round(frac * width);
    const bar = this.#total ? `[${'#'.repeat(full)}${' '.repeat(width - full)}] ` : '';
    this.#out.write(`\r\x1b[2K${bar}${text}${final ? '\n' : ''}`);
  }
}
