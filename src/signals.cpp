#include "sugar/signals.hpp"

#include <atomic>

#include "sugar/error.hpp"
#include "sugar/io/atomic_file.hpp"
#include "sugar/run_dir/status.hpp"

namespace sugar {
namespace {

// Lock-free atomics are async-signal-safe; the handlers touch nothing else but unlink and raise.
std::atomic<int> g_stop_signal{0};
std::atomic<bool> g_checkpoint_request{false};
std::atomic<bool> g_watching{false};

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
  SUGAR_CHECK(!g_watching.exchange(true), "SignalWatch: another one is active");
  g_stop_signal = 0;
  g_checkpoint_request = false;
  for (size_t i = 0; i < kStopSignals.size(); ++i) install(kStopSignals[i], on_stop_signal, &previous_[i]);
  install(SIGUSR1, on_checkpoint_signal, &previous_[kStopSignals.size()]);
  install(SIGPIPE, SIG_IGN, &previous_[kStopSignals.size() + 1]);
}

SignalWatch::~SignalWatch() {
  for (size_t i = 0; i < kStopSignals.size(); ++i) ::sigaction(kStopSignals[i], &previous_[i], nullptr);
  ::sigaction(SIGUSR1, &previous_[kStopSignals.size()], nullptr);
  ::sigaction(SIGPIPE, &previous_[kStopSignals.size() + 1], nullptr);
  g_watching = false;
}

int SignalWatch::stop_signal() { return g_stop_signal.load(); }

bool SignalWatch::take_checkpoint_request() { return g_checkpoint_request.exchange(false); }

}  // namespace sugar
