// Polling instead of sleeping, for a short window after frame traffic (see src/transport/idle-spin.ts).
//
// A process that waits in epoll for the next frame is put to sleep, and the peer's send must wake it:
// on the virtual machines these clusters run on, that wake-up (an inter-processor interrupt to an idle
// virtual CPU) costs most of a small round trip — about 75 µs of a 95 µs one on our 2-core box, where
// the same two processes answer in 15 µs while neither sleeps. So for `window` µs after each frame read
// or written, this thread's event loop polls without blocking: an unreferenced libuv idle handle makes
// each loop iteration poll with a zero timeout, and yields the CPU to any other runnable thread. The
// handle never keeps the process alive, and stops itself once the window has passed without traffic.
#pragma once
#include <napi.h>

namespace dts {

// Records frame traffic on this thread's loop: (re)opens its polling window. Cheap (one clock read);
// does nothing while the window is 0 (off) or before setIdleSpin was called on this thread.
void NoteTraffic();

// setIdleSpin(windowMicros: integer 0..100000) -> undefined: the polling window of this thread's loop
// (0 turns polling off and stops a window in progress).
Napi::Value SetIdleSpin(const Napi::CallbackInfo& info);

// idleSpinStats() -> { windowMicros, windows, polls, active }: this thread's window, how many windows
// were opened, how many loop iterations polled in them, and whether one is open now.
Napi::Value IdleSpinStats(const Napi::CallbackInfo& info);

}  // namespace dts
