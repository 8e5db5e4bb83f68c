#include "signals.h"

#include <signal.h>

#include <cerrno>
#include <cstring>

#include "errors.h"

namespace dts {

Napi::Value IgnoreSigint(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 0) throw Napi::TypeError::New(env, "ignoreSigint: takes no arguments");
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_IGN;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGINT, &sa, nullptr) != 0) throw ErrnoError(env, errno, "sigaction", "ignoreSigint: cannot set SIGINT to SIG_IGN");
  return env.Undefined();
}

}  // namespace dts
