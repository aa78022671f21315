#include "sugar/sweep/child_process.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "sugar/error.hpp"

namespace sugar::sweep {
namespace {

// Async-signal-safe message to the output file between fork and exec (no malloc, no stdio).
void write_text(int fd, const char* text) {
  const size_t length = std::strlen(text);
  size_t done = 0;
  while (done < length) {
    const ssize_t n = ::write(fd, text + done, length - done);
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

}  // namespace

pid_t spawn_child(const std::string& program, const std::vector<std::string>& args, const std::string& output_path) {
  SUGAR_CHECK(!args.empty(), "spawn_child: no arguments (args[0] is the program's name)");
  // Everything the child needs is prepared before fork: between fork and exec only async-signal-safe
  // calls are allowed (the parent may have threads holding malloc's locks).
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  const int out = ::open(output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
  if (out < 0) throw Error("sweep: cannot open " + output_path + ": " + std::strerror(errno));
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) {
    const int fork_errno = errno;
    ::close(out);
    throw Error(std::string("sweep: cannot start a training process: fork: ") + std::strerror(fork_errno));
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(128 + SIGTERM);  // the parent died before prctl took effect
    // Its own process group: a terminal's Ctrl-C (sent to the foreground group) reaches only the sweep,
    // which passes it on once; two SIGINTs would make the training die without its checkpoint.
    ::setpgid(0, 0);
    // The sweep's signal mask and handlers are not the child's business.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    const int null_in = ::open("/dev/null", O_RDONLY);
    if (null_in >= 0) ::dup2(null_in, STDIN_FILENO);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    ::execv(program.c_str(), argv.data());
    write_text(STDERR_FILENO, "error: sweep: cannot execute ");
    write_text(STDERR_FILENO, program.c_str());
    write_text(STDERR_FILENO, ": ");
    write_text(STDERR_FILENO, std::strerror(errno));
    write_text(STDERR_FILENO, "\n");
    ::_exit(127);
  }
  ::close(out);
  return pid;
}

std::optional<ChildExit> poll_child(pid_t pid) {
  int status = 0;
  pid_t reaped = 0;
  do {
    reaped = ::waitpid(pid, &status, WNOHANG);
  } while (reaped < 0 && errno == EINTR);
  if (reaped == 0) return std::nullopt;
  if (reaped < 0) throw Error("sweep: waitpid(" + std::to_string(pid) + "): " + std::strerror(errno));
  ChildExit exit;
  exit.pid = pid;
  if (WIFEXITED(status)) exit.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) exit.signal = WTERMSIG(status);
  return exit;
}

std::string ChildExit::describe() const {
  if (signal != 0) {
    const char* name = ::strsignal(signal);
    return "killed by signal " + std::to_string(signal) + (name != nullptr ? std::string(" (") + name + ")" : "");
  }
  return "exit status " + std::to_string(exit_code);
}

}  // namespace sugar::sweep
