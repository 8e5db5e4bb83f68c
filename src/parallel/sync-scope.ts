/**
 * The scope `sync(async () => { ... })` opens (Julia's `@sync`): every remote call, `remote_do` and
 * `distributed` loop started inside it (through any chain of awaits) registers what it waits on here.
 * AsyncLocalStorage carries the scope through the async calls; while no scope is open the remote-call
 * forms pay only a counter check.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** What one `sync` block waits for, in the order the tasks were started. */
export interface SyncScope {
  readonly tasks: Array<Promise<unknown>>;
}

export const syncStorage = new AsyncLocalStorage<SyncScope>();
/** How many `sync` blocks are open in this process (0: nothing to register with). */
let open = 0;

/** Whether some `sync` block is open anywhere in this process (cheap: check before `currentSync`). */
export function syncOpen(): boolean {
  return open !== 0;
}

/** The innermost `sync` scope of the running code, if any. */
export function currentSync(): SyncScope | undefined {
  return open === 0 ? undefined : syncStorage.getStore();
}

/** Registers `task` with the current sync scope (if any); its rejection is handled there. */
export function registerTask(task: Promise<unknown>): void {
  const scope = currentSync();
  if (scope === undefined) return;
  task.catch(() => undefined);
  scope.tasks.push(task);
}

/**
 * Runs `body` inside a fresh scope and waits for it and for every task registered with the scope
 * (tasks may start more tasks while others run); resolves with the body's outcome and the tasks'.
 */
export async function runInScope<T>(body: () => T | Promise<T>): Promise<{ result: PromiseSettledResult<Awaited<T>>; tasks: Array<PromiseSettledResult<unknown>> }> {
  const scope: SyncScope = { tasks: [] };
  open++;
  try {
    const result = await syncStorage.run(scope, async (): Promise<PromiseSettledResult<Awaited<T>>> => {
      try {
        return { status: 'fulfilled', value: await body() };
      } catch (e) {
        return { status: 'rejected', reason: e };
      }
    });
    const settled: Array<PromiseSettledResult<unknown>> = [];
    while (settled.length < scope.tasks.length) settled.push(...(await Promise.allSettled(scope.tasks.slice(settled.length))));
    return { result, tasks: settled };
  } finally {
    open--;
  }
}
