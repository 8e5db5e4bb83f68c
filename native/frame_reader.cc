#include "frame_reader.h"

#include <algorithm>
#include <cinttypes>
#include <cstring>
#include <new>
#include <utility>

#include "args.h"
#include "errors.h"
#include "idle_spin.h"
#include "le_bytes.h"
#include "segment_alloc.h"

#include <sys/mman.h>

namespace dts {

namespace {


// A single read never needs more than this (Linux caps one read at ~2 GiB); keeps views small.
constexpr size_t kMaxRegion = size_t(1) << 30;

}  // namespace

Napi::Function FrameReader::Init(Napi::Env env) {
  return DefineClass(env, "FrameReader",
                     {
                         InstanceMethod<&FrameReader::Next>("next"),
                         InstanceMethod<&FrameReader::Commit>("commit"),
                         InstanceMethod<&FrameReader::Bound>("bound"),
                         InstanceMethod<&FrameReader::TakeSegments>("takeSegments"),
                         InstanceMethod<&FrameReader::End>("end"),
                         InstanceAccessor<&FrameReader::GetBuffered>("buffered"),
                         InstanceMethod<&FrameReader::TakeShared>("takeShared"),
                         InstanceMethod<&FrameReader::DropShared>("dropShared"),
                         InstanceMethod<&FrameReader::OfferShared>("offerShared"),
                         InstanceMethod<&FrameReader::OnSharedCollected>("onSharedCollected"),
                         InstanceAccessor<&FrameReader::GetSharedMapped>("sharedMapped"),
                     });
}

namespace {

// Whether an ArrayBuffer was made resizable (`new ArrayBuffer(n, { maxByteLength })`).
bool IsResizable(Napi::ArrayBuffer ab) {
  Napi::Value r = ab.Get("resizable");
  return r.IsBoolean() && r.As<Napi::Boolean>().Value();
}
}  // namespace

FrameReader::FrameReader(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FrameReader>(info) {
  Napi::Env env = info.Env();
  const char* fn = "new FrameReader";
  if (!info[0].IsArrayBuffer())
    throw Napi::TypeError::New(env, Format("%s: staging must be an ArrayBuffer (got %s)", fn, Describe(info[0]).c_str()));
  Napi::ArrayBuffer staging = info[0].As<Napi::ArrayBuffer>();
  if (staging.ByteLength() < kMinStaging)
    throw Napi::RangeError::New(env, Format("%s: staging must be at least %zu bytes (got %zu)", fn, kMinStaging, staging.ByteLength()));
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw Napi::TypeError::New(env, Format("%s: descriptors must be a Float64Array (got %s)", fn, Describe(info[1]).c_str()));
  Napi::Float64Array desc = info[1].As<Napi::Float64Array>();
  if (desc.ElementLength() < kDescriptorFields)
    throw Napi::RangeError::New(env, Format("%s: descriptors must hold at least one frame (%zu float64s; got %zu)", fn, kDescriptorFields,
                                            desc.ElementLength()));
  if (!info[2].IsUndefined() && !info[2].IsNull()) {
    if (!info[2].IsObject() || info[2].IsArray() || info[2].IsFunction())
      throw Napi::TypeError::New(env, Format("%s: options must be an object (got %s)", fn, Describe(info[2]).c_str()));
    Napi::Object o = info[2].As<Napi::Object>();
    Napi::Value v = o.Get("maxEnvelopeBytes");
    if (!v.IsUndefined()) maxEnv_ = uint64_t(GetInteger(v, fn, "options.maxEnvelopeBytes", 0, 4294967295.0));
    v = o.Get("maxSegments");
    if (!v.IsUndefined()) maxSeg_ = uint64_t(GetInteger(v, fn, "options.maxSegments", 0, 4294967295.0));
    v = o.Get("maxFrameBytes");
    if (!v.IsUndefined()) maxFrame_ = uint64_t(GetInteger(v, fn, "options.maxFrameBytes", double(kHeaderBytes), kMaxSafe));
    v = o.Get("hugePages");
    if (!v.IsUndefined()) {
      if (!v.IsBoolean())
        throw Napi::TypeError::New(env, Format("%s: options.hugePages must be a boolean (got %s)", fn, Describe(v).c_str()));
      huge_ = v.As<Napi::Boolean>().Value();
    }
    v = o.Get("sharedMemory");
    if (!v.IsUndefined()) {
      if (!v.IsBoolean())
        throw Napi::TypeError::New(env, Format("%s: options.sharedMemory must be a boolean (got %s)", fn, Describe(v).c_str()));
      if (v.As<Napi::Boolean>().Value()) xfer_ = std::make_unique<TransferReceiver>();
    }
  }
  // A resizable buffer could shrink under the reader: refused, so that only detachment needs checking later.
  if (IsResizable(staging) || IsResizable(desc.ArrayBuffer()))
    throw Napi::TypeError::New(env, Format("%s: staging and descriptors must not be resizable ArrayBuffers", fn));
  stagingRef_ = Napi::Persistent(staging);
  descRef_ = Napi::Persistent(desc);
  descBufRef_ = Napi::Persistent(desc.ArrayBuffer());
  st_ = static_cast<uint8_t*>(staging.Data());
  cap_ = staging.ByteLength();
  desc_ = desc.Data();
  descLen_ = desc.ElementLength();
  descCap_ = descLen_ / kDescriptorFields;
  bodyStagingMax_ = cap_ / 2;
  directThreshold_ = cap_ / 4;
}

FrameReader::~FrameReader() {
  Release(cur_);
  Release(done_);
}

void FrameReader::Release(std::vector<Out>& outs) {
  for (Out& o : outs) {
    if (o.ab.IsEmpty() && o.ptr != nullptr) SegmentFree(o.ptr, o.len);
    o.ptr = nullptr;
  }
  outs.clear();
}

void FrameReader::ThrowIfFailed(Napi::Env env) {
  if (!failed_.IsEmpty()) throw Napi::Error(env, failed_.Value());
}

void FrameReader::Fail(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error err = CodedError(env, code, message);
  failed_ = Napi::Persistent(err.Value());
  Release(cur_);
  Release(done_);
  curShared_.clear();
  doneShared_.clear();
  directActive_ = false;
  direct_ = Direct();
  region_ = kNone;
  regionLen_ = 0;
  throw err;
}

// The staging ArrayBuffer or the descriptor table may have been detached (transferred) by the
// caller; never touch freed memory.
void FrameReader::CheckMemory(Napi::Env env, const char* fn) {
  // Runs on every read: detachment is the one way the memory can go (resizable buffers are refused), and
  // asking just that costs a fraction of asking a typed array's info.
  bool stagingGone = true, descGone = true;
  if (napi_is_detached_arraybuffer(env, stagingRef_.Value(), &stagingGone) != napi_ok || stagingGone)
    throw CodedError(env, kErrState, Format("FrameReader.%s: the staging ArrayBuffer was detached", fn));
  if (napi_is_detached_arraybuffer(env, descBufRef_.Value(), &descGone) != napi_ok || descGone)
    throw CodedError(env, kErrState, Format("FrameReader.%s: the descriptors Float64Array was detached", fn));
}

std::string FrameReader::Where() const {
  return Format("frame #%" PRIu64 " at stream offset %" PRIu64, frameIndex_, streamOffset_);
}

// Moves the frame in progress to the start of staging: its body (when it lives in staging) then the
// unparsed bytes. Invalidates the frames described by the previous commit.
void FrameReader::Compact() {
  size_t avail = end_ - pos_;
  if (phase_ == kSegments && !bodyDedicated_) {
    size_t L = size_t(envLen_) + inlLen_;
    if (bodyOff_ != 0 && L != 0) std::memmove(st_, st_ + bodyOff_, L);
    bodyOff_ = 0;
    if (pos_ != L && avail != 0) std::memmove(st_ + L, st_ + pos_, avail);
    pos_ = L;
    end_ = L + avail;
  } else {
    if (pos_ != 0 && avail != 0) std::memmove(st_, st_ + pos_, avail);
    pos_ = 0;
    end_ = avail;
  }
}

Napi::Value FrameReader::Next(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckMemory(env, "next");
  Release(done_);
  doneShared_.clear();
  if (!failed_.IsEmpty()) {
    // Node calls the buffer generator after the read callback even when that callback destroyed
    // the socket, so a failed reader hands out harmless scratch memory instead of throwing.
    pos_ = end_ = 0;
    region_ = kNone;
    regionLen_ = 0;
    return Napi::Uint8Array::New(env, cap_, stagingRef_.Value(), 0);
  }
  Compact();
  if (directActive_) {
    size_t len = std::min(direct_.out.len - direct_.got, kMaxRegion);
    region_ = kDirect;
    regionSerial_ = direct_.serial;
    regionLen_ = len;
    return Napi::Uint8Array::New(env, len, direct_.out.ab.Value(), direct_.got);
  }
  if (end_ >= cap_)
    throw CodedError(env, kErrState,
                     "FrameReader.next: staging is full of unparsed frames; call commit(0) until it returns fewer frames than the "
                     "descriptor table holds before asking for more memory");
  region_ = kStaging;
  regionLen_ = cap_ - end_;
  // The same region as last time (the usual case: staging compacted to empty) reuses its view.
  if (!regionView_.IsEmpty() && regionViewOff_ == end_) return regionView_.Value();
  Napi::Uint8Array view = Napi::Uint8Array::New(env, cap_ - end_, stagingRef_.Value(), end_);
  regionView_ = Napi::Persistent(view);
  regionViewOff_ = end_;
  return view;
}

namespace {

// What a bound next/commit function carries: the reader, and a strong reference that keeps the reader's
// JS object (and so the reader) alive for as long as the function is.
struct BoundReader {
  FrameReader* self;
  Napi::ObjectReference keep;
};

}  // namespace

// bound() -> { next, commit }: the same two methods as plain functions bound to this reader. A method
// call unwraps `this` (a private-symbol lookup in Node-API, ~375 instructions); these reach the reader
// through their own data instead, which matters for the two calls every socket read makes.
Napi::Value FrameReader::Bound(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  const char* names[2] = {"next", "commit"};
  for (int k = 0; k < 2; k++) {
    auto* data = new BoundReader{this, Napi::Persistent(Value())};
    Napi::Function f = k == 0 ? Napi::Function::New(
                                    env, [](const Napi::CallbackInfo& i) { return static_cast<BoundReader*>(i.Data())->self->Next(i); }, names[k], data)
                              : Napi::Function::New(
                                    env, [](const Napi::CallbackInfo& i) { return static_cast<BoundReader*>(i.Data())->self->Commit(i); }, names[k], data);
    f.AddFinalizer([](Napi::Env, BoundReader* d) { delete d; }, data);
    out.Set(names[k], f);
  }
  return out;
}

Napi::Value FrameReader::Commit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ThrowIfFailed(env);
  CheckMemory(env, "commit");
  size_t n = size_t(GetInteger(info[0], "FrameReader.commit", "n", 0, kMaxSafe));
  if (n > regionLen_)
    throw Napi::RangeError::New(env, Format("FrameReader.commit: n = %zu exceeds the %zu writable bytes of the region last returned by next()%s",
                                            n, regionLen_, region_ == kNone ? " (call next() first)" : ""));
  Release(done_);
  doneShared_.clear();
  if (n > 0) {
    NoteTraffic();  // more frames may follow soon: poll for them rather than sleep
    regionLen_ -= n;
    if (region_ == kStaging) {
      end_ += n;
    } else {
      direct_.got += n;
      frameGot_ += n;
      if (direct_.got == direct_.out.len) FinishDirect();
    }
  }
  size_t count;
  try {
    count = Parse(env);
  } catch (FrameError& e) {
    Fail(env, e.code, e.message);
  }
  // The region stays writable only while the reader still wants bytes there.
  if (region_ == kStaging && directActive_) regionLen_ = 0;
  if (region_ == kDirect && (!directActive_ || direct_.serial != regionSerial_)) regionLen_ = 0;
  return Napi::Number::New(env, double(count));
}

FrameReader::Out FrameReader::AllocOut(uint64_t len, const char* what) {
  Out o;
  o.len = size_t(len);
  if (len == 0) return o;
  o.ptr = static_cast<uint8_t*>(SegmentAlloc(size_t(len), huge_));
  if (o.ptr == nullptr)
    throw FrameError{kErrTooLarge, Format("cannot allocate %" PRIu64 " bytes for %s of %s: out of memory", len, what, Where().c_str())};
  return o;
}

void FrameReader::StartDirect(Napi::Env env, uint64_t len, bool isBody) {
  std::string what = isBody ? std::string("the envelope+inline body") : Format("segment %u", segIndex_);
  if (len > SIZE_MAX) throw FrameError{kErrTooLarge, Format("%s of %s is too large for this machine", what.c_str(), Where().c_str())};
  Direct d;
  d.out = AllocOut(len, what.c_str());
  napi_value ab = WrapSegment(env, d.out.ptr, d.out.len);
  if (ab == nullptr) {
    // WrapSegment freed the memory.
    throw FrameError{kErrTooLarge, Format("cannot create an ArrayBuffer of %" PRIu64 " bytes for %s of %s", len, what.c_str(), Where().c_str())};
  }
  d.out.ab = Napi::Persistent(Napi::ArrayBuffer(env, ab));
  d.data = d.out.ptr;
  d.isBody = isBody;
  d.serial = ++directSerial_;
  size_t take = std::min(end_ - pos_, d.out.len);
  if (take) std::memcpy(d.data, st_ + pos_, take);
  pos_ += take;
  frameGot_ += take;
  d.got = take;
  direct_ = std::move(d);
  directActive_ = true;
  if (direct_.got == direct_.out.len) FinishDirect();
}

void FrameReader::FinishDirect() {
  directActive_ = false;
  bool isBody = direct_.isBody;
  cur_.push_back(std::move(direct_.out));
  direct_ = Direct();
  if (isBody) {
    phase_ = kSegments;
    segIndex_ = 0;
  } else {
    segIndex_++;
  }
}

size_t FrameReader::Parse(Napi::Env env) {
  size_t count = 0;
  for (;;) {
    if (directActive_) return count;
    switch (phase_) {
      case kHeader: {
        if (count == descCap_) return count;
        if (end_ - pos_ < kHeaderBytes) return count;
        const uint8_t* h = st_ + pos_;
        uint32_t magic = Le32(h);
        if (magic != kMagic)
          throw FrameError{kErrCorrupt, Format("bad frame magic 0x%08" PRIx32 " at stream offset %" PRIu64
                                               " (start of frame #%" PRIu64 "); expected 0x46535444 ('DTSF')",
                                               magic, streamOffset_, frameIndex_)};
        envLen_ = Le32(h + 4);
        inlLen_ = Le32(h + 8);
        segCount_ = Le32(h + 12);
        if (segCount_ > maxSeg_)
          throw FrameError{kErrTooLarge, Format("%s declares %" PRIu32 " segments; the limit (maxSegments) is %" PRIu64, Where().c_str(),
                                                segCount_, maxSeg_)};
        if (envLen_ > maxEnv_)
          throw FrameError{kErrTooLarge, Format("%s declares a %" PRIu32 "-byte envelope; the limit (maxEnvelopeBytes) is %" PRIu64,
                                                Where().c_str(), envLen_, maxEnv_)};
        frameTotal_ = kHeaderBytes + 8 * uint64_t(segCount_) + envLen_ + inlLen_;
        if (frameTotal_ > maxFrame_)
          throw FrameError{kErrTooLarge, Format("%s declares at least %" PRIu64 " bytes; the limit (maxFrameBytes) is %" PRIu64,
                                                Where().c_str(), frameTotal_, maxFrame_)};
        pos_ += kHeaderBytes;
        frameGot_ = kHeaderBytes;
        segLens_.clear();
        segShared_.clear();
        curShared_.clear();
        try {
          segLens_.reserve(std::min<size_t>(segCount_, (end_ - pos_) / 8 + 64));
        } catch (const std::bad_alloc&) {
          throw FrameError{kErrTooLarge, Format("cannot allocate the segment table of %s", Where().c_str())};
        }
        phase_ = kTable;
        break;
      }
      case kTable: {
        try {
          while (segLens_.size() < segCount_ && end_ - pos_ >= 8) {
            uint64_t s = Le64(st_ + pos_);
            // Bit 63 marks a shared-memory descriptor, but only where they are accepted: elsewhere it
            // is just an impossible length (ERR_FRAME_TOO_LARGE below).
            bool shared = xfer_ && (s & kSharedSegmentBit) != 0;
            if (shared) {
              s &= ~kSharedSegmentBit;
              if (s < kTransferFixedBytes || s > kTransferMaxDescriptor)
                throw FrameError{kErrCorrupt, Format("%s: segment %zu has a %" PRIu64 "-byte shared-memory descriptor", Where().c_str(),
                                                     segLens_.size(), s)};
            }
            if (s > maxFrame_ - frameTotal_)
              throw FrameError{kErrTooLarge, Format("%s: segment %zu declares %" PRIu64 " bytes, making the frame larger than the limit "
                                                    "(maxFrameBytes) of %" PRIu64,
                                                    Where().c_str(), segLens_.size(), s, maxFrame_)};
            frameTotal_ += s;
            segLens_.push_back(s);
            segShared_.push_back(shared);
            pos_ += 8;
            frameGot_ += 8;
          }
        } catch (const std::bad_alloc&) {
          throw FrameError{kErrTooLarge, Format("cannot allocate the segment table of %s", Where().c_str())};
        }
        if (segLens_.size() < segCount_) return count;
        phase_ = kBody;
        break;
      }
      case kBody: {
        size_t L = size_t(envLen_) + inlLen_;
        if (L <= bodyStagingMax_) {
          if (end_ - pos_ < L) return count;
          bodyDedicated_ = false;
          bodyOff_ = pos_;
          pos_ += L;
          frameGot_ += L;
          phase_ = kSegments;
          segIndex_ = 0;
        } else {
          bodyDedicated_ = true;
          StartDirect(env, L, true);
        }
        break;
      }
      case kSegments: {
        while (segIndex_ < segCount_) {
          uint64_t s = segLens_[segIndex_];
          size_t avail = end_ - pos_;
          if (segShared_[segIndex_]) {
            // A descriptor (small, so it always fits in staging): the bytes are in shared memory.
            if (avail < s) return count;
            uint32_t id = 0;
            Out o;
            o.ab = Napi::Persistent(Napi::ArrayBuffer(env, xfer_->Open(env, st_ + pos_, size_t(s), Where(), &id)));
            pos_ += size_t(s);
            frameGot_ += s;
            curShared_.push_back(double(cur_.size()));
            curShared_.push_back(double(id));
            cur_.push_back(std::move(o));
            segIndex_++;
            continue;
          }
          if (avail >= s) {
            Out o = AllocOut(s, "a segment");
            if (s) std::memcpy(o.ptr, st_ + pos_, size_t(s));
            pos_ += size_t(s);
            frameGot_ += s;
            cur_.push_back(std::move(o));
            segIndex_++;
            continue;
          }
          size_t inStaging = bodyDedicated_ ? 0 : size_t(envLen_) + inlLen_;
          if (s > directThreshold_ || inStaging + s > cap_) {
            StartDirect(env, s, false);
            if (directActive_) return count;
            continue;
          }
          return count;  // a small segment: wait for the rest of it in staging
        }
        // The frame is complete: describe it.
        double* d = desc_ + count * kDescriptorFields;
        double envOff = bodyDedicated_ ? 0 : double(bodyOff_);
        d[0] = envOff;
        d[1] = envLen_;
        d[2] = envOff + envLen_;
        d[3] = inlLen_;
        d[4] = segCount_;
        d[5] = bodyDedicated_ ? double(done_.size()) : -1;
        for (size_t k = 0; k < curShared_.size(); k += 2) {
          doneShared_.push_back(curShared_[k] + double(done_.size()));
          doneShared_.push_back(curShared_[k + 1]);
        }
        curShared_.clear();
        for (Out& o : cur_) done_.push_back(std::move(o));
        cur_.clear();
        count++;
        streamOffset_ += frameTotal_;
        frameIndex_++;
        frameGot_ = 0;
        frameTotal_ = 0;
        bodyDedicated_ = false;
        phase_ = kHeader;
        break;
      }
    }
  }
}

Napi::Value FrameReader::TakeSegments(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ThrowIfFailed(env);
  Napi::Array arr = Napi::Array::New(env, done_.size());
  for (size_t i = 0; i < done_.size(); i++) {
    Out& o = done_[i];
    if (!o.ab.IsEmpty()) {
      arr.Set(uint32_t(i), o.ab.Value());
      o.ab.Reset();
      continue;
    }
    uint8_t* p = o.ptr;
    o.ptr = nullptr;
    napi_value ab = WrapSegment(env, p, o.len);
    if (ab == nullptr) {
      Release(done_);
      throw CodedError(env, kErrTooLarge, Format("FrameReader.takeSegments: cannot create an ArrayBuffer of %zu bytes", o.len));
    }
    arr.Set(uint32_t(i), Napi::Value(env, ab));
  }
  done_.clear();
  return arr;
}

Napi::Value FrameReader::End(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ThrowIfFailed(env);
  size_t avail = end_ - pos_;
  if (phase_ == kHeader) {
    if (avail == 0) return env.Undefined();
    if (avail >= kHeaderBytes)
      throw CodedError(env, kErrState,
                       Format("FrameReader.end: %zu buffered bytes have not been parsed yet; call commit(0) first", avail));
    Fail(env, kErrTruncated,
         Format("stream ended inside the header of %s: %zu of its 16 bytes missing", Where().c_str(), kHeaderBytes - avail));
  }
  uint64_t missingAll = frameTotal_ - frameGot_ - avail;
  std::string part;
  if (phase_ == kTable) {
    uint64_t tableBytes = 8 * uint64_t(segCount_);
    uint64_t have = 8 * uint64_t(segLens_.size()) + avail;
    part = Format("the segment table (%" PRIu64 " bytes) is missing %" PRIu64 " bytes", tableBytes, tableBytes - have);
  } else if (phase_ == kBody) {
    uint64_t L = uint64_t(envLen_) + inlLen_;
    uint64_t have = directActive_ ? direct_.got : avail;
    part = Format("the envelope+inline body (%" PRIu64 " bytes) is missing %" PRIu64 " bytes", L, L - have);
  } else {
    uint64_t s = segLens_[segIndex_];
    uint64_t have = directActive_ ? direct_.got : avail;
    part = Format("segment %u of %u (%" PRIu64 " bytes) is missing %" PRIu64 " bytes", segIndex_, segCount_, s, s - have);
  }
  Fail(env, kErrTruncated,
       Format("stream ended inside %s: %s (%" PRIu64 " bytes of the frame missing in all)", Where().c_str(), part.c_str(), missingAll));
}

Napi::Value FrameReader::TakeShared(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float64Array out = Napi::Float64Array::New(env, doneShared_.size());
  for (size_t i = 0; i < doneShared_.size(); i++) out[i] = doneShared_[i];
  doneShared_.clear();
  return out;
}

// Maps an offered segment on the libuv thread pool, then keeps it and calls done(why) ('' when mapped).
class FrameReader::OfferWork : public Napi::AsyncWorker {
 public:
  OfferWork(Napi::Function done, FrameReader* reader, const Bytes& desc)
      : Napi::AsyncWorker(done, "dts.transferOffer"), reader_(reader), desc_(desc.data, desc.data + desc.length) {
    reader_->Ref();
  }
  void Execute() override { ok_ = TransferReceiver::MapOffered(desc_.data(), desc_.size(), &mapped_, &why_); }
  void OnOK() override {
    Napi::Env env = Env();
    if (ok_) {
      if (reader_->xfer_)
        reader_->xfer_->Adopt(mapped_, &why_);
      else
        munmap(mapped_.ptr, mapped_.size);
    }
    reader_->Unref();
    try {
      Callback().Call({Napi::String::New(env, why_)});
    } catch (const Napi::Error&) {
      // The connection is failing; nothing more to tell.
    }
  }
  void OnError(const Napi::Error&) override { reader_->Unref(); }

 private:
  FrameReader* reader_;
  std::vector<uint8_t> desc_;
  TransferReceiver::Mapped mapped_{};
  bool ok_ = false;
  std::string why_;
};

Napi::Value FrameReader::OfferShared(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Bytes desc = GetBytes(info[0], "FrameReader.offerShared", "descriptor", false);
  if (!info[1].IsFunction())
    throw Napi::TypeError::New(env, Format("FrameReader.offerShared: done must be a function (got %s)", Describe(info[1]).c_str()));
  Napi::Function done = info[1].As<Napi::Function>();
  if (!xfer_) {
    done.Call({Napi::String::New(env, "this connection does not accept shared memory")});
    return env.Undefined();
  }
  (new OfferWork(done, this, desc))->Queue();
  return env.Undefined();
}

Napi::Value FrameReader::DropShared(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info[0].IsUndefined()) {
    if (xfer_) xfer_->DropAll();
    return env.Undefined();
  }
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw Napi::TypeError::New(env, Format("FrameReader.dropShared: ids must be a Float64Array (got %s)", Describe(info[0]).c_str()));
  Napi::Float64Array ids = info[0].As<Napi::Float64Array>();
  if (xfer_)
    for (size_t i = 0; i < ids.ElementLength(); i++)
      if (ids[i] >= 0 && ids[i] <= 4294967295.0) xfer_->Drop(uint32_t(ids[i]));
  return env.Undefined();
}

Napi::Value FrameReader::OnSharedCollected(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction())
    throw Napi::TypeError::New(env, Format("FrameReader.onSharedCollected: expected a function (got %s)", Describe(info[0]).c_str()));
  if (xfer_) xfer_->OnCollected(info[0].As<Napi::Function>());
  return env.Undefined();
}

Napi::Value FrameReader::GetSharedMapped(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), xfer_ ? double(xfer_->mapped()) : 0);
}

Napi::Value FrameReader::GetBuffered(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), double(frameGot_ + (end_ - pos_)));
}

}  // namespace dts
