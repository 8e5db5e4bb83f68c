#include "frame_writer.h"

#include <limits.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "args.h"
#include "errors.h"
#include "idle_spin.h"
#include "le_bytes.h"
#include "parallel_copy.h"
#include "transfer_segments.h"

namespace dts {

namespace {

constexpr uint32_t kMagic = 0x46535444;
constexpr size_t kHeaderBytes = 16;
constexpr size_t kStackSegments = 256;  // segment tables up to this size are built on the stack

#ifndef IOV_MAX
#define IOV_MAX 1024
#endif


// The parts of one frame, checked; the header and segment table are built into `head`.
class Frame {
 public:
  // `shared` (an optional Uint8Array at info[sharedAt], one byte per segment): a non-zero byte marks
  // that segment as a shared-memory descriptor in the segment table.
  Frame(const Napi::CallbackInfo& info, size_t first, const char* fn, size_t sharedAt = 0) {
    Napi::Env env = info.Env();
    envelope_ = GetBytes(info[first], fn, "envelope", false);
    inline_ = GetBytes(info[first + 1], fn, "inline", false);
    if (envelope_.length > UINT32_MAX)
      throw Napi::RangeError::New(env, Format("%s: envelope is %zu bytes; at most 4294967295 fit in a frame", fn, envelope_.length));
    if (inline_.length > UINT32_MAX)
      throw Napi::RangeError::New(env, Format("%s: inline is %zu bytes; at most 4294967295 fit in a frame", fn, inline_.length));
    Napi::Value segv = info[first + 2];
    if (!segv.IsArray())
      throw Napi::TypeError::New(env, Format("%s: segments must be an Array of ArrayBufferViews (got %s)", fn, Describe(segv).c_str()));
    Napi::Array arr = segv.As<Napi::Array>();
    uint32_t n = arr.Length();
    segments_.resize(n);
    for (uint32_t i = 0; i < n; i++) {
      Napi::Value seg = arr.Get(i);
      // The element's name is formatted only for the error message (not once per segment sent).
      bool ok = seg.IsTypedArray() || seg.IsDataView() || seg.IsArrayBuffer();
      segments_[i] = GetBytes(seg, fn, ok ? "segment" : Format("segments[%u]", i).c_str(), true);
    }
    const uint8_t* shared = nullptr;
    if (sharedAt != 0 && info.Length() > sharedAt && !info[sharedAt].IsUndefined()) {
      Napi::Value f = info[sharedAt];
      if (!f.IsTypedArray() || f.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
        throw Napi::TypeError::New(env, Format("%s: shared must be a Uint8Array (got %s)", fn, Describe(f).c_str()));
      Napi::Uint8Array u = f.As<Napi::Uint8Array>();
      if (u.ElementLength() < n)
        throw Napi::RangeError::New(env, Format("%s: shared has %zu flags for %u segments", fn, u.ElementLength(), n));
      shared = u.Data();
    }
    size_t headLen = kHeaderBytes + 8 * size_t(n);
    uint8_t* head = stackHead_;
    if (n > kStackSegments) {
      heapHead_.resize(headLen);
      head = heapHead_.data();
    }
    head_ = Bytes{head, headLen};
    PutLe32(head, kMagic);
    PutLe32(head + 4, uint32_t(envelope_.length));
    PutLe32(head + 8, uint32_t(inline_.length));
    PutLe32(head + 12, n);
    total_ = headLen + envelope_.length + inline_.length;
    for (uint32_t i = 0; i < n; i++) {
      bool isShared = shared != nullptr && shared[i] != 0;
      if (isShared && (segments_[i].length < kTransferFixedBytes || segments_[i].length > kTransferMaxDescriptor))
        throw Napi::RangeError::New(env, Format("%s: segments[%u] is marked shared but is not a descriptor (%zu bytes)", fn, i, segments_[i].length));
      PutLe64(head + kHeaderBytes + 8 * size_t(i), segments_[i].length | (isShared ? kSharedSegmentBit : 0));
      total_ += segments_[i].length;
    }
  }

  uint64_t total() const { return total_; }

  // Copies the frame's bytes [lo, hi) to dst (large parts on several cores: see parallel_copy.h).
  void CopyRange(uint64_t lo, uint64_t hi, uint8_t* dst) const {
    uint64_t off = 0;
    ForEach([&](uint8_t* p, size_t n) {
      uint64_t end = off + n;
      if (end > lo && off < hi) {
        uint64_t a = std::max(off, lo), b = std::min(end, hi);
        CopyBytes(dst + (a - lo), p + (a - off), size_t(b - a));
      }
      off = end;
    });
  }

  // Calls f(data, length) for each non-empty part in order.
  template <typename F>
  void ForEach(F f) const {
    f(head_.data, head_.length);
    if (envelope_.length) f(envelope_.data, envelope_.length);
    if (inline_.length) f(inline_.data, inline_.length);
    for (const Bytes& s : segments_)
      if (s.length) f(s.data, s.length);
  }

 private:
  Bytes envelope_, inline_, head_;
  std::vector<Bytes> segments_;
  uint8_t stackHead_[kHeaderBytes + 8 * kStackSegments];
  std::vector<uint8_t> heapHead_;
  uint64_t total_ = 0;
};

}  // namespace

namespace {

// Gather-writes from iov[*idx...] until the fd would block; advances *idx (and the first iovec) past
// what was written and returns the byte count. Throws on a hard error.
uint64_t WriteSome(Napi::Env env, int fd, iovec* iov, size_t parts, size_t* idx, bool* useSend) {
  uint64_t written = 0;
  while (*idx < parts) {
    size_t cnt = std::min(parts - *idx, size_t(IOV_MAX));
    ssize_t r;
    if (*useSend) {
      msghdr msg;
      std::memset(&msg, 0, sizeof msg);
      msg.msg_iov = &iov[*idx];
      msg.msg_iovlen = cnt;
      r = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    } else {
      r = writev(fd, &iov[*idx], int(cnt));
    }
    if (r < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) break;
      if (*useSend && err == ENOTSOCK) {
        *useSend = false;
        continue;
      }
      throw ErrnoError(env, err, *useSend ? "sendmsg" : "writev", Format("writeFrame: writing to fd %d failed", fd));
    }
    if (r == 0) break;
    written += uint64_t(r);
    size_t left = size_t(r);
    while (left > 0 && *idx < parts) {
      if (left >= iov[*idx].iov_len) {
        left -= iov[*idx].iov_len;
        (*idx)++;
      } else {
        iov[*idx].iov_base = static_cast<uint8_t*>(iov[*idx].iov_base) + left;
        iov[*idx].iov_len -= left;
        left = 0;
      }
    }
  }
  return written;
}

// The capture of a frame too large for the socket is copied from its end backwards, a chunk at a
// time, while the socket takes what it can from the front: the bytes it took need no copy.
constexpr uint64_t kCaptureChunk = 256 * 1024;

}  // namespace

Napi::Value WriteFrame(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "writeFrame";
  int fd = int(GetInteger(info[0], fn, "fd", 0, double(INT_MAX)));
  Frame frame(info, 1, fn, 4);
  Bytes capture{nullptr, 0};
  bool capturing = info.Length() > 5 && !info[5].IsUndefined();
  if (capturing) {
    capture = GetBytes(info[5], fn, "capture", false);
    if (capture.length < frame.total())
      throw Napi::RangeError::New(env, Format("%s: capture has %zu bytes; the frame needs %llu", fn, capture.length, (unsigned long long)frame.total()));
  }

  // Small frames (header, envelope, inline, a few segments) gather from the stack: no allocation per frame.
  iovec stackIov[16];
  std::vector<iovec> heapIov;
  size_t parts = 0;
  frame.ForEach([&](uint8_t*, size_t) { parts++; });
  iovec* iov = stackIov;
  if (parts > 16) {
    heapIov.resize(parts);
    iov = heapIov.data();
  }
  size_t fill = 0;
  frame.ForEach([&](uint8_t* p, size_t len) { iov[fill++] = iovec{p, len}; });

  size_t idx = 0;
  bool useSend = true;
  uint64_t written = WriteSome(env, fd, iov, parts, &idx, &useSend);
  NoteTraffic();  // the reply is due soon: poll for it rather than sleep
  if (!capturing) return Napi::Number::New(env, double(written));
  // capture[k] = frame byte k for every k ≥ the bytes written when this returns: the caller may change
  // its arrays as soon as it does. `from` is where the copy has reached (it goes towards the front).
  uint64_t total = frame.total();
  uint64_t from = total;
  while (written < from) {
    uint64_t lo = from - std::min(kCaptureChunk, from - written);
    frame.CopyRange(lo, from, capture.data + lo);
    from = lo;
    if (written < from) written += WriteSome(env, fd, iov, parts, &idx, &useSend);
  }
  return Napi::Number::New(env, double(written));
}

Napi::Value FrameLength(const Napi::CallbackInfo& info) {
  Frame frame(info, 0, "frameLength");
  return Napi::Number::New(info.Env(), double(frame.total()));
}

Napi::Value FrameBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "frameBytes";
  Frame frame(info, 0, fn, 5);
  double skipD = GetInteger(info[3], fn, "skip", 0, kMaxSafe);
  uint64_t skip = uint64_t(skipD);
  if (skip > frame.total())
    throw Napi::RangeError::New(env, Format("%s: skip = %.17g is beyond the frame's %llu bytes", fn, skipD, (unsigned long long)frame.total()));
  uint64_t len = frame.total() - skip;
  // With a destination (a reused spill buffer), copy into it and answer the byte count.
  bool into = info.Length() > 4 && !info[4].IsUndefined();
  napi_value buf = nullptr;
  void* data = nullptr;
  if (into) {
    Bytes dst = GetBytes(info[4], fn, "into", false);
    if (dst.length < len)
      throw Napi::RangeError::New(env, Format("%s: into has %zu bytes; the frame's rest needs %llu", fn, dst.length, (unsigned long long)len));
    data = dst.data;
  } else if (napi_create_buffer(env, size_t(len), &data, &buf) != napi_ok || (len > 0 && data == nullptr)) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value e;
      napi_get_and_clear_last_exception(env, &e);
    }
    throw CodedError(env, "ERR_OUT_OF_MEMORY", Format("%s: cannot allocate a Buffer of %llu bytes", fn, (unsigned long long)len));
  }
  frame.CopyRange(skip, frame.total(), static_cast<uint8_t*>(data));
  if (into) return Napi::Number::New(env, double(len));
  return Napi::Value(env, buf);
}

}  // namespace dts
