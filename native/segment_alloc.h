// Memory for received segments: uninitialised (never zeroed by us), malloc for small runs and an
// anonymous mmap for large ones (optionally 2 MiB aligned with MADV_HUGEPAGE), handed to JavaScript
// as an external ArrayBuffer whose finalizer frees it and reports the size to the GC.
#pragma once
#include <napi.h>

#include <cstddef>

namespace dts {

// Runs at least this long come from mmap (page-aligned, returned to the OS on free).
constexpr size_t kMmapThreshold = size_t(1) << 20;

// Allocates len bytes (len > 0); nullptr when the memory cannot be had. With hugePages, runs of
// kMmapThreshold or more are 2 MiB aligned and advised MADV_HUGEPAGE.
void* SegmentAlloc(size_t len, bool hugePages);

// Frees what SegmentAlloc(len) returned.
void SegmentFree(void* p, size_t len);

// Wraps SegmentAlloc'd memory (or nullptr for len 0) in an ArrayBuffer that frees it when collected:
// counted as external memory when small, uncounted when large (young_buffers.h). On failure frees the
// memory and returns an empty value (the caller throws).
napi_value WrapSegment(napi_env env, void* p, size_t len);

// segmentPoolStats(): { pooledBytes, pooledBlocks, reused, mapped } of the large-run pool, for tests and
// benchmarks (reused/mapped count large allocations served from the pool / freshly mapped).
Napi::Value SegmentPoolStats(const Napi::CallbackInfo& info);

}  // namespace dts
