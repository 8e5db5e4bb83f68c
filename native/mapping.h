// mmap'd regions (shared-memory segments, mapped files) handed to JavaScript as external ArrayBuffers:
// unmapped when the ArrayBuffer is collected, or at once by Unmap, which first detaches the ArrayBuffer
// so no JavaScript can touch the memory afterwards (its typed arrays then have length 0).
#pragma once
#include <napi.h>

#include <cstddef>

namespace dts {

// Wraps the mapping [base, base + mapLength) as an ArrayBuffer over [data, data + length) (data lies
// inside the mapping: a file mapped at an unaligned offset starts past the page boundary). On failure
// unmaps and throws. length > 0.
Napi::ArrayBuffer WrapMapping(Napi::Env env, void* base, size_t mapLength, void* data, size_t length);

// unmap(arrayBuffer): detaches and unmaps a mapping made here. Returns true, or false when the
// ArrayBuffer is not a live mapping (never was, or already unmapped). Throws TypeError on a non-ArrayBuffer.
Napi::Value Unmap(const Napi::CallbackInfo& info);

// mappingCount(): how many mappings this process holds (made and not yet unmapped).
Napi::Value MappingCount(const Napi::CallbackInfo& info);

// The largest mapping accepted (bytes): what one ArrayBuffer may hold.
constexpr double kMaxMappingBytes = 9007199254740991.0;

}  // namespace dts
