#include "idle_spin.h"

#include <sched.h>
#include <uv.h>

#include <cstdint>

#include "args.h"

namespace dts {

namespace {

constexpr double kMaxWindowMicros = 100000;

// One per thread (a Node environment and its loop); made by the first setIdleSpin on that thread.
struct Spinner {
  uv_idle_t idle;
  uint64_t windowNs = 0;
  uint64_t last = 0;  // uv_hrtime() of the last traffic
  bool active = false;
  double windows = 0;
  double polls = 0;
};

thread_local Spinner* t_spinner = nullptr;

void Stop(Spinner* s) {
  if (!s->active) return;
  uv_idle_stop(&s->idle);
  s->active = false;
}

// Runs once per loop iteration while the window is open; an active idle handle makes the iteration's
// poll non-blocking.
void OnIdle(uv_idle_t* handle) {
  Spinner* s = static_cast<Spinner*>(handle->data);
  if (uv_hrtime() - s->last > s->windowNs) {
    Stop(s);
    return;
  }
  s->polls++;
  // Another runnable thread on this CPU (a V8 helper, another process) goes first.
  sched_yield();
}

// The environment is going away: close the handle (its loop runs the close before it is closed).
void Cleanup(void* arg) {
  Spinner* s = static_cast<Spinner*>(arg);
  if (t_spinner == s) t_spinner = nullptr;
  Stop(s);
  uv_close(reinterpret_cast<uv_handle_t*>(&s->idle), [](uv_handle_t* h) { delete static_cast<Spinner*>(h->data); });
}

Spinner* GetSpinner(Napi::Env env) {
  if (t_spinner != nullptr) return t_spinner;
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr)
    throw Napi::Error::New(env, "setIdleSpin: this thread has no event loop");
  auto* s = new Spinner();
  if (uv_idle_init(loop, &s->idle) != 0) {
    delete s;
    throw Napi::Error::New(env, "setIdleSpin: uv_idle_init failed");
  }
  s->idle.data = s;
  // Polling must never keep the process alive.
  uv_unref(reinterpret_cast<uv_handle_t*>(&s->idle));
  napi_add_env_cleanup_hook(env, Cleanup, s);
  t_spinner = s;
  return s;
}

}  // namespace

void NoteTraffic() {
  Spinner* s = t_spinner;
  if (s == nullptr || s->windowNs == 0) return;
  s->last = uv_hrtime();
  if (s->active) return;
  s->active = true;
  s->windows++;
  uv_idle_start(&s->idle, OnIdle);
}

Napi::Value SetIdleSpin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double us = GetInteger(info[0], "setIdleSpin", "windowMicros", 0, kMaxWindowMicros);
  if (us == 0 && t_spinner == nullptr) return env.Undefined();
  Spinner* s = GetSpinner(env);
  s->windowNs = uint64_t(us) * 1000;
  if (us == 0) Stop(s);
  return env.Undefined();
}

Napi::Value IdleSpinStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  Spinner* s = t_spinner;
  out.Set("windowMicros", Napi::Number::New(env, s == nullptr ? 0 : double(s->windowNs / 1000)));
  out.Set("windows", Napi::Number::New(env, s == nullptr ? 0 : s->windows));
  out.Set("polls", Napi::Number::New(env, s == nullptr ? 0 : s->polls));
  out.Set("active", Napi::Boolean::New(env, s != nullptr && s->active));
  return out;
}

}  // namespace dts
