#include "segment_alloc.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

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

}  // namespace

void* SegmentAlloc(size_t len, bool hugePages) {
  if (len == 0) return nullptr;
  if (len < kMmapThreshold) return std::malloc(len);
  size_t size = RoundUp(len, PageSize());
  if (size < len) return nullptr;  // overflow
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

void SegmentFree(void* p, size_t len) {
  if (p == nullptr) return;
  if (len < kMmapThreshold) {
    std::free(p);
  } else {
    munmap(p, RoundUp(len, PageSize()));
  }
}

napi_value WrapSegment(napi_env env, void* p, size_t len) {
  napi_value result = nullptr;
  if (len == 0 || p == nullptr) {
    void* data = nullptr;
    if (napi_create_arraybuffer(env, 0, &data, &result) != napi_ok) return nullptr;
    SegmentFree(p, len);
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
