import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * The project root: the nearest directory at or above this file holding a package.json (works from
 * bench/lib and from dist/bench/lib, whose parents' first package.json is the project's).
 */
export function projectRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 20; i++) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return process.cwd();
}

/** Directory holding result JSON files: <project>/bench/results. */
export function resultsDir(): string {
  return path.join(projectRoot(), 'bench', 'results');
}

/** Host facts worth recording next to any timing (the machines are shared and noisy). */
export function hostInfo(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model,
    loadavg: os.loadavg(),
    totalMemMB: Math.round(os.totalmem() / 1e6),
  };
}

/**
 * Writes `{ name, date, host, results: object }` as pretty JSON to bench/results/<name>.json (creating
 * the directory), atomically (temp file + rename). Returns the path written.
 */
export function writeResults(name: string, object: unknown): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_');
  const dir = resultsDir();
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${safe}.json`);
  const tmp = `${file}.${process.pid}.tmp`;
  const body = { name, date: new Date().toISOString(), host: hostInfo(), results: object };
  fs.writeFileSync(tmp, JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n');
  fs.renameSync(tmp, file);
  return file;
}
