#pragma once
// Child processes for sweep cells: each cell trains in its own process (fork + exec), so that N cells
// run at once and a crash of one (a segfault, the OOM killer) costs that cell only.
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace sugar::sweep {

// Starts `program` with `args` (args[0] is what the child sees as its name), its stdout and stderr
// appended to `output_path` and its stdin from /dev/null. The child is in the parent's process group
// (a Ctrl-C in the terminal reaches it) and gets SIGTERM when the parent dies (PR_SET_PDEATHSIG), so
// a killed sweep leaves no training running unclaimed: the child stops as "interrupted" and saves a
// checkpoint. Call from the thread that will wait for the child (the death signal follows that
// thread). Throws sugar::Error when the fork fails; an exec failure is exit status 127 with the
// reason in the output file.
pid_t spawn_child(const std::string& program, const std::vector<std::string>& args, const std::string& output_path);

struct ChildExit {
  pid_t pid = 0;
  int exit_code = -1;  // when it exited
  int signal = 0;      // when a signal killed it

  // "exit status 1", "killed by signal 9 (Killed)".
  std::string describe() const;
};

// Reaps `pid` if it has ended, without blocking; nothing while it runs.
std::optional<ChildExit> poll_child(pid_t pid);

}  // namespace sugar::sweep
