#include "segment_alloc.h"

#include "young_buffers.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace dts {

namespace {

constexpr size_t kHuge = size_t(2) << 20;

size_t PageSize() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

size_t RoundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }

void FinalizeSegment(napi_env env, void* data, void* hint) {
  size_t len = reinterpret_cast<size_t>(hint);
  SegmentFree(data, len);
  int64_t adjusted = 0;
  napi_adjust_external_memory(env, -static_cast<int64_t>(len), &adjusted);
}

// Large runs freed by JavaScript are kept for reuse: a fresh mapping costs a page fault and a zeroed
// page per 4 KiB (several times the copy into it), so a stream of large arrays reuses the same memory.
// Bounded; guarded by a mutex because worker threads share the process.
constexpr size_t kMaxPooledBytes = size_t(512) << 20;

struct Block {
  void* p;
  size_t size;
  bool huge;
};

std::mutex g_mutex;
std::vector<Block> g_pool;                       // free blocks, oldest first
size_t g_pooledBytes = 0;
double g_reused = 0, g_mapped = 0;              // large runs served from the pool / freshly mapped
std::unordered_map<void*, Block> g_live;         // large runs handed out, by address

void* MapRun(size_t size, bool hugePages);

}  // namespace

void* SegmentAlloc(size_t len, bool hugePages) {
  if (len == 0) return nullptr;
  if (len < kMmapThreshold) return std::malloc(len);
  size_t size = RoundUp(len, PageSize());
  if (size < len) return nullptr;  // overflow
  std::lock_guard<std::mutex> lock(g_mutex);
  // The smallest pooled block that fits without wasting more than the run itself.
  size_t best = g_pool.size();
  for (size_t i = 0; i < g_pool.size(); i++) {
    const Block& b = g_pool[i];
    if (b.size >= size && b.size / 2 <= size && b.huge == hugePages && (best == g_pool.size() || b.size < g_pool[best].size)) best = i;
  }
  if (best < g_pool.size()) {
    Block b = g_pool[best];
    g_pool.erase(g_pool.begin() + long(best));
    g_pooledBytes -= b.size;
    g_live[b.p] = b;
    g_reused++;
    return b.p;
  }
  g_mapped++;
  void* p = MapRun(size, hugePages);
  if (p != nullptr) g_live[p] = Block{p, size, hugePages};
  return p;
}

void SegmentFree(void* p, size_t len) {
  if (p == nullptr) return;
  if (len < kMmapThreshold) {
    std::free(p);
    return;
  }
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_live.find(p);
  Block b = it == g_live.end() ? Block{p, RoundUp(len, PageSize()), false} : it->second;
  if (it != g_live.end()) g_live.erase(it);
  while (g_pooledBytes + b.size > kMaxPooledBytes && !g_pool.empty()) {
    munmap(g_pool.front().p, g_pool.front().size);
    g_pooledBytes -= g_pool.front().size;
    g_pool.erase(g_pool.begin());
  }
  if (g_pooledBytes + b.size > kMaxPooledBytes) {
    munmap(b.p, b.size);
    return;
  }
  g_pool.push_back(b);
  g_pooledBytes += b.size;
}

namespace {

void* MapRun(size_t size, bool hugePages) {
  if (!hugePages) {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
  }
  // Over-map by 2 MiB, keep a 2 MiB-aligned window of `size` bytes, give the rest back.
  size_t total = size + kHuge;
  if (total < size) return nullptr;
  void* raw = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  uintptr_t base = reinterpret_cast<uintptr_t>(raw);
  uintptr_t aligned = RoundUp(base, kHuge);
  if (aligned > base) munmap(raw, aligned - base);
  uintptr_t tail = aligned + size;
  uintptr_t rawEnd = base + total;
  if (rawEnd > tail) munmap(reinterpret_cast<void*>(tail), rawEnd - tail);
  void* p = reinterpret_cast<void*>(aligned);
#ifdef MADV_HUGEPAGE
  madvise(p, size, MADV_HUGEPAGE);
#endif
  return p;
}

}  // namespace

Napi::Value SegmentPoolStats(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(g_mutex);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("pooledBytes", double(g_pooledBytes));
  o.Set("pooledBlocks", double(g_pool.size()));
  o.Set("reused", g_reused);
  o.Set("mapped", g_mapped);
  return o;
}

napi_value WrapSegment(napi_env env, void* p, size_t len) {
  napi_value result = nullptr;
  if (len == 0 || p == nullptr) {
    void* data = nullptr;
    if (napi_create_arraybuffer(env, 0, &data, &result) != napi_ok) return nullptr;
    SegmentFree(p, len);
    return result;
  }
  if (len >= kUncountedMinBytes) {
    // Large: uncounted (young_buffers.h), so a stream of large arrivals costs young collections only.
    result = NewUncountedArrayBuffer(env, p, len, [](napi_env, void* data, void* hint) { SegmentFree(data, reinterpret_cast<size_t>(hint)); }, reinterpret_cast<void*>(len));
    if (result == nullptr) SegmentFree(p, len);
    return result;
  }
  if (napi_create_external_arraybuffer(env, p, len, FinalizeSegment, reinterpret_cast<void*>(len), &result) != napi_ok) {
    SegmentFree(p, len);
    return nullptr;
  }
  int64_t adjusted = 0;
  napi_adjust_external_memory(env, static_cast<int64_t>(len), &adjusted);
  return result;
}

}  // namespace dts
