// FrameReader: parses the frame stream of schema/wire.fbs out of the bytes a socket reads into the
// memory this class hands out (net.Socket's `onread: { buffer: () => reader.next(), callback }`).
//
// Small frames (header, segment table, envelope, inline, small segments) are read into one staging
// ArrayBuffer owned by JavaScript and described in place; large segments (and bodies too large for
// staging) are read straight into their own final ArrayBuffer.
#pragma once
#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "transfer_segments.h"

namespace dts {

class FrameReader : public Napi::ObjectWrap<FrameReader> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit FrameReader(const Napi::CallbackInfo& info);
  ~FrameReader() override;

  static constexpr uint32_t kMagic = 0x46535444;  // 'DTSF' little-endian
  static constexpr size_t kHeaderBytes = 16;
  static constexpr size_t kDescriptorFields = 6;
  static constexpr size_t kMinStaging = 64 * 1024;

 private:
  // One output buffer: raw memory not yet wrapped (ptr/len), or an ArrayBuffer already made (ab).
  struct Out {
    uint8_t* ptr = nullptr;
    size_t len = 0;
    Napi::Reference<Napi::ArrayBuffer> ab;
  };
  // A buffer being filled by the socket directly (a large segment, or a dedicated body).
  struct Direct {
    Out out;
    uint8_t* data = nullptr;
    size_t got = 0;
    bool isBody = false;
    uint64_t serial = 0;
  };
  enum Phase { kHeader, kTable, kBody, kSegments };
  enum Region { kNone, kStaging, kDirect };

  Napi::Value Next(const Napi::CallbackInfo& info);
  Napi::Value Commit(const Napi::CallbackInfo& info);
  Napi::Value Bound(const Napi::CallbackInfo& info);
  Napi::Value TakeSegments(const Napi::CallbackInfo& info);
  Napi::Value End(const Napi::CallbackInfo& info);
  Napi::Value GetBuffered(const Napi::CallbackInfo& info);
  Napi::Value TakeShared(const Napi::CallbackInfo& info);
  Napi::Value DropShared(const Napi::CallbackInfo& info);
  Napi::Value OfferShared(const Napi::CallbackInfo& info);
  Napi::Value OnSharedCollected(const Napi::CallbackInfo& info);
  class OfferWork;
  friend class OfferWork;
  Napi::Value GetSharedMapped(const Napi::CallbackInfo& info);


  void ThrowIfFailed(Napi::Env env);
  [[noreturn]] void Fail(Napi::Env env, const char* code, const std::string& message);
  void CheckMemory(Napi::Env env, const char* fn);
  void Compact();
  size_t Parse(Napi::Env env);
  void StartDirect(Napi::Env env, uint64_t len, bool isBody);
  void FinishDirect();
  Out AllocOut(uint64_t len, const char* what);
  static void Release(std::vector<Out>& outs);
  std::string Where() const;

  // Staging memory (JS-owned; we keep a reference so it stays alive) and the descriptor table.
  Napi::Reference<Napi::ArrayBuffer> stagingRef_;
  Napi::Reference<Napi::Float64Array> descRef_;
  Napi::Reference<Napi::ArrayBuffer> descBufRef_;  // the descriptors' ArrayBuffer (checked for detachment)
  // The last staging region handed out by next() (a view of staging from regionViewOff_ to its end).
  Napi::Reference<Napi::Uint8Array> regionView_;
  size_t regionViewOff_ = 0;
  uint8_t* st_ = nullptr;
  size_t cap_ = 0;
  double* desc_ = nullptr;
  size_t descLen_ = 0;  // float64 elements
  size_t descCap_ = 0;  // frames
  size_t pos_ = 0;      // first unparsed byte in staging
  size_t end_ = 0;      // end of received bytes in staging

  // Limits.
  uint64_t maxEnv_ = 1 << 20;
  uint64_t maxSeg_ = 65536;
  uint64_t maxFrame_ = uint64_t(1) << 40;
  bool huge_ = true;
  size_t bodyStagingMax_ = 0;   // bodies up to this stay in staging
  size_t directThreshold_ = 0;  // segments above this are read into place

  // The frame being parsed.
  Phase phase_ = kHeader;
  uint32_t envLen_ = 0, inlLen_ = 0, segCount_ = 0;
  std::vector<uint64_t> segLens_;
  uint64_t frameTotal_ = 0;  // declared bytes of the frame (grows as the table is read)
  uint64_t frameGot_ = 0;    // bytes of it consumed so far
  uint64_t streamOffset_ = 0;  // stream offset of the frame's first byte
  uint64_t frameIndex_ = 0;    // frames completed before this one
  bool bodyDedicated_ = false;
  size_t bodyOff_ = 0;
  uint32_t segIndex_ = 0;

  bool directActive_ = false;
  Direct direct_;
  uint64_t directSerial_ = 0;

  std::vector<Out> cur_;   // buffers of the frame being parsed
  std::vector<Out> done_;  // buffers of the frames described by the last commit

  // Shared-memory segments (a connection to a local peer): null unless options.sharedMemory.
  std::unique_ptr<TransferReceiver> xfer_;
  std::vector<bool> segShared_;        // which table entries of the frame being parsed are descriptors
  std::vector<double> curShared_;      // (index in cur_, segment id) pairs of the frame being parsed
  std::vector<double> doneShared_;     // (index in done_, segment id) pairs of the last commit

  Region region_ = kNone;  // what the last next() returned
  size_t regionLen_ = 0;   // bytes of it still writable
  uint64_t regionSerial_ = 0;

  Napi::Reference<Napi::Object> failed_;
};

}  // namespace dts
