#include "sugar/signals.hpp"

#include <atomic>
#include <mutex>

#include "sugar/io/atomic_file.hpp"
#include "sugar/run_dir/status.hpp"

namespace sugar {
namespace {

// Lock-free atomics are async-signal-safe; the handlers touch nothing else but unlink and raise.
std::atomic<int> g_stop_signal{0};
std::atomic<bool> g_checkpoint_request{false};
// Watches may overlap (ranks simulated by threads each train): the first installs the handlers, the
// last restores what was there before.
std::mutex g_watch_mutex;
int g_watches = 0;
struct sigaction g_previous[kStopSignals.size() + 2] = {};

extern "C" void on_stop_signal(int signal_number) {
  int none = 0;
  if (g_stop_signal.compare_exchange_strong(none, signal_number) || g_stop_signal.load() != signal_number) return;
  // The same signal again: the user wants the process gone now. Leave no half-written file behind, and
  // no status.json that says the run still runs.
  io::remove_files_being_written();
  run_dir::write_last_status();
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  sigemptyset(&default_action.sa_mask);
  ::sigaction(signal_number, &default_action, nullptr);
  ::raise(signal_number);  // delivered when this handler returns (the signal is blocked inside it)
}

extern "C" void on_checkpoint_signal(int) { g_checkpoint_request = true; }

void install(int signal_number, void (*handler)(int), struct sigaction* previous) {
  struct sigaction action {};
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // a signal must not turn a read or write into an error
  ::sigaction(signal_number, &action, previous);
}

}  // namespace

SignalWatch::SignalWatch() {
  const std::lock_guard<std::mutex> lock(g_watch_mutex);
  if (g_watches++ > 0) return;
  g_stop_signal = 0;
  g_checkpoint_request = false;
  for (size_t i = 0; i < kStopSignals.size(); ++i) {
    install(kStopSignals[i], on_stop_signal, &g_previous[i]);
    // `nohup` ignores SIGHUP so that the job outlives its terminal: keep it so.
    if (kStopSignals[i] == SIGHUP && g_previous[i].sa_handler == SIG_IGN) ::sigaction(SIGHUP, &g_previous[i], nullptr);
  }
  install(SIGUSR1, on_checkpoint_signal, &g_previous[kStopSignals.size()]);
  install(SIGPIPE, SIG_IGN, &g_previous[kStopSignals.size() + 1]);
}

SignalWatch::~SignalWatch() {
  const std::lock_guard<std::mutex> lock(g_watch_mutex);
  if (--g_watches > 0) return;
  for (size_t i = 0; i < kStopSignals.size(); ++i) ::sigaction(kStopSignals[i], &g_previous[i], nullptr);
  ::sigaction(SIGUSR1, &g_previous[kStopSignals.size()], nullptr);
  ::sigaction(SIGPIPE, &g_previous[kStopSignals.size() + 1], nullptr);
}

int SignalWatch::stop_signal() { return g_stop_signal.load(); }

bool SignalWatch::take_checkpoint_request() { return g_checkpoint_request.exchange(false); }

}  // namespace sugar
