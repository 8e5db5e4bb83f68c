// The frame writer: gather-writes one frame (header, segment table, envelope, inline, segments) from
// the caller's memory to a non-blocking fd, and copies the unwritten rest when the socket is full.
#pragma once
#include <napi.h>

namespace dts {

// writeFrame(fd, envelope, inline, segments): bytes written (the whole frame, or fewer on EAGAIN).
Napi::Value WriteFrame(const Napi::CallbackInfo& info);
// frameLength(envelope, inline, segments): the frame's total byte length.
Napi::Value FrameLength(const Napi::CallbackInfo& info);
// frameBytes(envelope, inline, segments, skip): a new Buffer with the frame's bytes from `skip` on.
Napi::Value FrameBytes(const Napi::CallbackInfo& info);

}  // namespace dts
