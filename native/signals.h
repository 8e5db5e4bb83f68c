// Signal dispositions a worker needs (see src/worker/interruptible.ts).
#pragma once
#include <napi.h>

namespace dts {

// ignoreSigint(): sets SIGINT to SIG_IGN for the process. A worker calls it while no breakable run
// holds Node's SIGINT watchdog (at start, and after each breakable run until its helper thread holds
// the watchdog for good): Node's watchdog resets SIGINT to "exit" whenever its last run ends, so an
// interrupt arriving while the worker is idle would otherwise end it. Node's watchdog installs its own
// handler again when the next breakable run starts, so interrupting running code is unaffected.
Napi::Value IgnoreSigint(const Napi::CallbackInfo& info);

}  // namespace dts
