#include "transfer_segments.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>
#include <utility>

#include "args.h"
#include "errors.h"
#include "le_bytes.h"
#include "parallel_copy.h"
#include "young_buffers.h"

namespace dts {

namespace {

constexpr size_t kRound = size_t(64) << 10;  // segment sizes are multiples of 64 KiB


bool NameChar(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; }

// '/' then letters, digits, '_' or '-': a name that stays inside /dev/shm.
bool ValidName(const std::string& n) {
  if (n.size() < 2 || n.size() > 250 || n[0] != '/') return false;
  for (size_t i = 1; i < n.size(); i++)
    if (!NameChar(n[i])) return false;
  return true;
}

// 16 hex digits from the kernel's random source: names no other process can guess.
bool RandomHex(std::string* out) {
  uint8_t b[8];
  size_t got = 0;
  while (got < sizeof b) {
    ssize_t r = getrandom(b + got, sizeof b - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    got += size_t(r);
  }
  static const char* hex = "0123456789abcdef";
  for (uint8_t c : b) {
    out->push_back(hex[c >> 4]);
    out->push_back(hex[c & 15]);
  }
  return true;
}

double ShmAvailable() {
  struct statvfs s;
  if (statvfs("/dev/shm", &s) != 0) return -1;
  return double(s.f_bavail) * double(s.f_frsize);
}

// Unmapping a large populated mapping frees its pages (tens of ms per 100 MB): done on a thread of its
// own, so closing a connection never stalls the event loop. Small batches are unmapped here.
void UnmapSoon(std::vector<std::pair<void*, size_t>> maps) {
  size_t total = 0;
  for (auto& m : maps) total += m.second;
  if (total < (size_t(16) << 20)) {
    for (auto& m : maps) munmap(m.first, m.second);
    return;
  }
  try {
    std::thread([maps = std::move(maps)]() {
      for (auto& m : maps) munmap(m.first, m.second);
    }).detach();
  } catch (const std::system_error&) {
    for (auto& m : maps) munmap(m.first, m.second);
  }
}

}  // namespace

// ---- names left at exit ----------------------------------------------------------------------------
//
// A process that exits (process.exit, the end of a script) runs no close handler, and a segment can be
// half made on the thread pool at that moment: every name this process created and has not removed is
// removed when it exits. (A name the receiver already removed gives ENOENT: harmless. A SIGKILL leaves
// names behind; those are swept by pid later, see stale-segments.ts.)

namespace {

std::mutex g_namesMutex;
std::set<std::string>* g_names = nullptr;  // never freed: read by the exit handler

void UnlinkNamesAtExit() {
  // try_lock: a thread-pool thread killed while holding the lock must not hang the exit.
  if (!g_namesMutex.try_lock()) return;
  if (g_names != nullptr)
    for (const std::string& n : *g_names) shm_unlink(n.c_str());
  g_namesMutex.unlock();
}

void NoteName(const std::string& name) {
  std::lock_guard<std::mutex> lock(g_namesMutex);
  if (g_names == nullptr) {
    g_names = new std::set<std::string>();
    std::atexit(UnlinkNamesAtExit);
  }
  g_names->insert(name);
}

void ForgetName(const std::string& name) {
  std::lock_guard<std::mutex> lock(g_namesMutex);
  if (g_names != nullptr) g_names->erase(name);
}

// shm_unlink, and the name is no longer one to remove at exit.
void Unlink(const std::string& name) {
  shm_unlink(name.c_str());
  ForgetName(name);
}

}  // namespace

// ---- probe ---------------------------------------------------------------------------------------

Napi::Value TransferProbe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "transferProbe";
  if (!info[0].IsString()) throw Napi::TypeError::New(env, Format("%s: prefix must be a string (got %s)", fn, Describe(info[0]).c_str()));
  std::string name = info[0].As<Napi::String>().Utf8Value();
  if (!ValidName(name) || name.size() > 200)
    throw Napi::RangeError::New(env, Format("%s: prefix must be '/' then up to 199 letters, digits, '_' or '-' (got \"%.80s\")", fn, name.c_str()));
  if (!RandomHex(&name)) throw ErrnoError(env, errno, "getrandom", Format("%s: no random name", fn));
  int fd = shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) throw ErrnoError(env, errno, "shm_open", Format("%s: cannot create probe segment %s", fn, name.c_str()));
  NoteName(name);
  ssize_t w;
  do {
    w = write(fd, name.data(), name.size());
  } while (w < 0 && errno == EINTR);
  int err = errno;
  close(fd);
  if (w != ssize_t(name.size())) {
    Unlink(name);
    throw ErrnoError(env, w < 0 ? err : ENOSPC, "write", Format("%s: cannot write probe segment %s", fn, name.c_str()));
  }
  return Napi::String::New(env, name);
}

Napi::Value TransferProbeCheck(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "transferProbeCheck";
  if (!info[0].IsString()) throw Napi::TypeError::New(env, Format("%s: name must be a string (got %s)", fn, Describe(info[0]).c_str()));
  std::string name = info[0].As<Napi::String>().Utf8Value();
  if (!ValidName(name)) return Napi::Boolean::New(env, false);
  int fd = shm_open(name.c_str(), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return Napi::Boolean::New(env, false);
  Unlink(name);
  char buf[256];
  ssize_t r;
  do {
    r = read(fd, buf, sizeof buf);
  } while (r < 0 && errno == EINTR);
  close(fd);
  return Napi::Boolean::New(env, r == ssize_t(name.size()) && std::memcmp(buf, name.data(), name.size()) == 0);
}

// ---- sender ---------------------------------------------------------------------------------------

Napi::Function TransferSender::Init(Napi::Env env) {
  return DefineClass(env, "TransferSender",
                     {
                         InstanceMethod<&TransferSender::Stage>("stage"),
                         InstanceMethod<&TransferSender::Release>("release"),
                         InstanceMethod<&TransferSender::Lost>("lost"),
                         InstanceMethod<&TransferSender::Close>("close"),
                         InstanceAccessor<&TransferSender::GetStats>("stats"),
                     });
}

TransferSender::TransferSender(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TransferSender>(info) {
  Napi::Env env = info.Env();
  const char* fn = "new TransferSender";
  if (!info[0].IsString()) throw Napi::TypeError::New(env, Format("%s: prefix must be a string (got %s)", fn, Describe(info[0]).c_str()));
  prefix_ = info[0].As<Napi::String>().Utf8Value();
  if (!ValidName(prefix_) || prefix_.size() > 200)
    throw Napi::RangeError::New(env, Format("%s: prefix must be '/' then up to 199 letters, digits, '_' or '-' (got \"%.80s\")", fn, prefix_.c_str()));
  maxFreeBytes_ = size_t(GetInteger(info[1], fn, "maxFreeBytes", 0, kMaxSafe));
  maxPoolBytes_ = size_t(GetInteger(info[2], fn, "maxPoolBytes", 0, kMaxSafe));
  reserve_ = GetInteger(info[3], fn, "reserveBytes", 0, kMaxSafe);
  if (!info[4].IsFunction()) throw Napi::TypeError::New(env, Format("%s: onOffer must be a function (got %s)", fn, Describe(info[4]).c_str()));
  onOffer_ = Napi::Persistent(info[4].As<Napi::Function>());
}

// A descriptor of `used` bytes of segment s; with its name for an offer.
static Napi::Buffer<uint8_t> Descriptor(Napi::Env env, uint32_t id, uint64_t size, uint64_t used, const std::string* name) {
  size_t nameLen = name == nullptr ? 0 : name->size();
  Napi::Buffer<uint8_t> d = Napi::Buffer<uint8_t>::New(env, kTransferFixedBytes + nameLen);
  uint8_t* p = d.Data();
  PutLe32(p, kTransferMagic);
  PutLe32(p + 4, id);
  PutLe64(p + 8, size);
  PutLe64(p + 16, used);
  PutLe32(p + 24, uint32_t(nameLen));
  if (nameLen) std::memcpy(p + kTransferFixedBytes, name->data(), nameLen);
  return d;
}

TransferSender::~TransferSender() { CloseAll(); }

bool TransferSender::CreateSegment(const std::string& prefix, size_t size, double reserve, Segment* out, std::string* why) {
  double avail = ShmAvailable();
  if (avail >= 0 && double(size) + reserve > avail) {
    *why = Format("/dev/shm has %.0f bytes free; a %zu-byte segment (keeping %.0f free) does not fit", avail, size, reserve);
    return false;
  }
  std::string name = prefix;
  if (!RandomHex(&name)) {
    *why = Format("getrandom failed: %s", std::strerror(errno));
    return false;
  }
  int fd = shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    *why = Format("shm_open %s: %s", name.c_str(), std::strerror(errno));
    return false;
  }
  NoteName(name);
  // The space is reserved now, so a full /dev/shm is this error, never a SIGBUS during a later copy.
  int r;
  do {
    r = posix_fallocate(fd, 0, off_t(size));
  } while (r == EINTR);
  if (r != 0) {
    *why = Format("posix_fallocate of %zu bytes in /dev/shm: %s", size, std::strerror(r));
    close(fd);
    Unlink(name);
    return false;
  }
  // MAP_POPULATE: every page is faulted in (and zeroed) here, off the event loop, not during a copy.
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  int err = errno;
  close(fd);
  if (p == MAP_FAILED) {
    *why = Format("mmap of %zu bytes: %s", size, std::strerror(err));
    Unlink(name);
    return false;
  }
  *out = Segment{0, std::move(name), size, static_cast<uint8_t*>(p), false, false, false, false};
  return true;
}

// Creates one segment on the libuv thread pool; the sender stays alive (Ref) until it is done.
class TransferSender::CreateWork : public Napi::AsyncWorker {
 public:
  CreateWork(Napi::Env env, TransferSender* sender, size_t size)
      : Napi::AsyncWorker(env, "dts.transferSegment"), sender_(sender), prefix_(sender->prefix_), size_(size), reserve_(sender->reserve_) {
    sender_->Ref();
  }
  void Execute() override { ok_ = CreateSegment(prefix_, size_, reserve_, &seg_, &why_); }
  void OnOK() override { Done(); }
  void OnError(const Napi::Error&) override { Done(); }

 private:
  void Done() {
    sender_->Created(std::move(seg_), size_, ok_, why_);
    sender_->Unref();
  }
  TransferSender* sender_;
  std::string prefix_;
  size_t size_;
  double reserve_;
  Segment seg_{};
  bool ok_ = false;
  std::string why_;
};

void TransferSender::Created(Segment s, size_t size, bool ok, const std::string& why) {
  for (size_t i = 0; i < creating_.size(); i++) {
    if (creating_[i] != size) continue;
    creatingBytes_ -= size;
    creating_.erase(creating_.begin() + long(i));
    break;
  }
  if (!ok) {
    lastFailure_ = why;
    return;
  }
  if (closed_) {
    Destroy(s);
    return;
  }
  s.id = nextId_++;
  // Offered to the receiver at once (it maps the segment and removes the name); in use only once it
  // answers (SharedRelease), so no frame ever names a segment the receiver could not map.
  s.leased = true;
  s.announced = true;
  s.offered = true;
  segs_.push_back(std::move(s));
  created_++;
  Segment& seg = segs_.back();
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  Napi::Buffer<uint8_t> d = Descriptor(env, seg.id, seg.size, seg.size, &seg.name);
  try {
    onOffer_.Call({d});
  } catch (const Napi::Error&) {
    // The connection is failing: the segment goes with it at close.
  }
}

void TransferSender::Destroy(Segment& s) {
  if (s.ptr != nullptr) munmap(s.ptr, s.size);
  s.ptr = nullptr;
  if (!s.unlinked) Unlink(s.name);  // ENOENT when the receiver already did: fine
  s.unlinked = true;
}

void TransferSender::CloseAll() {
  std::vector<std::pair<void*, size_t>> maps;
  for (Segment& s : segs_) {
    if (s.ptr != nullptr) maps.emplace_back(s.ptr, s.size);
    s.ptr = nullptr;
    Destroy(s);
  }
  segs_.clear();
  closed_ = true;
  UnmapSoon(std::move(maps));
}

// stage(view) → Buffer (the descriptor to send in place of the bytes) or null: send the bytes on the
// socket. Null when no free segment fits: one is then created off the event loop for the next
// transfers (a fresh segment costs a zeroed page per 4 KiB, more than the socket), unless the pool is
// at its bound or /dev/shm cannot hold it (`stats.lastFailure` says why).
Napi::Value TransferSender::Stage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "TransferSender.stage";
  Bytes src = GetBytes(info[0], fn, "view", true);
  if (closed_) throw CodedError(env, kErrState, Format("%s: the sender is closed", fn));
  if (src.length == 0) throw Napi::RangeError::New(env, Format("%s: an empty view has nothing to stage", fn));
  size_t want = (src.length + kRound - 1) / kRound * kRound;
  size_t slack = want / 4 + (size_t(1) << 20);
  // The smallest free segment that fits without wasting more than a quarter (plus 1 MiB).
  Segment* best = nullptr;
  size_t poolBytes = creatingBytes_;
  for (Segment& s : segs_) {
    poolBytes += s.size;
    if (s.leased || s.size < want || s.size > want + slack) continue;
    if (best == nullptr || s.size < best->size) best = &s;
  }
  // A fitting segment being made, or offered and not yet answered, is on its way.
  auto onItsWay = [&]() {
    for (size_t c : creating_)
      if (c >= want && c <= want + slack) return true;
    for (const Segment& s : segs_)
      if (s.offered && s.size >= want && s.size <= want + slack) return true;
    return false;
  };
  auto makeOne = [&]() {
    if (onItsWay() || poolBytes + want > maxPoolBytes_) return;
    creating_.push_back(want);
    creatingBytes_ += want;
    poolBytes += want;
    (new CreateWork(env, this, want))->Queue();
  };
  if (best == nullptr) {
    makeOne();
    coldFallbacks_++;
    return env.Null();
  }
  // Keep a spare of this size on its way while the pool may grow: the receiver returns segments only
  // when its collector frees the arrays over them, so a steady stream needs a few in flight, and a
  // segment made ahead (off the event loop) spares a later array the socket.
  bool spare = false;
  for (const Segment& s : segs_)
    if (&s != best && !s.leased && s.size >= want && s.size <= want + slack) spare = true;
  if (!spare) makeOne();
  reused_++;
  CopyBytes(best->ptr, src.data, src.length);
  best->leased = true;
  return Descriptor(env, best->id, best->size, src.length, nullptr);
}

// release(ids) → ids of segments dropped to keep the pool within maxFreeBytes (tell the receiver).
Napi::Value TransferSender::Release(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "TransferSender.release";
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw Napi::TypeError::New(env, Format("%s: ids must be a Float64Array (got %s)", fn, Describe(info[0]).c_str()));
  Napi::Float64Array ids = info[0].As<Napi::Float64Array>();
  for (size_t i = 0; i < ids.ElementLength(); i++) {
    double id = ids[i];
    for (Segment& s : segs_) {
      if (double(s.id) != id) continue;
      s.leased = false;
      s.offered = false;
      // The receiver mapped it (it answered about it), so the name has done its work.
      if (!s.unlinked) {
        Unlink(s.name);
        s.unlinked = true;
      }
      break;
    }
  }
  size_t freeBytes = 0;
  for (const Segment& s : segs_)
    if (!s.leased) freeBytes += s.size;
  std::vector<double> dropped;
  for (size_t i = 0; i < segs_.size() && freeBytes > maxFreeBytes_;) {
    if (segs_[i].leased) {
      i++;
      continue;
    }
    freeBytes -= segs_[i].size;
    dropped.push_back(double(segs_[i].id));
    Destroy(segs_[i]);
    segs_.erase(segs_.begin() + long(i));
  }
  Napi::Float64Array out = Napi::Float64Array::New(env, dropped.size());
  for (size_t i = 0; i < dropped.size(); i++) out[i] = dropped[i];
  return out;
}

// lost(ids): the receiver could not map these offered segments: destroy them.
Napi::Value TransferSender::Lost(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw Napi::TypeError::New(env, Format("TransferSender.lost: ids must be a Float64Array (got %s)", Describe(info[0]).c_str()));
  Napi::Float64Array ids = info[0].As<Napi::Float64Array>();
  for (size_t i = 0; i < ids.ElementLength(); i++) {
    for (size_t k = 0; k < segs_.size(); k++) {
      if (double(segs_[k].id) != ids[i]) continue;
      Destroy(segs_[k]);
      segs_.erase(segs_.begin() + long(k));
      break;
    }
  }
  return env.Undefined();
}

Napi::Value TransferSender::Close(const Napi::CallbackInfo& info) {
  CloseAll();
  return info.Env().Undefined();
}

Napi::Value TransferSender::GetStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  double leased = 0, pooled = 0;
  for (const Segment& s : segs_) (s.leased ? leased : pooled) += double(s.size);
  o.Set("segments", double(segs_.size()));
  o.Set("leasedBytes", leased);
  o.Set("freeBytes", pooled);
  o.Set("created", created_);
  o.Set("creating", double(creating_.size()));
  o.Set("reused", reused_);
  o.Set("fallbacks", coldFallbacks_);
  o.Set("lastFailure", lastFailure_);
  return o;
}

// ---- receiver -------------------------------------------------------------------------------------

TransferReceiver::TransferReceiver() : live_(std::make_shared<Live>()) {}

TransferReceiver::~TransferReceiver() {
  DropAll();
  live_->onCollected.Reset();
}

void TransferReceiver::Unref(Entry* e) {
  if (e->live != 0 || !e->dropped) return;
  munmap(e->ptr, e->size);
  delete e;
}

void TransferReceiver::Finalize(napi_env env, void* /*data*/, void* hint) {
  Wrap* w = static_cast<Wrap*>(hint);
  std::shared_ptr<Live> live = std::move(w->live);
  Entry* e = w->entry;
  uint32_t id = w->id;
  delete w;
  e->live--;
  Unref(e);
  if (live->onCollected.IsEmpty()) return;
  Napi::Env e2(env);
  Napi::HandleScope scope(e2);
  try {
    live->onCollected.Call({Napi::Number::New(e2, double(id))});
  } catch (const Napi::Error&) {
    // The connection's handler failed: nothing to release on a failing connection.
  }
}

void TransferReceiver::OnCollected(Napi::Function fn) { live_->onCollected = Napi::Persistent(fn); }

void TransferReceiver::Drop(uint32_t id) {
  auto it = byId_.find(id);
  if (it == byId_.end()) return;
  Entry* e = it->second;
  byId_.erase(it);
  e->dropped = true;
  Unref(e);
}

// Reads a descriptor's fixed fields; throws FrameError when they are inconsistent.
static void ParseDescriptor(const uint8_t* desc, size_t len, const std::string& where, uint32_t* id, uint64_t* size, uint64_t* used,
                            uint32_t* nameLen) {
  if (len < kTransferFixedBytes || Le32(desc) != kTransferMagic)
    throw FrameError{kErrCorrupt, Format("%s: a shared-memory segment descriptor is malformed", where.c_str())};
  *id = Le32(desc + 4);
  *size = Le64(desc + 8);
  *used = Le64(desc + 16);
  *nameLen = Le32(desc + 24);
  if (*nameLen != len - kTransferFixedBytes || *used == 0 || *used > *size || *size > uint64_t(SIZE_MAX) || *size > uint64_t(kMaxSafe))
    throw FrameError{kErrCorrupt, Format("%s: shared-memory segment %" PRIu32 " has an inconsistent descriptor", where.c_str(), *id)};
}

bool TransferReceiver::MapOffered(const uint8_t* desc, size_t len, Mapped* out, std::string* why) {
  uint32_t id = 0, nameLen = 0;
  uint64_t size = 0, used = 0;
  try {
    ParseDescriptor(desc, len, "a segment offer", &id, &size, &used, &nameLen);
  } catch (const FrameError& e) {
    *why = e.message;
    return false;
  }
  std::string name(reinterpret_cast<const char*>(desc + kTransferFixedBytes), nameLen);
  if (!ValidName(name)) {
    *why = Format("shared-memory segment %" PRIu32 " has an invalid name", id);
    return false;
  }
  int fd = shm_open(name.c_str(), O_RDWR | O_CLOEXEC, 0);
  if (fd < 0) {
    *why = Format("cannot open shared-memory segment %s: %s", name.c_str(), std::strerror(errno));
    return false;
  }
  // From here the name is no longer needed: remove it, so /dev/shm is clean whatever happens next.
  shm_unlink(name.c_str());
  struct stat st;
  if (fstat(fd, &st) != 0 || double(st.st_size) < double(size)) {
    close(fd);
    *why = Format("shared-memory segment %s is smaller than offered", name.c_str());
    return false;
  }
  // MAP_POPULATE: the page tables are filled now, not one fault per 4 KiB when the first array is read.
  void* p = mmap(nullptr, size_t(size), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  int err = errno;
  close(fd);
  if (p == MAP_FAILED) {
    *why = Format("cannot map shared-memory segment %s (%" PRIu64 " bytes): %s", name.c_str(), size, std::strerror(err));
    return false;
  }
  *out = Mapped{id, static_cast<uint8_t*>(p), size_t(size)};
  return true;
}

bool TransferReceiver::Adopt(const Mapped& m, std::string* why) {
  if (closed_ || byId_.count(m.id) != 0) {
    munmap(m.ptr, m.size);
    *why = closed_ ? "the connection closed" : Format("shared-memory segment %" PRIu32 " was offered twice", m.id);
    return false;
  }
  byId_[m.id] = new Entry{m.ptr, m.size, 0, false};
  return true;
}

void TransferReceiver::DropAll() {
  closed_ = true;
  live_->onCollected.Reset();  // the connection's handler holds the reader: no cycle through it
  std::vector<std::pair<void*, size_t>> maps;
  for (auto& kv : byId_) {
    Entry* e = kv.second;
    e->dropped = true;
    if (e->live == 0) {
      maps.emplace_back(e->ptr, e->size);
      delete e;
    }
  }
  byId_.clear();
  UnmapSoon(std::move(maps));
}

napi_value TransferReceiver::Open(napi_env env, const uint8_t* desc, size_t len, const std::string& where, uint32_t* idOut) {
  uint32_t id = 0, nameLen = 0;
  uint64_t size = 0, used = 0;
  ParseDescriptor(desc, len, where, &id, &size, &used, &nameLen);
  auto it = byId_.find(id);
  if (nameLen != 0 || it == byId_.end())
    throw FrameError{kErrCorrupt, Format("%s: shared-memory segment %" PRIu32 " was never offered on this connection", where.c_str(), id)};
  Entry* e = it->second;
  if (e->size != size) throw FrameError{kErrCorrupt, Format("%s: shared-memory segment %" PRIu32 " changed size", where.c_str(), id)};
  // Uncounted (young_buffers.h): the memory stays mapped as long as the entry has live ArrayBuffers.
  Wrap* w = new Wrap{e, id, live_};
  napi_value ab = NewUncountedArrayBuffer(env, e->ptr, size_t(used), Finalize, w);
  if (ab == nullptr) {
    delete w;
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored);
    }
    throw FrameError{kErrTooLarge, Format("%s: cannot wrap shared-memory segment %" PRIu32 " as an ArrayBuffer", where.c_str(), id)};
  }
  e->live++;
  *idOut = id;
  return ab;
}

}  // namespace dts
