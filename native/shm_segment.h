// POSIX shared-memory segments (shm_open) for SharedArray: created with their space reserved up front
// (posix_fallocate, so a full /dev/shm is an error at creation, never a SIGBUS on a later write),
// mapped by name, unlinked.
#pragma once
#include <napi.h>

namespace dts {

// shmCreate(name, size) → Promise<void>: creates segment `name` ('/dts-…', must not exist) of `size`
// bytes with its memory reserved, off the event loop. Rejects with code 'ENOSPC' (and `needed`,
// `available` in bytes) when /dev/shm lacks the space; the segment is then not left behind.
Napi::Value ShmCreate(const Napi::CallbackInfo& info);

// shmMap(name, size, writable) → ArrayBuffer over the first `size` bytes of segment `name`
// (MAP_SHARED; a read-only mapping is private copy-on-write, so stray writes never fault or persist).
Napi::Value ShmMap(const Napi::CallbackInfo& info);

// shmUnlink(name) → true, or false when no segment has that name. Mappings stay valid.
Napi::Value ShmUnlink(const Napi::CallbackInfo& info);

}  // namespace dts
