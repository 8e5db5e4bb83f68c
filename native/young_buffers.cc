#include "young_buffers.h"

#include <v8.h>

#include <atomic>
#include <mutex>
#include <unordered_set>

#include "args.h"
#include "le_bytes.h"

namespace dts {

namespace {

struct Tracked {
  void* data;
  size_t len;
  UncountedFree onFree;
  void* hint;
  napi_env env;
  double epoch;     // young collections before it was made
  bool accounted;   // counted as external memory (it outlived a young collection)
};

// Every live uncounted ArrayBuffer, of every thread's isolate (each counts only its own env's).
std::mutex g_mutex;
std::unordered_set<Tracked*>& Live() {
  static auto* live = new std::unordered_set<Tracked*>;  // never destroyed: finalizers run at exit
  return *live;
}
std::atomic<uint64_t> g_collections{0};

void Finalize(napi_env env, void* data, void* /*hint*/) {
  Tracked* t = static_cast<Tracked*>(data);
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    Live().erase(t);
  }
  if (t->accounted) {
    int64_t adjusted = 0;
    napi_adjust_external_memory(env, -static_cast<int64_t>(t->len), &adjusted);
  }
  UncountedFree onFree = t->onFree;
  void* mem = t->data;
  void* hint = t->hint;
  delete t;
  onFree(env, mem, hint);
}

}  // namespace

napi_value NewUncountedArrayBuffer(napi_env env, void* data, size_t len, UncountedFree onFree, void* hint) {
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  std::shared_ptr<v8::BackingStore> store = v8::ArrayBuffer::NewBackingStore(data, len, v8::BackingStore::EmptyDeleter, nullptr);
  v8::Local<v8::ArrayBuffer> buffer = v8::ArrayBuffer::New(isolate, store);
  // A key no JavaScript holds: detaching it is refused.
  buffer->SetDetachKey(v8::Object::New(isolate));
  // A napi_value is a v8::Local's slot in the current handle scope (Node-API's own conversion).
  napi_value ab = reinterpret_cast<napi_value>(*buffer);
  Tracked* t = new Tracked{data, len, onFree, hint, env, double(g_collections.load()), false};
  if (napi_add_finalizer(env, ab, t, Finalize, nullptr, nullptr) != napi_ok) {
    delete t;
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(g_mutex);
  Live().insert(t);
  return ab;
}

Napi::Value CollectYoung(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool keepExposed = info.Length() > 0 && info[0].IsBoolean() && info[0].As<Napi::Boolean>().Value();
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  {
    // Flags are the process's: another thread must not turn the flag off between our setting it and
    // V8's check of it (a failed check aborts).
    static std::mutex flagLock;
    std::lock_guard<std::mutex> hold(flagLock);
    v8::V8::SetFlagsFromString("--expose-gc");
    isolate->RequestGarbageCollectionForTesting(v8::Isolate::kMinorGarbageCollection);
    if (!keepExposed) v8::V8::SetFlagsFromString("--no-expose-gc");
  }
  return Napi::Number::New(env, double(++g_collections));
}

Napi::Value AccountSurvivors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double epoch = GetInteger(info[0], "accountSurvivors", "epoch", 0, kMaxSafe);
  double bytes = 0;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    for (Tracked* t : Live()) {
      if (t->env != napi_env(env) || t->accounted || t->epoch >= epoch) continue;
      t->accounted = true;
      bytes += double(t->len);
    }
  }
  if (bytes > 0) {
    int64_t adjusted = 0;
    napi_adjust_external_memory(env, static_cast<int64_t>(bytes), &adjusted);
  }
  return Napi::Number::New(env, bytes);
}

Napi::Value UncountedStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double live = 0, liveBytes = 0, accounted = 0;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    for (Tracked* t : Live()) {
      if (t->env != napi_env(env)) continue;
      live++;
      liveBytes += double(t->len);
      if (t->accounted) accounted += double(t->len);
    }
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("live", live);
  o.Set("liveBytes", liveBytes);
  o.Set("accountedBytes", accounted);
  return o;
}

}  // namespace dts
