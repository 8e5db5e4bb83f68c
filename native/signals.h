// Signal dispositions a worker needs (see src/worker/interruptible.ts).
#pragma once
#include <napi.h>

namespace dts {

// ignoreSigint() -> boolean: sets SIGINT to SIG_IGN unless Node's SIGINT watchdog is in charge (a
// breakable run is active somewhere in the process), and says whether it did. A worker calls it at
// start and after each breakable run until its helper thread holds the watchdog for good: Node's
// watchdog resets SIGINT to "exit" whenever its last run ends, so an interrupt arriving while the worker
// is idle would otherwise end it. The watchdog installs its own handler again when the next breakable
// run starts, so interrupting running code is unaffected.
Napi::Value IgnoreSigint(const Napi::CallbackInfo& info);

}  // namespace dts
