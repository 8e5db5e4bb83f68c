export type Row = Record<string, unknown>;

/** Formats a cell: numbers to at most 4 significant digits (integers kept whole), the rest by String. */
export function formatCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    if (Number.isInteger(v) && Math.abs(v) < 1e12) return String(v);
    const a = Math.abs(v);
    if (a >= 1000) return v.toFixed(0);
    if (a >= 100) return v.toFixed(1);
    if (a >= 10) return v.toFixed(2);
    if (a >= 1) return v.toFixed(3);
    return v.toPrecision(3);
  }
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/**
 * Formats rows as a plain-text table. Columns are the union of the rows' keys in first-seen order
 * (or `columns` if given); numbers are right-aligned.
 */
export function formatTable(rows: Row[], columns?: string[]): string {
  const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cells = rows.map((r) => cols.map((c) => formatCell(r[c])));
  const widths = cols.map((c, j) => Math.max(c.length, ...cells.map((row) => row[j].length)));
  const numeric = cols.map((c) => rows.some((r) => typeof r[c] === 'number'));
  const pad = (s: string, j: number) => (numeric[j] ? s.padStart(widths[j]) : s.padEnd(widths[j]));
  const lines = [
    cols.map((c, j) => pad(c, j)).join('  '),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.map((row) => row.map((s, j) => pad(s, j)).join('  ')),
  ];
  return lines.join('\n');
}

/** Prints rows as a table to stdout (see formatTable). */
export function printTable(rows: Row[], columns?: string[]): void {
  process.stdout.write(formatTable(rows, columns) + '\n');
}
