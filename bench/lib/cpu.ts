/**
 * The CPU-bound kernel used to measure how much parallel capacity the machine gives: a dependent
 * floating-point accumulation (no memory traffic, nothing the JIT can fold away). The parent
 * calibrates with it and the peer processes run it, so both execute literally the same code.
 */
export function cpuWork(iterations: number): number {
  let x = 1.0;
  let s = 0.0;
  for (let i = 0; i < iterations; i++) {
    x = x * 1.0000000001 + 1e-9;
    s += x;
  }
  return s;
}
