/**
 * pmap over a list of matrices: each worker finds the largest eigenvalue of a 300×300 symmetric
 * Float64Array matrix by power iteration (the matrices travel as raw bytes).
 *
 *     node dist/examples/pmap-matrices.js [workers=2] [matrices=12]
 */
import { addprocs, pmap, rmprocs, workers } from '../src/index';

const N = 300;

/** A symmetric matrix with known top eigenvalue `lambda`: lambda·v·vᵀ plus a small symmetric perturbation-free rest. */
function matrix(lambda: number): Float64Array {
  const a = new Float64Array(N * N);
  const v = 1 / Math.sqrt(N); // the unit vector (1, …, 1)/√N
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) a[i * N + j] = lambda * v * v + (i === j ? 1 : 0);
  return a; // eigenvalues: lambda + 1 (once) and 1 (N-1 times)
}

/** Power iteration; runs on the workers (self-contained: shipped as source). */
function topEigenvalue(a: Float64Array): number {
  const n = Math.round(Math.sqrt(a.length));
  let x = new Float64Array(n).fill(1).map((_, i) => 1 + ((i * 7919) % 13) / 13);
  let lambda = 0;
  for (let it = 0; it < 500; it++) {
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += a[i * n + j] * x[j];
      y[i] = s;
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += y[i] * y[i];
    norm = Math.sqrt(norm);
    const next = norm;
    for (let i = 0; i < n; i++) y[i] /= norm;
    x = y;
    if (Math.abs(next - lambda) < 1e-12 * next) return next;
    lambda = next;
  }
  return lambda;
}

async function main(): Promise<void> {
  const nw = Number(process.argv[2] ?? 2);
  const count = Number(process.argv[3] ?? 12);
  await addprocs(nw);
  const mats = Array.from({ length: count }, (_, k) => matrix(10 + k));
  const tops = (await pmap(topEigenvalue, mats)) as number[];
  tops.forEach((t, k) => console.log(`matrix ${k}: largest eigenvalue ${t.toFixed(6)} (expected ${(11 + k).toFixed(6)})`));
  await rmprocs(...workers());
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
