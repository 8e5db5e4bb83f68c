#include "file_mapping.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "args.h"
#include "errors.h"
#include "mapping.h"

namespace dts {

namespace {

enum class Mode { R, RPlus, WPlus, APlus };

std::string GetPath(const Napi::Value& v, const char* fn) {
  Napi::Env env = v.Env();
  if (!v.IsString()) throw Napi::TypeError::New(env, Format("%s: path must be a string (got %s)", fn, Describe(v).c_str()));
  std::string path = v.As<Napi::String>().Utf8Value();
  if (path.empty()) throw Napi::RangeError::New(env, Format("%s: path must not be empty", fn));
  if (path.find('\0') != std::string::npos) throw Napi::RangeError::New(env, Format("%s: path must not contain NUL characters", fn));
  return path;
}

Mode GetMode(const Napi::Value& v, const char* fn) {
  Napi::Env env = v.Env();
  if (v.IsString()) {
    std::string m = v.As<Napi::String>().Utf8Value();
    if (m == "r") return Mode::R;
    if (m == "r+") return Mode::RPlus;
    if (m == "w+") return Mode::WPlus;
    if (m == "a+") return Mode::APlus;
    throw Napi::RangeError::New(env, Format("%s: mode must be 'r', 'r+', 'w+' or 'a+' (got \"%.20s\")", fn, m.c_str()));
  }
  throw Napi::TypeError::New(env, Format("%s: mode must be 'r', 'r+', 'w+' or 'a+' (got %s)", fn, Describe(v).c_str()));
}

// Opens without blocking (a FIFO must not hang us) and insists on a regular file. Returns fd or -errno;
// *notRegular tells the caller why it failed when it was not a regular file.
int OpenRegular(const std::string& path, int flags, bool* notRegular) {
  *notRegular = false;
  int fd = open(path.c_str(), flags | O_CLOEXEC | O_NONBLOCK, 0644);
  if (fd < 0) return -errno;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    *notRegular = true;
    return -EINVAL;
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  return fd;
}

class PrepareWorker : public Napi::AsyncWorker {
 public:
  PrepareWorker(Napi::Env env, std::string path, Mode mode, double offset, double size)
      : Napi::AsyncWorker(env, "dts.filePrepare"), deferred_(Napi::Promise::Deferred::New(env)), path_(std::move(path)), mode_(mode), offset_(offset), size_(size) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    int flags = mode_ == Mode::R ? O_RDONLY : mode_ == Mode::RPlus ? O_RDWR : mode_ == Mode::WPlus ? (O_RDWR | O_CREAT | O_TRUNC) : (O_RDWR | O_CREAT);
    bool notRegular = false;
    int fd = OpenRegular(path_, flags, &notRegular);
    if (fd < 0) {
      err_ = -fd;
      syscall_ = "open";
      notRegular_ = notRegular;
      return;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
      err_ = errno;
      syscall_ = "fstat";
      close(fd);
      return;
    }
    double end = offset_ + size_;
    fileSize_ = double(st.st_size);
    if (fileSize_ < end) {
      if (mode_ == Mode::R) {
        tooShort_ = true;
      } else {
        int r;
        do {
          r = posix_fallocate(fd, st.st_size, static_cast<off_t>(end) - st.st_size);
        } while (r == EINTR);
        if (r != 0) {
          err_ = r;
          syscall_ = "posix_fallocate";
          // Undo the growth we attempted: the file keeps the size it had.
          if (ftruncate(fd, st.st_size) != 0) { /* best effort */ }
        } else {
          fileSize_ = end;
        }
      }
    }
    close(fd);
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (tooShort_) {
      Napi::Error e = CodedError(env, "ERR_FILE_TOO_SHORT",
                                 Format("filePrepare: %s is %.0f bytes, but mode 'r' maps bytes %.0f to %.0f (open it with 'r+', 'w+' or 'a+' to grow it)",
                                        path_.c_str(), fileSize_, offset_, offset_ + size_));
      deferred_.Reject(e.Value());
      return;
    }
    if (err_ != 0) {
      std::string what = notRegular_ ? Format("filePrepare: %s is not a regular file", path_.c_str())
                         : err_ == ENOSPC ? Format("filePrepare: not enough disk space to grow %s to %.0f bytes", path_.c_str(), offset_ + size_)
                                          : Format("filePrepare: cannot open %s for mode '%s'", path_.c_str(), ModeName());
      deferred_.Reject(ErrnoError(env, err_, syscall_, what).Value());
      return;
    }
    deferred_.Resolve(Napi::Number::New(env, fileSize_));
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  const char* ModeName() const { return mode_ == Mode::R ? "r" : mode_ == Mode::RPlus ? "r+" : mode_ == Mode::WPlus ? "w+" : "a+"; }

  Napi::Promise::Deferred deferred_;
  std::string path_;
  Mode mode_;
  double offset_, size_;
  double fileSize_ = 0;
  int err_ = 0;
  const char* syscall_ = "open";
  bool notRegular_ = false;
  bool tooShort_ = false;
};

}  // namespace

Napi::Value FilePrepare(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = GetPath(info[0], "filePrepare");
  Mode mode = GetMode(info[1], "filePrepare");
  double offset = GetInteger(info[2], "filePrepare", "offset", 0, kMaxMappingBytes);
  double size = GetInteger(info[3], "filePrepare", "size", 1, kMaxMappingBytes);
  if (offset + size > kMaxMappingBytes) throw Napi::RangeError::New(env, "filePrepare: offset + size is beyond 2^53 - 1 bytes");
  PrepareWorker* w = new PrepareWorker(env, std::move(path), mode, offset, size);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value FileMap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = GetPath(info[0], "fileMap");
  if (!info[1].IsBoolean()) throw Napi::TypeError::New(env, Format("fileMap: writable must be a boolean (got %s)", Describe(info[1]).c_str()));
  bool writable = info[1].As<Napi::Boolean>().Value();
  double offset = GetInteger(info[2], "fileMap", "offset", 0, kMaxMappingBytes);
  double sized = GetInteger(info[3], "fileMap", "size", 1, kMaxMappingBytes);
  if (offset + sized > kMaxMappingBytes) throw Napi::RangeError::New(env, "fileMap: offset + size is beyond 2^53 - 1 bytes");
  size_t size = static_cast<size_t>(sized);
  bool notRegular = false;
  int fd = OpenRegular(path, writable ? O_RDWR : O_RDONLY, &notRegular);
  if (fd < 0) {
    if (notRegular) throw Napi::Error::New(env, Format("fileMap: %s is not a regular file", path.c_str()));
    throw ErrnoError(env, -fd, "open", Format("fileMap: cannot open %s", path.c_str()));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    throw ErrnoError(env, err, "fstat", Format("fileMap: cannot stat %s", path.c_str()));
  }
  if (double(st.st_size) < offset + sized) {
    close(fd);
    throw Napi::RangeError::New(env, Format("fileMap: %s is %lld bytes, too short to map bytes %.0f to %.0f", path.c_str(), (long long)st.st_size, offset, offset + sized));
  }
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  size_t off = static_cast<size_t>(offset);
  size_t aligned = off - off % page;
  size_t delta = off - aligned;
  size_t mapLength = size + delta;
  void* base = mmap(nullptr, mapLength, PROT_READ | PROT_WRITE, writable ? MAP_SHARED : MAP_PRIVATE, fd, static_cast<off_t>(aligned));
  int err = errno;
  close(fd);
  if (base == MAP_FAILED) throw ErrnoError(env, err, "mmap", Format("fileMap: cannot map %zu bytes of %s at offset %zu", size, path.c_str(), off));
  return WrapMapping(env, base, mapLength, static_cast<uint8_t*>(base) + delta, size);
}

}  // namespace dts
