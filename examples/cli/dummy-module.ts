/**
 * The manual's DummyModule story: load a module everywhere, send its class to a worker.
 *
 *     npx distributed -p 2 examples/cli/dummy-module.ts
 */
import * as path from 'node:path';
import { everywhere, remotecall_fetch, fetchfrom, Future } from 'distributed-ts';
import { MyType, f } from './DummyModule';

async function main(): Promise<void> {
  // Julia: @everywhere include("DummyModule.jl")
  await everywhere({ import: path.join(__dirname, 'DummyModule.ts') });
  console.log('MyType(7) here:', new MyType(7));
  // Julia needs `DummyModule.MyType(7)` here; in TypeScript the import is in the closure's scope, and it
  // names an export of a module loaded everywhere, so worker 2 binds it to its own copy of the module.
  const made = await fetchfrom(2, () => new MyType(7));
  console.log('fetchfrom(2, () => new MyType(7)):', made, made instanceof MyType);
  // An instance still travels to a process that loaded the module, and comes back as a MyType.
  const back = await remotecall_fetch((t: MyType) => ({ a: t.a, same: t }), 2, new MyType(7));
  console.log('worker 2 saw a =', back.a, '; it came back as a MyType:', back.same instanceof MyType);
  const fut = new Future<MyType>(2);
  await fut.put(new MyType(7));
  console.log('put(Future(2), MyType(7)) then fetch:', (await fut.fetch()) instanceof MyType);
  // Its function travels as (module, name): worker 2 runs its own f.
  console.log('remotecall_fetch(f, 2, 3) =', await remotecall_fetch(f, 2, 3));
}

main();
