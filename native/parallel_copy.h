// Large copies on several cores: the capture of a large argument (into a shared-memory segment or a
// spill buffer) is one memcpy on the event loop, and memory bandwidth allows more than one core's worth.
#pragma once

#include <cstddef>

namespace dts {

// Copies n bytes from src to dst (not overlapping). Copies of at least kParallelCopyMin bytes are split
// into chunks that the calling thread and idle helper threads claim one at a time, so a helper that is
// not scheduled at once costs nothing: the caller copies whatever nobody else took.
void CopyBytes(void* dst, const void* src, size_t n);

constexpr size_t kParallelCopyMin = size_t(8) << 20;

}  // namespace dts
