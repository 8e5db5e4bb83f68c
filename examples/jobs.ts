/**
 * The manual's jobs/results program ("Channels" / "Remote References and AbstractChannels"): a jobs
 * channel and a results channel on the master, `do_work` started on every worker with `remote_do`, the
 * master printing each result as it arrives.
 *
 *     npx tsc -p . && node dist/examples/jobs.js [nworkers=4] [njobs=12]
 */
import { addprocs, Channel, RemoteChannel, remote_do, rmprocs, workers } from '../src/index';

// Shipped functions run on the workers, where this package's exports are globals (`myid` here).
declare function myid(): number;

type Result = [job_id: number, exec_time: number, where: number];

/** Runs on every worker: take a job, "work" for a random time, put the result. */
async function do_work(jobs: RemoteChannel<number>, results: RemoteChannel<Result>): Promise<void> {
  for (;;) {
    const job_id = await jobs.take();
    const exec_time = Math.random();
    await new Promise((resolve) => setTimeout(resolve, exec_time * 1000)); // simulates elapsed time doing actual work
    await results.put([job_id, exec_time, myid()]);
  }
}

async function main(): Promise<void> {
  const nw = Number(process.argv[2] ?? 4);
  let n = Number(process.argv[3] ?? 12);
  await addprocs(nw);

  const jobs = new RemoteChannel<number>(() => new Channel(32));
  const results = new RemoteChannel<Result>(() => new Channel(32));

  const make_jobs = async (count: number): Promise<void> => {
    for (let i = 1; i <= count; i++) await jobs.put(i);
  };
  make_jobs(n).catch((e: unknown) => console.error('make_jobs failed:', e)); // feed the jobs channel with n jobs

  for (const p of workers()) remote_do(do_work, p, jobs, results); // start tasks on the workers to process requests in parallel

  const t0 = performance.now();
  while (n > 0) {
    // print out results
    const [job_id, exec_time, where] = await results.take();
    console.log(`${job_id} finished in ${exec_time.toFixed(2)} seconds on worker ${where}`);
    n = n - 1;
  }
  console.log(`all done in ${((performance.now() - t0) / 1000).toFixed(2)} seconds`);
  await rmprocs(...workers());
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
