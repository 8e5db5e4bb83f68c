/**
 * The scope `sync(async () => { ... })` opens (Julia's `@sync`): every task started inside it (through any
 * chain of awaits) registers here — each remote call and `remote_do`, and each of the library's own
 * asynchronous operations (`pmap`, `asyncmap`, `everywhere`, `distributed` with a reducer,
 * `SharedArray.create`/`fromFile`) as one task.
 * AsyncLocalStorage carries the scope through the async calls; while no scope is open the remote-call
 * forms pay only a counter check.
 *
 * Why the wait does not depend on timing: every task registers synchronously when it is started, and an
 * operation registers before it does any work, so whatever it starts later (pmap's next item, a retry
 * after a delay) is started while a registered task is still pending. `runInScope` waits until every
 * registered task has settled; a task registered meanwhile is seen before that holds. Only work started
 * from a detached callback (a timer nothing awaits) can be registered after the scope has finished.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** What one `sync` block waits for, in the order the tasks were started. */
export interface SyncScope {
  readonly tasks: Array<Promise<unknown>>;
  /** The same tasks, to register each once (`remote_do` goes through `remotecall_fetch`, which registers too). */
  readonly registered: Set<Promise<unknown>>;
}

/** The scope of the running code; `undefined` inside `internally` (run, not the experimental `exit`). */
export const syncStorage = new AsyncLocalStorage<SyncScope | undefined>();
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

/** Registers `task` with the current sync scope (if any, and once); its rejection is handled there. */
export function registerTask(task: Promise<unknown>): void {
  const scope = currentSync();
  if (scope === undefined || scope.registered.has(task)) return;
  task.catch(() => undefined);
  scope.registered.add(task);
  scope.tasks.push(task);
}

/**
 * Starts one of the library's asynchronous operations as a single task of the current sync scope: `start`
 * runs at once and what it returns is registered. Returns that promise.
 *
 * ```ts
 * export function pmap(...) { return asTask(() => pmapImpl(...)); }
 * ```
 */
export function asTask<T>(start: () => Promise<T>): Promise<T> {
  const p = start();
  if (open !== 0) registerTask(p);
  return p;
}

/**
 * Runs `f` (which starts an operation's internal remote calls) outside any sync scope, so those calls are
 * not tasks of their own: the operation's outcome is what `sync` sees (a pmap item that failed and was
 * retried, or replaced by `on_error`, is no failure of the block). Continuations attached to what `f`
 * returns run in the caller's scope again. Cheap when no scope is open.
 *
 * ```ts
 * const r = internally(() => remotecall_fetch(f, w, x));
 * ```
 */
export function internally<T>(f: () => T): T {
  return open === 0 ? f() : syncStorage.run(undefined, f);
}

/**
 * Runs `body` inside a fresh scope and waits for it and for every task registered with the scope
 * (tasks may start more tasks while others run); resolves with the body's outcome and the tasks'.
 */
export async function runInScope<T>(body: () => T | Promise<T>): Promise<{ result: PromiseSettledResult<Awaited<T>>; tasks: Array<PromiseSettledResult<unknown>> }> {
  const scope: SyncScope = { tasks: [], registered: new Set() };
  open++;
  try {
    const result = await syncStorage.run(scope, async (): Promise<PromiseSettledResult<Awaited<T>>> => {
      try {
        return { status: 'fulfilled', value: await body() };
      } catch (e) {
        return { status: 'rejected', reason: e };
      }
    });
    // Until every registered task has settled: one registered while we waited is waited for next.
    const settled: Array<PromiseSettledResult<unknown>> = [];
    while (settled.length < scope.tasks.length) settled.push(...(await Promise.allSettled(scope.tasks.slice(settled.length))));
    return { result, tasks: settled };
  } finally {
    open--;
  }
}
