/**
 * The manual's Monte Carlo pattern: two spawnat(':any') calls of count_heads, summed.
 *
 *     npx distributed -p 2 -L examples/cli/count_heads.ts examples/cli/count-heads.ts [n]
 */
import { spawnat } from 'distributed-ts';
import { count_heads } from './count_heads';

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 10_000_000);
  const a = spawnat(':any', count_heads, n);
  const b = spawnat(':any', count_heads, n);
  const heads = (await a.fetch()) + (await b.fetch());
  console.log(`workers ${a.where} and ${b.where} flipped ${2 * n} coins: ${heads} heads (${((100 * heads) / (2 * n)).toFixed(2)} %)`);
}

main();
