/**
 * Running a batch of items on the process (or thread) that received it: `f` applied to each item, async
 * results awaited concurrently (Julia runs a batch with a local `asyncmap`), errors captured per item
 * when asked. All-number results travel back as one Float64Array (one raw run of bytes instead of a
 * tagged value per item).
 */
import { Range } from './range';

/** A batch's answer: the values (holes where items failed) and the failures as [index, error]. */
export interface BatchAnswer {
  v: unknown[] | Float64Array;
  e: Array<[number, unknown]>;
}

const isThenable = (r: unknown): r is PromiseLike<unknown> =>
  r !== null && (typeof r === 'object' || typeof r === 'function') && typeof (r as PromiseLike<unknown>).then === 'function';

function pack(out: unknown[], errs: Array<[number, unknown]>): BatchAnswer {
  if (errs.length === 0 && out.length >= 16) {
    let numeric = true;
    for (let i = 0; i < out.length; i++) {
      if (typeof out[i] !== 'number') {
        numeric = false;
        break;
      }
    }
    if (numeric) return { v: Float64Array.from(out as number[]), e: errs };
  }
  return { v: out, e: errs };
}

/**
 * Applies `f` to every item of `items` (an array or a Range); `spread` calls `f(...item)`. With
 * `capture`, an item's error is reported in the answer instead of failing the batch.
 */
export function runBatch(f: (...a: unknown[]) => unknown, items: unknown[] | Range, spread: boolean, capture: boolean): BatchAnswer | Promise<BatchAnswer> {
  const n = items.length;
  const out = new Array<unknown>(n);
  const errs: Array<[number, unknown]> = [];
  let pending: Array<Promise<void>> | undefined;
  const isRange = items instanceof Range;
  const start = isRange ? items.start : 0;
  const step = isRange ? items.step : 0;
  for (let i = 0; i < n; i++) {
    const x = isRange ? start + i * step : (items as unknown[])[i];
    let r: unknown;
    try {
      r = spread ? f(...(x as unknown[])) : f(x);
    } catch (e) {
      if (!capture) throw e;
      errs.push([i, e]);
      continue;
    }
    if (isThenable(r)) {
      (pending ??= []).push(
        Promise.resolve(r).then(
          (v) => void (out[i] = v),
          (e: unknown) => {
            if (!capture) throw e;
            errs.push([i, e]);
          },
        ),
      );
    } else out[i] = r;
  }
  if (pending !== undefined) return Promise.all(pending).then(() => pack(out, errs));
  return pack(out, errs);
}
