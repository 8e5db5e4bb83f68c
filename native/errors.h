// Building JavaScript errors: coded errors (err.code) for frame problems, and errno errors for writes.
#pragma once
#include <napi.h>

#include <string>

namespace dts {

// A frame-stream problem found while parsing; commit() turns it into a JS Error with `code`.
struct FrameError {
  const char* code;  // 'ERR_FRAME_CORRUPT', 'ERR_FRAME_TOO_LARGE', 'ERR_FRAME_TRUNCATED'
  std::string message;
};

constexpr const char* kErrCorrupt = "ERR_FRAME_CORRUPT";
constexpr const char* kErrTooLarge = "ERR_FRAME_TOO_LARGE";
constexpr const char* kErrTruncated = "ERR_FRAME_TRUNCATED";
constexpr const char* kErrState = "ERR_FRAME_STATE";

// new Error(message) with err.code = code.
Napi::Error CodedError(Napi::Env env, const char* code, const std::string& message);

// A Node-style system error: message "<what>: <strerror> (<NAME>)", code = errno name ('EPIPE'),
// errno = -err (Node's convention), syscall = syscall.
Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& what);

// The errno's symbolic name ('EPIPE'), or "E<number>" when unknown.
std::string ErrnoName(int err);

// printf into a std::string.
std::string Format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace dts
