/**
 * The manual's rand2 story: a function defined only on the master fails remotely, and works once it is
 * defined everywhere.
 *
 *     npx distributed -p 2 examples/cli/rand2.ts
 */
import { everywhere, spawnat, RemoteException } from 'distributed-ts';

declare global {
  // eslint-disable-next-line no-var
  var rand2: (...dims: number[]) => number[];
}

async function main(): Promise<void> {
  // Defined on process 1 only (a global, as Julia's functions in Main are).
  globalThis.rand2 = function rand2(...dims: number[]): number[] {
    return Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => 2 * Math.random());
  };
  console.log('rand2(2, 2) here:', rand2(2, 2).length, 'numbers');
  try {
    await spawnat(':any', () => rand2(2, 2)).fetch();
  } catch (e) {
    const re = e as InstanceType<typeof RemoteException>;
    console.log(`remote call failed on worker ${re.pid}: ${(re.captured.ex as Error).message}`);
  }
  // Julia: @everywhere function rand2(dims...) ... end
  await everywhere(() => {
    globalThis.rand2 = function rand2(...dims: number[]): number[] {
      return Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => 2 * Math.random());
    };
  });
  const r = await spawnat(':any', () => rand2(2, 2)).fetch();
  console.log('after everywhere, remote rand2(2, 2):', r.length, 'numbers, all in [0, 2):', r.every((x) => x >= 0 && x < 2));
}

main();
