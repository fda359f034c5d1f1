// Child processes for integration and robustness tests: real binaries (kmirror-sandbox, kcat,
// later kmirrord) started with fork/exec and stopped with real signals, SIGKILL included.
// Not thread-safe; one owner per Subprocess.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace kmirror::testing {

// Where build/bin is: $KMIRROR_BIN_DIR (set by ctest), else ./bin relative to the test binary.
std::string BinDir();
std::string BinPath(const std::string& name);

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  std::string out;
  std::string err;
};

// Runs argv to completion with `input` on stdin; kills it after `timeout`.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& input = "",
                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

// A test that needs an external tool skips when it is missing, except where
// KMIRROR_REQUIRE_TOOLS is set (CI, scripts/install-deps installs them all): there it fails.
#define KMIRROR_REQUIRE_TOOL(present, what)                                  \
  do {                                                                       \
    if (!(present)) {                                                        \
      if (std::getenv("KMIRROR_REQUIRE_TOOLS") != nullptr) FAIL() << (what); \
      GTEST_SKIP() << (what);                                                \
    }                                                                        \
  } while (0)

class Subprocess {
 public:
  // Starts argv with stdout and stderr appended to the given files (empty = inherit).
  static std::optional<Subprocess> Start(const std::vector<std::string>& argv,
                                         const std::string& stdout_path = "",
                                         const std::string& stderr_path = "");
  Subprocess(Subprocess&& o) noexcept : pid_(o.pid_) { o.pid_ = -1; }
  Subprocess& operator=(Subprocess&& o) noexcept;
  ~Subprocess();  // SIGKILL + reap if still running

  pid_t pid() const { return pid_; }
  bool Running();
  void Signal(int sig);
  // Waits for exit; returns the exit code, 128+signal when signalled, nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  void Kill();  // SIGKILL and reap

 private:
  explicit Subprocess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// A fresh temporary directory removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path);

}  // namespace kmirror::testing
