#include "parallel_copy.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>

namespace dts {

namespace {

constexpr size_t kChunk = size_t(1) << 20;
constexpr unsigned kMaxHelpers = 3;  // memory bandwidth is spent by then on common machines

struct Job {
  const uint8_t* src;
  uint8_t* dst;
  size_t n;
  size_t chunks;
  std::atomic<size_t> next{0};
};

// One job at a time (worker threads share the process: a second concurrent copy is done alone).
// Never destroyed: the helpers wait on these until the process ends.
struct State {
  std::mutex mutex;
  std::condition_variable wake;  // a job was posted
  std::condition_variable left;  // the last helper left the job
  Job* job = nullptr;
  uint64_t generation = 0;
  unsigned inJob = 0;
  unsigned helpers = 0;
};
State& S() {
  static State* s = new State;
  return *s;
}
std::once_flag g_started;

void RunChunks(Job* j) {
  for (;;) {
    size_t k = j->next.fetch_add(1, std::memory_order_relaxed);
    if (k >= j->chunks) return;
    size_t from = k * kChunk;
    std::memcpy(j->dst + from, j->src + from, std::min(kChunk, j->n - from));
  }
}

void HelperLoop() {
  State& s = S();
  uint64_t seen = 0;
  std::unique_lock<std::mutex> lock(s.mutex);
  for (;;) {
    s.wake.wait(lock, [&] { return s.generation != seen; });
    seen = s.generation;
    Job* j = s.job;
    if (j == nullptr) continue;
    s.inJob++;
    lock.unlock();
    RunChunks(j);
    lock.lock();
    if (--s.inJob == 0) s.left.notify_all();
  }
}

void StartHelpers() {
  unsigned cores = std::thread::hardware_concurrency();
  unsigned n = cores > 1 ? std::min(cores - 1, kMaxHelpers) : 0;
  for (unsigned i = 0; i < n; i++) {
    try {
      std::thread(HelperLoop).detach();  // they wait on a condition variable; process exit ends them
      S().helpers++;
    } catch (const std::system_error&) {
      break;  // no more threads: copy with those there are
    }
  }
}

}  // namespace

void CopyBytes(void* dst, const void* src, size_t n) {
  if (n >= kParallelCopyMin) std::call_once(g_started, StartHelpers);
  State& s = S();
  if (n < kParallelCopyMin || s.helpers == 0) {
    std::memcpy(dst, src, n);
    return;
  }
  std::unique_lock<std::mutex> lock(s.mutex, std::try_to_lock);
  if (!lock.owns_lock() || s.job != nullptr) {
    if (lock.owns_lock()) lock.unlock();
    std::memcpy(dst, src, n);
    return;
  }
  Job job{static_cast<const uint8_t*>(src), static_cast<uint8_t*>(dst), n, (n + kChunk - 1) / kChunk};
  s.job = &job;
  s.generation++;
  lock.unlock();
  s.wake.notify_all();
  RunChunks(&job);
  // Every chunk is claimed; wait for the helpers still copying theirs (none if none woke in time).
  lock.lock();
  s.job = nullptr;
  s.left.wait(lock, [&] { return s.inJob == 0; });
}

}  // namespace dts
