// Files mapped into memory (mmap) for file-backed SharedArrays, with Julia's modes:
// 'r' read-only (the file must hold the range), 'r+' read/write (the file must exist), 'w+' create or
// truncate, 'a+' create if missing, keep contents. Writable modes grow a short file to offset + size
// with its blocks reserved (posix_fallocate), so a full disk is an error now, not a SIGBUS later.
#pragma once
#include <napi.h>

namespace dts {

// filePrepare(path, mode, offset, size) → Promise<number>: opens/creates/truncates/grows the file as
// `mode` says, off the event loop; resolves with the file's size afterwards.
Napi::Value FilePrepare(const Napi::CallbackInfo& info);

// fileMap(path, writable, offset, size) → ArrayBuffer over bytes [offset, offset + size) of the file
// (MAP_SHARED when writable; otherwise private copy-on-write, so stray writes never fault or persist).
Napi::Value FileMap(const Napi::CallbackInfo& info);

}  // namespace dts
