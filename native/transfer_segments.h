// Large frame segments moved between local processes through POSIX shared memory instead of the socket.
//
// The sender (TransferSender, one per connection) keeps a pool of shared-memory segments it created and
// mapped (off the event loop, with every page faulted in): staging a typed array copies it once into a
// free segment (that copy is the capture: later writes to the caller's array cannot reach the receiver)
// and answers a small descriptor that travels in the frame in place of the bytes. When no free segment
// fits, that array goes on the socket and a segment is made for the next ones. The receiver (TransferReceiver, inside the FrameReader) maps a segment
// the first time it is named, unlinks the name at once (so nothing is left in /dev/shm however the
// processes end), keeps the mapping, and hands out an external ArrayBuffer over it for each use.
// (A new segment is offered at once, in a SharedOffer frame; the receiver maps it then and answers
// with SharedRelease, after which the sender uses it: frames never name a segment.) When
// that ArrayBuffer is collected, the receiver tells the sender (a Release message), which reuses the
// segment: its pages are already faulted in on both sides, so a steady stream of large arrays costs one
// memcpy per transfer and no page faults.
//
// Descriptor (little-endian): u32 magic 'DTSM', u32 segment id, u64 segment size, u64 bytes used,
// u32 name length, the name (in a SharedOffer only; 0 in a frame's segment table).
#pragma once
#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <memory>
#include <vector>

namespace dts {

constexpr uint32_t kTransferMagic = 0x4d535444;  // 'DTSM' little-endian
constexpr size_t kTransferFixedBytes = 28;
constexpr size_t kTransferMaxDescriptor = kTransferFixedBytes + 255;
// A segment-table entry with this bit set is a descriptor (its low bits are the descriptor's length).
constexpr uint64_t kSharedSegmentBit = uint64_t(1) << 63;

// transferProbe(prefix) → name: creates a tiny segment `prefix + 16 random hex` holding its own name,
// for a peer to check that it sees this process's /dev/shm (see transferProbeCheck).
Napi::Value TransferProbe(const Napi::CallbackInfo& info);

// transferProbeCheck(name) → whether segment `name` exists and holds its name; unlinks it either way.
Napi::Value TransferProbeCheck(const Napi::CallbackInfo& info);

class TransferSender : public Napi::ObjectWrap<TransferSender> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit TransferSender(const Napi::CallbackInfo& info);
  ~TransferSender() override;

 private:
  struct Segment {
    uint32_t id;
    std::string name;
    size_t size;
    uint8_t* ptr;
    bool leased;
    bool announced;  // the receiver was sent its name
    bool offered;    // offered, not yet answered (not usable, but counts as on its way)
    bool unlinked;
  };

  class CreateWork;
  friend class CreateWork;

  Napi::Value Stage(const Napi::CallbackInfo& info);
  Napi::Value Release(const Napi::CallbackInfo& info);
  Napi::Value Lost(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value GetStats(const Napi::CallbackInfo& info);

  // Creates, sizes and maps a segment (off the event loop: run by CreateWork). On failure returns
  // false and says why in *why.
  static bool CreateSegment(const std::string& prefix, size_t size, double reserve, Segment* out, std::string* why);
  void Created(Segment s, size_t size, bool ok, const std::string& why);
  static void Destroy(Segment& s);
  void CloseAll();

  std::string prefix_;
  std::vector<Segment> segs_;
  uint32_t nextId_ = 1;
  size_t maxFreeBytes_ = 0;
  size_t maxPoolBytes_ = 0;  // leased + free + being created
  size_t creatingBytes_ = 0;
  std::vector<size_t> creating_;  // sizes being created
  double reserve_ = 0;  // bytes of /dev/shm a new segment must leave free
  double created_ = 0, reused_ = 0, coldFallbacks_ = 0;
  std::string lastFailure_;
  Napi::FunctionReference onOffer_;
  bool closed_ = false;
};

// The receiving side: mappings by segment id, each kept while the sender may reuse it or an ArrayBuffer
// over it lives. Not thread-safe (one per FrameReader, used on its thread). The ArrayBuffers are
// uncounted (young_buffers.h): they die young, and their segments go back on a young collection.
class TransferReceiver {
 public:
  TransferReceiver();
  ~TransferReceiver();
  TransferReceiver(const TransferReceiver&) = delete;
  TransferReceiver& operator=(const TransferReceiver&) = delete;

  struct Mapped {
    uint32_t id;
    uint8_t* ptr;
    size_t size;
  };
  // A SharedOffer, off the event loop (touches no receiver state): maps the segment the descriptor
  // names, removes its name. False with the reason in *why when it cannot.
  static bool MapOffered(const uint8_t* desc, size_t len, Mapped* out, std::string* why);
  // Back on the event loop: keeps the mapping for frames to use (unmaps it and says why not when the
  // id is taken or the connection closed).
  bool Adopt(const Mapped& m, std::string* why);

  // Wraps `used` bytes of the offered segment a frame's descriptor names as an ArrayBuffer (which
  // cannot be detached or transferred). Throws FrameError on a bad descriptor or a segment never
  // offered. `where` names the frame.
  napi_value Open(napi_env env, const uint8_t* desc, size_t len, const std::string& where, uint32_t* idOut);

  // Calls fn(id) each time an ArrayBuffer over segment `id` is collected.
  void OnCollected(Napi::Function fn);

  // The sender dropped this segment: unmap it once no ArrayBuffer over it lives.
  void Drop(uint32_t id);
  // The connection closed: the same for every segment, and later offers are refused.
  void DropAll();

  size_t mapped() const { return byId_.size(); }

 private:
  struct Entry {
    uint8_t* ptr;
    size_t size;
    size_t live;    // ArrayBuffers over it not yet collected
    bool dropped;   // no longer in byId_
  };
  // What the ArrayBuffers' finalizers need, which may run after the receiver is gone.
  struct Live {
    Napi::FunctionReference onCollected;
  };
  struct Wrap {
    Entry* entry;
    uint32_t id;
    std::shared_ptr<Live> live;
  };
  static void Finalize(napi_env env, void* data, void* hint);
  static void Unref(Entry* e);

  std::unordered_map<uint32_t, Entry*> byId_;
  std::shared_ptr<Live> live_;
  bool closed_ = false;
};

}  // namespace dts
