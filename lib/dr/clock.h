// The control plane's view of time. Deadlines, waits and peer liveness use the monotonic clock;
// the wall clock only stamps what is written for people and other processes (state records,
// reports, audit). Tests drive a manual clock (tests/unit/dr/fakes.h): a verb that waits 60 s
// for a drain runs in microseconds.
//
// Thread-safe implementations.
#pragma once

#include <chrono>
#include <cstdint>

namespace kmirror::dr {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint Now() = 0;   // monotonic
  virtual int64_t WallMs() = 0;  // milliseconds since the epoch
  virtual void SleepFor(std::chrono::milliseconds d) = 0;
};

// The process's clocks and std::this_thread::sleep_for.
Clock& SystemClock();

}  // namespace kmirror::dr
