#include "shm_segment.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "args.h"
#include "errors.h"
#include "mapping.h"

namespace dts {

namespace {

constexpr const char* kShmDir = "/dev/shm";

// '/' then 1–250 of [A-Za-z0-9._-]: portable shm names that cannot climb out of /dev/shm.
std::string GetShmName(const Napi::Value& v, const char* fn) {
  Napi::Env env = v.Env();
  if (!v.IsString()) throw Napi::TypeError::New(env, Format("%s: name must be a string (got %s)", fn, Describe(v).c_str()));
  std::string name = v.As<Napi::String>().Utf8Value();
  bool ok = name.size() >= 2 && name.size() <= 251 && name[0] == '/';
  for (size_t i = 1; ok && i < name.size(); i++) {
    char c = name[i];
    ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  }
  if (ok && (name == "/." || name == "/..")) ok = false;
  if (!ok) {
    throw Napi::RangeError::New(env, Format("%s: name must be '/' followed by 1 to 250 letters, digits, '.', '_' or '-' (got \"%.80s\")", fn, name.c_str()));
  }
  return name;
}

size_t GetSize(const Napi::Value& v, const char* fn) {
  return static_cast<size_t>(GetInteger(v, fn, "size", 1, kMaxMappingBytes));
}

// Free bytes in /dev/shm for an unprivileged process, or -1 when it cannot be told.
double ShmAvailable() {
  struct statvfs s;
  if (statvfs(kShmDir, &s) != 0) return -1;
  return double(s.f_bavail) * double(s.f_frsize);
}

std::string SpaceMessage(const std::string& name, double needed, double available) {
  return Format("shmCreate: /dev/shm has too little space for segment %s: %.0f bytes needed, %.0f available "
                "(make the array smaller, free /dev/shm, or enlarge it, e.g. docker run --shm-size)",
                name.c_str(), needed, available);
}

class CreateWorker : public Napi::AsyncWorker {
 public:
  CreateWorker(Napi::Env env, std::string name, size_t size)
      : Napi::AsyncWorker(env, "dts.shmCreate"), deferred_(Napi::Promise::Deferred::New(env)), name_(std::move(name)), size_(size) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    available_ = ShmAvailable();
    if (available_ >= 0 && double(size_) > available_) {
      err_ = ENOSPC;
      return;
    }
    int fd = shm_open(name_.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
      err_ = errno;
      syscall_ = "shm_open";
      return;
    }
    int r;
    do {
      r = posix_fallocate(fd, 0, static_cast<off_t>(size_));
    } while (r == EINTR);
    close(fd);
    if (r != 0) {
      err_ = r;
      syscall_ = "posix_fallocate";
      shm_unlink(name_.c_str());
      if (r == ENOSPC) available_ = ShmAvailable();
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (err_ == 0) {
      deferred_.Resolve(env.Undefined());
      return;
    }
    Napi::Error e = err_ == ENOSPC
                        ? CodedError(env, "ENOSPC", SpaceMessage(name_, double(size_), available_ < 0 ? 0 : available_))
                        : ErrnoError(env, err_, syscall_, Format("shmCreate: cannot create shared-memory segment %s%s", name_.c_str(),
                                                                 err_ == EEXIST ? " (a segment of that name exists)" : ""));
    if (err_ == ENOSPC) {
      e.Value().Set("needed", Napi::Number::New(env, double(size_)));
      e.Value().Set("available", Napi::Number::New(env, available_ < 0 ? 0 : available_));
      e.Value().Set("syscall", Napi::String::New(env, syscall_));
    }
    deferred_.Reject(e.Value());
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string name_;
  size_t size_;
  int err_ = 0;
  const char* syscall_ = "statvfs";
  double available_ = -1;
};

}  // namespace

Napi::Value ShmCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = GetShmName(info[0], "shmCreate");
  size_t size = GetSize(info[1], "shmCreate");
  CreateWorker* w = new CreateWorker(env, std::move(name), size);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value ShmMap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = GetShmName(info[0], "shmMap");
  size_t size = GetSize(info[1], "shmMap");
  if (!info[2].IsBoolean()) throw Napi::TypeError::New(env, Format("shmMap: writable must be a boolean (got %s)", Describe(info[2]).c_str()));
  bool writable = info[2].As<Napi::Boolean>().Value();
  int fd = shm_open(name.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0);
  if (fd < 0) {
    int err = errno;
    throw ErrnoError(env, err, "shm_open", Format("shmMap: cannot open shared-memory segment %s%s", name.c_str(),
                                                  err == ENOENT ? " (no such segment: it was never created, or already unlinked)" : ""));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    throw ErrnoError(env, err, "fstat", Format("shmMap: cannot stat segment %s", name.c_str()));
  }
  if (double(st.st_size) < double(size)) {
    close(fd);
    throw Napi::RangeError::New(env, Format("shmMap: segment %s is %lld bytes, smaller than the %zu asked for", name.c_str(), (long long)st.st_size, size));
  }
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, writable ? MAP_SHARED : MAP_PRIVATE, fd, 0);
  int err = errno;
  close(fd);
  if (p == MAP_FAILED) throw ErrnoError(env, err, "mmap", Format("shmMap: cannot map %zu bytes of segment %s", size, name.c_str()));
  return WrapMapping(env, p, size, p, size);
}

Napi::Value ShmUnlink(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = GetShmName(info[0], "shmUnlink");
  if (shm_unlink(name.c_str()) == 0) return Napi::Boolean::New(env, true);
  int err = errno;
  if (err == ENOENT) return Napi::Boolean::New(env, false);
  throw ErrnoError(env, err, "shm_unlink", Format("shmUnlink: cannot unlink segment %s", name.c_str()));
}

}  // namespace dts
