/**
 * procs(pid) on a worker matches process 1: process 1 tells every worker the host of every process (as
 * its cluster manager named it in WorkerConfig.host). The workers here all run on this machine, under a
 * LocalManager that names their hosts, which is all procs(pid) reads; the default pids and the checks of
 * SharedArray.create on a worker follow.
 */
import { dts, teardown } from './helpers';
import type { AddprocsOptions, WorkerConfig } from '../src/index';

const { addprocs, rmprocs, procs, remotecall_fetch, LocalManager, SharedArray } = dts;

jest.setTimeout(60_000);
afterAll(teardown);

/** Local workers, each reported as being on the host given for it. */
class NamedHosts extends LocalManager {
  constructor(readonly hosts: string[]) {
    super(hosts.length);
  }

  override async launch(params: AddprocsOptions, launched: WorkerConfig[], notify: () => void): Promise<void> {
    const mine: WorkerConfig[] = [];
    await super.launch(params, mine, () => undefined);
    mine.forEach((config, i) => {
      config.host = this.hosts[i];
      launched.push(config);
      notify();
    });
  }
}

/** procs(p) for every process p, as process `on` answers it. */
function hostGroupsOn(on: number): Promise<number[][]> {
  return remotecall_fetch(() => procs().map((p) => procs(p)), on);
}

test('procs(pid) on every worker equals procs(pid) on the master, for workers on several hosts', async () => {
  const [a1, b1, a2] = await addprocs(new NamedHosts(['hostA', 'hostB', 'hostA']));
  expect(procs(a1)).toEqual([a1, a2]);
  expect(procs(b1)).toEqual([b1]);
  expect(procs(1)).toEqual([1]); // the master's host runs no worker here
  const onMaster = procs().map((p) => procs(p));
  for (const w of [a1, b1, a2]) expect(await hostGroupsOn(w)).toEqual(onMaster);

  // Workers that joined earlier hear of a later worker's host, and the master's host is 'localhost'.
  const [b2, local] = await addprocs(new NamedHosts(['hostB', 'localhost']));
  expect(procs(b2)).toEqual([b1, b2]);
  expect(procs(1)).toEqual([1, local]);
  const after = procs().map((p) => procs(p));
  for (const w of [a1, b1, a2, b2, local]) expect(await hostGroupsOn(w)).toEqual(after);
  expect(await remotecall_fetch((p: number) => procs(p), a1, b2)).toEqual([b1, b2]);

  // A departed worker leaves its host's group everywhere.
  await rmprocs(b1);
  expect(procs(b2)).toEqual([b2]);
  expect(await remotecall_fetch((p: number) => procs(p), a1, b2)).toEqual([b2]);
  await rmprocs(a1, a2, b2, local);
  expect(procs()).toEqual([1]);
});

test("SharedArray.create on a worker: the default pids are its host's processes, and a process on another host is refused", async () => {
  const [a1, b1, a2] = await addprocs(new NamedHosts(['hostA', 'hostB', 'hostA']));
  const made = await remotecall_fetch(async () => {
    const S = await SharedArray.create('Int32', [4]);
    return procs(S);
  }, a1);
  expect(made).toEqual([a1, a2]);
  expect(await remotecall_fetch(async () => procs(await SharedArray.create('Int32', [4])), b1)).toEqual([b1]);
  const refused = await remotecall_fetch(async (p: number) => SharedArray.create('Int32', [4], { pids: [myid(), p] }).then(() => 'made', (e: Error) => e.message), a1, b1);
  expect(refused).toMatch(new RegExp(`process ${b1} is not on this host.*local processes: ${a1}, ${a2}`));
  await rmprocs(a1, b1, a2);
});

declare function myid(): number;
