#include "signals.h"

#include <signal.h>

#include <cerrno>
#include <cstring>

#include "errors.h"

namespace dts {

namespace {

// The handler SIGINT had at the first call: Node's own "exit" handler, which its SIGINT watchdog also
// installs whenever the last breakable run ends. Any other handler found later is the watchdog's, and
// is put back (the swap below is atomic, so a watchdog starting on another thread is never undone).
void* g_exitHandler = nullptr;
bool g_known = false;

void* HandlerOf(const struct sigaction& sa) {
  return (sa.sa_flags & SA_SIGINFO) ? reinterpret_cast<void*>(sa.sa_sigaction) : reinterpret_cast<void*>(sa.sa_handler);
}

}  // namespace

Napi::Value IgnoreSigint(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 0) throw Napi::TypeError::New(env, "ignoreSigint: takes no arguments");
  struct sigaction ign, old;
  std::memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  if (sigaction(SIGINT, &ign, &old) != 0) throw ErrnoError(env, errno, "sigaction", "ignoreSigint: cannot set SIGINT to SIG_IGN");
  void* was = HandlerOf(old);
  if (!g_known) {
    g_known = true;
    g_exitHandler = was;
    return Napi::Boolean::New(env, true);
  }
  if (was == reinterpret_cast<void*>(SIG_IGN) || was == g_exitHandler) return Napi::Boolean::New(env, true);
  // A breakable run (the watchdog's handler) is active: leave it in charge.
  sigaction(SIGINT, &old, nullptr);
  return Napi::Boolean::New(env, false);
}

}  // namespace dts
