// Batch scheduling for a worker's main thread (see src/worker/batch-scheduling.ts).
//
// When process 1 sends calls to several workers in a row, each send wakes a sleeping worker, and Linux
// may wake it on the sender's own CPU and let it preempt the sender at once: the rest of the sends then
// wait for the scheduler to move one of the two (a tick, milliseconds), and so do the workers not yet
// called. A thread under SCHED_BATCH never preempts on wake-up (Linux leaves that to the tick); its CPU
// share is the same. It needs no privilege, and only this thread (the one running JavaScript) changes.
#pragma once
#include <napi.h>

namespace dts {

// setBatchScheduling(on: boolean) -> boolean: puts this thread under SCHED_BATCH (on) or back under
// SCHED_OTHER (off). Answers whether the thread now has the policy asked for: false where Linux's
// policies do not exist, or when the thread runs under another policy (real-time, idle) that its user
// chose, which is left alone.
Napi::Value SetBatchScheduling(const Napi::CallbackInfo& info);

// batchScheduling() -> boolean: whether this thread runs under SCHED_BATCH.
Napi::Value BatchScheduling(const Napi::CallbackInfo& info);

}  // namespace dts
