/**
 * The manual's count_heads: flip a coin n times across the workers and count the heads, with
 * `distributed(range, body, reducer)` (Julia's `@distributed (+) for i = 1:n … end`).
 *
 *     node dist/examples/count_heads.js [workers=2] [flips=2e7]
 */
import { addprocs, distributed, nworkers, range, rmprocs, workers } from '../src/index';

async function main(): Promise<void> {
  const nw = Number(process.argv[2] ?? 2);
  const n = Number(process.argv[3] ?? 2e7);
  await addprocs(nw);
  const t0 = Date.now();
  const heads = await distributed(range(0, n), (): number => (Math.random() < 0.5 ? 1 : 0), (a: number, b: number) => a + b);
  const s = (Date.now() - t0) / 1000;
  console.log(`${heads} heads in ${n} flips (${((100 * heads) / n).toFixed(2)}%) on ${nworkers()} workers in ${s.toFixed(2)} seconds`);
  await rmprocs(...workers());
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
