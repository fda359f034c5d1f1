#include "bench/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "fmt/format.h"

extern char** environ;

namespace kmirror::bench {
namespace {

absl::Status Errno(const std::string& what) {
  return absl::InternalError(fmt::format("{}: {}", what, std::strerror(errno)));
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The value of a "Name:   value ..." line of /proc/<pid>/status.
absl::StatusOr<int64_t> StatusField(pid_t pid, const std::string& field) {
  auto text = ReadWholeFile(fmt::format("/proc/{}/status", pid));
  if (!text.ok()) return text.status();
  std::istringstream lines(*text);
  std::string line;
  const std::string prefix = field + ":";
  while (std::getline(lines, line)) {
    if (line.rfind(prefix, 0) == 0) return std::strtoll(line.c_str() + prefix.size(), nullptr, 10);
  }
  return absl::NotFoundError(fmt::format("no {} in /proc/{}/status", field, pid));
}

// A socket closed on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(
    const std::vector<std::string>& argv, const std::string& log_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  // Nothing else is inherited: a listening socket of the in-process sandbox kept open by the child
  // would keep accepting connections for a broker that was taken down, and block its restart.
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  // The child starts with no blocked signals and default handlers, whatever this process uses.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return absl::InternalError(fmt::format("cannot start {}: {}", argv[0], std::strerror(rc)));
  }
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid));
}

ChildProcess::~ChildProcess() {
  if (Running()) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status_, 0);
  }
}

bool ChildProcess::Running() {
  if (exited_) return false;
  if (waitpid(pid_, &status_, WNOHANG) == pid_) exited_ = true;
  return !exited_;
}

std::string ChildProcess::Stop(std::chrono::milliseconds timeout) {
  if (Running()) {
    kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (Running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (Running()) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status_, 0);
      exited_ = true;
    }
  }
  return Describe();
}

std::string ChildProcess::Describe() const {
  if (WIFEXITED(status_)) return fmt::format("exit {}", WEXITSTATUS(status_));
  if (WIFSIGNALED(status_)) return fmt::format("signal {}", WTERMSIG(status_));
  return "unknown";
}

absl::StatusOr<int64_t> ReadRssKib(pid_t pid) { return StatusField(pid, "VmRSS"); }

absl::StatusOr<int> ReadThreads(pid_t pid) {
  auto n = StatusField(pid, "Threads");
  if (!n.ok()) return n.status();
  return static_cast<int>(*n);
}

namespace {
// utime + stime of a /proc/.../stat file, in seconds.
absl::StatusOr<double> StatCpuSeconds(const std::string& path) {
  auto text = ReadWholeFile(path);
  if (!text.ok()) return text.status();
  // Fields after the parenthesised command name start at field 3 (state); utime and stime are
  // fields 14 and 15, in clock ticks.
  const size_t paren = text->rfind(')');
  if (paren == std::string::npos) return absl::InternalError("malformed /proc/<pid>/stat");
  std::istringstream fields(text->substr(paren + 1));
  std::string field;
  int64_t utime = -1, stime = -1;
  for (int n = 3; n <= 15 && fields >> field; ++n) {
    if (n == 14) utime = std::strtoll(field.c_str(), nullptr, 10);
    if (n == 15) stime = std::strtoll(field.c_str(), nullptr, 10);
  }
  if (utime < 0 || stime < 0) return absl::InternalError("malformed " + path);
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}
}  // namespace

absl::StatusOr<double> ReadCpuSeconds(pid_t pid) {
  return StatCpuSeconds(fmt::format("/proc/{}/stat", pid));
}

absl::StatusOr<std::map<std::string, double>> ReadThreadCpuSeconds(pid_t pid) {
  std::map<std::string, double> by_name;
  std::error_code ec;
  const std::string task_dir = fmt::format("/proc/{}/task", pid);
  for (const auto& task : std::filesystem::directory_iterator(task_dir, ec)) {
    auto cpu = StatCpuSeconds(task.path().string() + "/stat");
    auto name = ReadWholeFile(task.path().string() + "/comm");
    if (!cpu.ok() || !name.ok()) continue;  // the thread ended meanwhile
    std::string comm = *name;
    while (!comm.empty() && comm.back() == '\n') comm.pop_back();
    by_name[comm] += *cpu;
  }
  if (ec) return absl::NotFoundError(fmt::format("cannot list {}: {}", task_dir, ec.message()));
  return by_name;
}

absl::StatusOr<uint16_t> FreeLoopbackPort() {
  Fd fd(socket(AF_INET, SOCK_STREAM, 0));
  if (fd.get() < 0) return Errno("socket");
  sockaddr_in addr = Loopback(0);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return Errno("bind");
  socklen_t len = sizeof(addr);
  if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return Errno("getsockname");
  }
  return ntohs(addr.sin_port);
}

absl::StatusOr<std::string> HttpGet(uint16_t port, const std::string& path,
                                    std::chrono::milliseconds timeout) {
  Fd fd(socket(AF_INET, SOCK_STREAM, 0));
  if (fd.get() < 0) return Errno("socket");
  timeval tv{};
  tv.tv_sec = timeout.count() / 1000;
  tv.tv_usec = (timeout.count() % 1000) * 1000;
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr = Loopback(port);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return Errno(fmt::format("connect 127.0.0.1:{}", port));
  }
  const std::string request =
      fmt::format("GET {} HTTP/1.0\r\nHost: 127.0.0.1:{}\r\n\r\n", path, port);
  if (send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return Errno("send");
  }
  std::string response;
  char buf[65536];
  while (true) {
    const ssize_t n = recv(fd.get(), buf, sizeof(buf), 0);
    if (n < 0) return Errno("recv");
    if (n == 0) break;
    response.append(buf, static_cast<size_t>(n));
  }
  const size_t body = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.", 0) != 0 || body == std::string::npos) {
    return absl::InternalError("malformed HTTP response");
  }
  const std::string status_line = response.substr(0, response.find("\r\n"));
  if (status_line.find(" 200") == std::string::npos) {
    return absl::UnavailableError("HTTP " + status_line);
  }
  return response.substr(body + 4);
}

std::optional<double> SumMetric(const std::string& exposition, const std::string& name) {
  std::optional<double> sum;
  std::istringstream lines(exposition);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#' || line.rfind(name, 0) != 0) continue;
    const char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != '{' && next != ' ') continue;  // another metric sharing the prefix
    const size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    sum = sum.value_or(0) + std::strtod(line.c_str() + space + 1, nullptr);
  }
  return sum;
}

int64_t CountInFile(const std::string& path, const std::string& needle) {
  auto text = ReadWholeFile(path);
  if (!text.ok() || needle.empty()) return 0;
  int64_t count = 0;
  for (size_t at = text->find(needle); at != std::string::npos;
       at = text->find(needle, at + needle.size())) {
    ++count;
  }
  return count;
}

}  // namespace kmirror::bench
