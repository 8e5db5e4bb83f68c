/**
 * Reusable buffers for the unwritten rest of large frames. When the kernel does not take a frame at
 * once, its rest must be copied (the caller may change its arrays as soon as the call returns); copying
 * into a fresh 80 MB Buffer costs a page fault and a zeroed page per 4 KiB, several times the memcpy
 * itself. A buffer goes back to the pool when the socket has written it, so the next large frame copies
 * into memory that is already mapped.
 */

/** Rests smaller than this get a fresh Buffer (the pool is for the large ones). */
const MIN_POOLED = 1 << 20;
/** At most this many bytes stay pooled per process. */
const MAX_POOLED_BYTES = 512 * 1024 * 1024;

const free: Buffer[] = [];
let pooledBytes = 0;

/** A buffer of at least `n` bytes, from the pool when one fits. Give it back with {@link giveSpill}. */
export function takeSpill(n: number): Buffer {
  if (n >= MIN_POOLED) {
    // The smallest pooled buffer that fits, so one large buffer is not spent on a medium frame.
    let best = -1;
    for (let i = 0; i < free.length; i++) {
      if (free[i].length >= n && (best < 0 || free[i].length < free[best].length)) best = i;
    }
    if (best >= 0) {
      const b = free[best];
      free.splice(best, 1);
      pooledBytes -= b.length;
      return b;
    }
  }
  return Buffer.allocUnsafeSlow(n);
}

/** Returns a buffer taken with {@link takeSpill} once nothing reads it any more. */
export function giveSpill(b: Buffer): void {
  if (b.length < MIN_POOLED) return;
  // Make room by dropping the smallest buffers; a buffer larger than the whole pool is not kept.
  while (pooledBytes + b.length > MAX_POOLED_BYTES && free.length > 0) {
    let smallest = 0;
    for (let i = 1; i < free.length; i++) if (free[i].length < free[smallest].length) smallest = i;
    pooledBytes -= free[smallest].length;
    free.splice(smallest, 1);
  }
  if (pooledBytes + b.length > MAX_POOLED_BYTES) return;
  free.push(b);
  pooledBytes += b.length;
}
