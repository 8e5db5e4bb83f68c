// Interrupting shipped calls on a worker (Julia's `interrupt`; see src/worker/interruptible.ts).
//
// A SIGINT handler of our own posts a semaphore; a helper thread waits on it. If a breakable call is
// running on the main thread, the helper asks V8 to terminate it (TerminateExecution, safe from any
// thread); `callBreakable` sees the termination where the call returns to it, cancels it, and throws an
// error with code ERR_SCRIPT_EXECUTION_INTERRUPTED. A SIGINT that finds no call running is reported
// to the `onIdleInterrupt` callback instead (which fails the asynchronous calls in flight), and never
// ends the process. The call itself costs one native transition and two uncontended mutex operations,
// against Node's `vm` `breakOnSigint` run (a script function built per run, a watchdog registered).
#pragma once
#include <napi.h>

namespace dts {

// enableInterrupts(onIdleInterrupt: () => void) -> undefined: installs the SIGINT handler and starts
// the helper thread (once per process; later calls only replace the callback). Main thread only.
Napi::Value EnableInterrupts(const Napi::CallbackInfo& info);

// callBreakable(f, args: unknown[]) -> f(...args), or throws ERR_SCRIPT_EXECUTION_INTERRUPTED when a
// SIGINT arrived while it ran. Exceptions thrown by f pass through unchanged.
Napi::Value CallBreakable(const Napi::CallbackInfo& info);

}  // namespace dts
