/**
 * `npm run bench`: every benchmark, one after another, each in its own process (so one's heap and JIT
 * state cannot colour the next), each printing its table beside its baseline and writing
 * bench/results/<name>.json. Pass `--quick` for fewer rounds; name benchmarks to run only those
 * (`npm run bench -- core codec`).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const ALL = ['core', 'codec', 'native-frame', 'references', 'shared-array', 'code-availability', 'pmap'];

function main(): void {
  const args = process.argv.slice(2);
  const flags = args.filter((a) => a.startsWith('--'));
  const picked = args.filter((a) => !a.startsWith('--'));
  const unknown = picked.filter((p) => !ALL.includes(p));
  if (unknown.length > 0) throw new Error(`unknown benchmark ${unknown.join(', ')}; known: ${ALL.join(', ')}`);
  let failed = 0;
  for (const name of picked.length > 0 ? picked : ALL) {
    process.stdout.write(`\n=== ${name} ===\n`);
    const r = spawnSync(process.execPath, ['--expose-gc', path.join(__dirname, `${name}.js`), ...flags], { stdio: 'inherit' });
    if (r.status !== 0) {
      failed++;
      process.stdout.write(`${name} failed (${r.status ?? r.signal})\n`);
    }
  }
  if (failed > 0) process.exitCode = 1;
}

main();
