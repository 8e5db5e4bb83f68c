/** Child processes ended when this process exits, so that none outlives it. */
import type { ChildProcess } from 'node:child_process';

/**
 * A set of child processes that each get `signal` when this process exits (add a child when it starts,
 * delete it when it ends).
 *
 * ```ts
 * const children = endAtExit('SIGKILL'); children.add(spawn('node', ['worker.js']));
 * ```
 */
export function endAtExit(signal: NodeJS.Signals): Set<ChildProcess> {
  const children = new Set<ChildProcess>();
  process.on('exit', () => {
    for (const c of children) {
      try {
        c.kill(signal);
      } catch {
        // already gone
      }
    }
  });
  return children;
}
