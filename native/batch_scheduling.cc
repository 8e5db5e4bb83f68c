#include "batch_scheduling.h"

#include <sched.h>

#include "args.h"

namespace dts {

Napi::Value SetBatchScheduling(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsBoolean())
    throw Napi::TypeError::New(env, "setBatchScheduling(on): on must be a boolean, got " + (info.Length() == 0 ? std::string("nothing") : Describe(info[0])));
  const bool on = info[0].As<Napi::Boolean>().Value();
#if defined(__linux__) && defined(SCHED_BATCH)
  const int current = sched_getscheduler(0);
  if (current != SCHED_OTHER && current != SCHED_BATCH) return Napi::Boolean::New(env, false);
  const int wanted = on ? SCHED_BATCH : SCHED_OTHER;
  if (current == wanted) return Napi::Boolean::New(env, true);
  sched_param param{};
  param.sched_priority = 0;  // the only priority SCHED_OTHER and SCHED_BATCH have
  return Napi::Boolean::New(env, sched_setscheduler(0, wanted, &param) == 0);
#else
  return Napi::Boolean::New(env, !on);
#endif
}

Napi::Value BatchScheduling(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
#if defined(__linux__) && defined(SCHED_BATCH)
  return Napi::Boolean::New(env, sched_getscheduler(0) == SCHED_BATCH);
#else
  return Napi::Boolean::New(env, false);
#endif
}

}  // namespace dts
