#include "mapping.h"

#include <sys/mman.h>

#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "args.h"
#include "errors.h"

namespace dts {

namespace {

struct Mapping {
  void* base;
  size_t mapLength;
  size_t length;
  bool unmapped;
};

// Live mappings by data pointer. Worker threads may load the addon too, hence the lock.
std::mutex liveLock;
std::unordered_map<void*, Mapping*> live;

void FinalizeMapping(napi_env env, void* data, void* hint) {
  Mapping* m = static_cast<Mapping*>(hint);
  {
    std::lock_guard<std::mutex> g(liveLock);
    if (!m->unmapped) {
      munmap(m->base, m->mapLength);
      live.erase(data);
    }
  }
  int64_t adjusted = 0;
  napi_adjust_external_memory(env, -static_cast<int64_t>(m->length), &adjusted);
  delete m;
}

}  // namespace

Napi::ArrayBuffer WrapMapping(Napi::Env env, void* base, size_t mapLength, void* data, size_t length) {
  Mapping* m = new Mapping{base, mapLength, length, false};
  napi_value result = nullptr;
  napi_status s = napi_create_external_arraybuffer(env, data, length, FinalizeMapping, m, &result);
  if (s != napi_ok) {
    munmap(base, mapLength);
    delete m;
    // A pending exception (the ArrayBuffer would be too large for this Node) is replaced by ours.
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored);
    }
    throw Napi::RangeError::New(env, Format("cannot expose a mapping of %zu bytes as an ArrayBuffer (larger than this Node accepts? see buffer.constants.MAX_LENGTH)", length));
  }
  {
    std::lock_guard<std::mutex> g(liveLock);
    live[data] = m;
  }
  int64_t adjusted = 0;
  napi_adjust_external_memory(env, static_cast<int64_t>(length), &adjusted);
  return Napi::ArrayBuffer(env, result);
}

Napi::Value Unmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Value v = info[0];
  if (!v.IsArrayBuffer()) throw Napi::TypeError::New(env, Format("unmap: the argument must be an ArrayBuffer (got %s)", Describe(v).c_str()));
  Napi::ArrayBuffer ab = v.As<Napi::ArrayBuffer>();
  void* data = ab.Data();
  Mapping* m = nullptr;
  {
    std::lock_guard<std::mutex> g(liveLock);
    auto it = live.find(data);
    if (data == nullptr || it == live.end() || it->second->length != ab.ByteLength()) return Napi::Boolean::New(env, false);
    m = it->second;
  }
  // Detach first: from here no typed array can reach the memory we are about to unmap.
  if (napi_detach_arraybuffer(env, ab) != napi_ok) {
    throw Napi::Error::New(env, "unmap: the ArrayBuffer could not be detached, so it was not unmapped");
  }
  std::lock_guard<std::mutex> g(liveLock);
  if (!m->unmapped) {
    munmap(m->base, m->mapLength);
    m->unmapped = true;
    live.erase(data);
  }
  return Napi::Boolean::New(env, true);
}

Napi::Value MappingCount(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> g(liveLock);
  return Napi::Number::New(info.Env(), double(live.size()));
}

}  // namespace dts
