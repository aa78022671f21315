#pragma once
// How long jobs (`sugar train`, `sugar sweep`) answer signals, in one place:
//
//   SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR2   stop cleanly: the job notices at its next safe point
//                                              (a batch boundary), saves a checkpoint, records the run
//                                              as interrupted and exits 128 + the signal (SIGHUP: a
//                                              closed terminal or a dropped ssh session, 129; under
//                                              `nohup`, which ignores SIGHUP, it stays ignored).
//   the same signal a second time              "stop now": the temporary file of a write in progress
//                                              is removed and the process dies of the signal (the
//                                              directory still resumes from its last checkpoint).
//   SIGUSR1                                    write a checkpoint at the next safe point and go on,
//                                              as long-running trainers offer.
//   SIGPIPE                                    ignored: a closed output (`sugar train | head`, a dead
//                                              ssh pipe) makes writes fail instead of killing a run.
//
// The handlers only set flags (and, on the second signal, unlink and re-raise: async-signal-safe);
// the job polls them.
#include <array>
#include <csignal>

namespace sugar {

inline constexpr std::array<int, 5> kStopSignals{SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR2};

// Installs the handlers above for its lifetime and restores the previous ones afterwards. Watches may
// overlap (in threads): the handlers stay until the last one ends, and all share one stop flag.
class SignalWatch {
 public:
  SignalWatch();
  ~SignalWatch();
  SignalWatch(const SignalWatch&) = delete;
  SignalWatch& operator=(const SignalWatch&) = delete;

  // The first stop signal received since the watch began; 0 when none.
  static int stop_signal();
  // Whether SIGUSR1 arrived since the last call (each request is answered once).
  static bool take_checkpoint_request();
};

}  // namespace sugar
