// Large ArrayBuffers over memory of ours (a received segment, a shared-memory segment) that V8 does not
// count as external memory, freed by young collections.
//
// V8 counts the bytes of every ArrayBuffer with a deleter as external memory, and starts a full
// (mark-compact) collection once more than 64 MB were added since the last one: for a stream of large
// arrays, one on every arrival, in both processes, costing more than the copy that moved the array.
// These ArrayBuffers have an empty deleter, which V8 leaves out; their death is seen by a finalizer
// (a weak reference, which young collections clear too). JavaScript asks for a young collection after
// large arrivals (CollectYoung), and counts as external memory the ones that outlive one
// (AccountSurvivors), so long-lived arrays weigh on V8's schedule as any external memory does.
#pragma once
#include <napi.h>

#include <cstddef>

namespace dts {

// Buffers at least this large are made uncounted (smaller ones are cheap for V8 to count).
constexpr size_t kUncountedMinBytes = size_t(1) << 20;

// What to do when an uncounted ArrayBuffer is collected: free or release `data`.
using UncountedFree = void (*)(napi_env env, void* data, void* hint);

// An ArrayBuffer of len bytes over data, uncounted, that cannot be detached (transfer(), a transfer
// list: that would move the memory past the finalizer). onFree(env, data, hint) runs once it is
// collected. Returns nullptr (and frees nothing) when it cannot be made.
napi_value NewUncountedArrayBuffer(napi_env env, void* data, size_t len, UncountedFree onFree, void* hint);

// collectYoung(keepExposed) → epoch: a young collection now. V8 offers it only to --expose-gc, which
// is set for the call and then restored unless keepExposed. Returns the collection's number.
Napi::Value CollectYoung(const Napi::CallbackInfo& info);

// accountSurvivors(epoch) → bytes: counts as external memory the uncounted ArrayBuffers of this
// thread made before collection `epoch` and alive now.
Napi::Value AccountSurvivors(const Napi::CallbackInfo& info);

// uncountedStats() → { live, liveBytes, accountedBytes } of this thread's uncounted ArrayBuffers.
Napi::Value UncountedStats(const Napi::CallbackInfo& info);

}  // namespace dts
