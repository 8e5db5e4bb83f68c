#include "interrupts.h"

#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <v8.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "args.h"
#include "errors.h"

namespace dts {

namespace {

// All guarded by g_mu; the helper thread holds it while it decides and terminates, so a call that has
// returned can never be terminated afterwards (it sees g_terminated instead, and cancels).
std::mutex g_mu;
v8::Isolate* g_isolate = nullptr;
int g_depth = 0;            // breakable calls on the main thread's stack
bool g_terminated = false;  // the helper has asked V8 to terminate the running call
bool g_enabled = false;

sem_t g_sem;
napi_threadsafe_function g_idle = nullptr;  // tells JS of a SIGINT that found no call running

void OnSigint(int) {
  int saved = errno;
  sem_post(&g_sem);  // async-signal-safe; the helper does the rest
  errno = saved;
}

void* Helper(void*) {
  for (;;) {
    if (sem_wait(&g_sem) != 0) {
      if (errno == EINTR) continue;
      return nullptr;
    }
    bool idle;
    {
      std::lock_guard<std::mutex> lock(g_mu);
      idle = g_depth == 0;
      if (!idle && !g_terminated) {
        g_terminated = true;
        g_isolate->TerminateExecution();
      }
    }
    if (idle) napi_call_threadsafe_function(g_idle, nullptr, napi_tsfn_nonblocking);
  }
}

}  // namespace

Napi::Value EnableInterrupts(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsFunction())
    throw Napi::TypeError::New(env, Format("enableInterrupts: expects one function (the idle-interrupt callback), got %s", info.Length() == 0 ? "nothing" : Describe(info[0]).c_str()));
  if (g_enabled) return env.Undefined();
  napi_value name = Napi::String::New(env, "distributed-ts interrupt");
  napi_threadsafe_function tsfn;
  if (napi_create_threadsafe_function(env, info[0], nullptr, name, 0, 1, nullptr, nullptr, nullptr, nullptr, &tsfn) != napi_ok)
    throw Napi::Error::New(env, "enableInterrupts: cannot create the idle-interrupt callback");
  napi_unref_threadsafe_function(env, tsfn);  // it must not keep the worker alive
  if (sem_init(&g_sem, 0, 0) != 0) throw ErrnoError(env, errno, "sem_init", "enableInterrupts: cannot create the semaphore");
  g_isolate = v8::Isolate::GetCurrent();
  g_idle = tsfn;
  pthread_t thread;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  // The helper never takes SIGINT itself (it would only post to itself); block everything in it.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  int rc = pthread_create(&thread, &attr, Helper, nullptr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pthread_attr_destroy(&attr);
  if (rc != 0) throw ErrnoError(env, rc, "pthread_create", "enableInterrupts: cannot start the helper thread");
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = OnSigint;
  sa.sa_flags = SA_RESTART;
  sigfillset(&sa.sa_mask);
  if (sigaction(SIGINT, &sa, nullptr) != 0) throw ErrnoError(env, errno, "sigaction", "enableInterrupts: cannot install the SIGINT handler");
  g_enabled = true;
  return env.Undefined();
}

Napi::Value CallBreakable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsFunction() || !info[1].IsArray())
    throw Napi::TypeError::New(env, "callBreakable: expects (function, array of arguments)");
  if (!g_enabled) throw Napi::Error::New(env, "callBreakable: enableInterrupts has not been called");
  Napi::Array list = info[1].As<Napi::Array>();
  uint32_t n = list.Length();
  napi_value stackArgs[8];
  std::vector<napi_value> heapArgs;
  napi_value* argv = stackArgs;
  if (n > 8) {
    heapArgs.resize(n);
    argv = heapArgs.data();
  }
  for (uint32_t i = 0; i < n; i++) argv[i] = list.Get(i);
  napi_value recv;
  napi_get_undefined(env, &recv);
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_depth++;
  }
  napi_value result = nullptr;
  napi_status st = napi_call_function(env, recv, info[0], n, argv, &result);
  bool interrupted;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_depth--;
    interrupted = g_terminated;
    if (interrupted) {
      g_terminated = false;
      g_isolate->CancelTerminateExecution();
    }
  }
  if (interrupted) {
    napi_value dropped;
    napi_get_and_clear_last_exception(env, &dropped);  // the termination itself, or the call's own error
    Napi::Error e = Napi::Error::New(env, "Script execution was interrupted by SIGINT");
    e.Set("code", Napi::String::New(env, "ERR_SCRIPT_EXECUTION_INTERRUPTED"));
    throw e;
  }
  if (st == napi_pending_exception) return Napi::Value();  // f threw: N-API rethrows it as it was
  if (st != napi_ok) throw Napi::Error::New(env, "callBreakable: the call failed in N-API");
  return Napi::Value(env, result);
}

}  // namespace dts
