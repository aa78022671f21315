#include "sugar/sweep/runner.hpp"

#include <spdlog/spdlog.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <thread>

#include "sugar/error.hpp"
#include "sugar/io/atomic_file.hpp"
#include "sugar/sweep/child_process.hpp"
#include "sugar/sweep/claim.hpp"
#include "sugar/sweep/run_state.hpp"
#include "sugar/run_dir/status.hpp"
#include "sugar/signals.hpp"
#include "sugar/clock.hpp"

namespace sugar::sweep {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The last non-empty line of a (possibly long) log file: where a failed `sugar train` says why.
std::string last_line(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "";
  const std::streamoff size = in.tellg();
  const std::streamoff from = size > 4096 ? size - 4096 : 0;
  in.seekg(from);
  std::string tail(static_cast<size_t>(size - from), '\0');
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r' || tail.back() == ' ')) tail.pop_back();
  const size_t newline = tail.rfind('\n');
  std::string line = newline == std::string::npos ? tail : tail.substr(newline + 1);
  if (line.rfind("==== ", 0) == 0) return "";  // the sweep's own header: the child said nothing
  if (line.size() > 400) line = line.substr(0, 400) + "...";
  return line;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Active {
  size_t cell = 0;
  pid_t pid = 0;
  Claim claim;
  std::string action;
  Clock::time_point started;
  Clock::time_point next_refresh;
  bool lost = false;
};

class SweepRun {
 public:
  SweepRun(const SweepPlan& plan, const SweepOptions& options)
      : plan_(plan), options_(options), store_(plan.sweep_dir, claim_options(options)) {}

  SweepSummary run() {
    std::deque<size_t> queue;
    if (options_.only_cell) {
      SUGAR_CHECK(*options_.only_cell < plan_.cells.size(), "sweep: cell ", *options_.only_cell,
                  " is out of range: the grid has ", plan_.cells.size(), " cells (0-", plan_.cells.size() - 1, ")");
      queue.push_back(*options_.only_cell);
    } else {
      for (size_t i = 0; i < plan_.cells.size(); ++i) queue.push_back(i);
    }
    warn_about_threads(queue);
    SignalWatch signals;  // sugar/signals.hpp: stop signals and SIGUSR1 are passed on to the trainings
    try {
      for (;;) {
        if (SignalWatch::stop_signal() != 0 && !stopping_) stop(SignalWatch::stop_signal());
        if (SignalWatch::take_checkpoint_request()) forward_checkpoint_request();
        while (!stopping_ && SignalWatch::stop_signal() == 0 && active_.size() < std::max<size_t>(options_.jobs, 1) && !queue.empty()) {
          const size_t cell = queue.front();
          queue.pop_front();
          start(cell);
        }
        if (active_.empty()) break;  // so the queue is empty too, or the sweep is stopping
        reap();
        refresh_claims();
        if (!active_.empty()) std::this_thread::sleep_for(options_.poll_interval);
      }
    } catch (...) {
      stop_and_wait();
      throw;
    }
    if (SignalWatch::stop_signal() != 0 && !stopping_) stop(SignalWatch::stop_signal());
    for (const size_t cell : queue) add_report({cell, plan_.cells[cell].run_dir, CellOutcome::not_started, "", "", 0});
    summary_.stopped = stopping_;
    summary_.stop_signal = SignalWatch::stop_signal();
    std::sort(summary_.cells.begin(), summary_.cells.end(),
              [](const CellReport& a, const CellReport& b) { return a.index < b.index; });
    return std::move(summary_);
  }

 private:
  static ClaimOptions claim_options(const SweepOptions& options) {
    ClaimOptions o;
    o.stale_after = options.stale_after;
    return o;
  }

  std::string label(size_t cell) const {
    return "cell " + std::to_string(cell) + " (of " + std::to_string(plan_.cells.size()) + ")";
  }

  void warn_about_threads(const std::deque<size_t>& queue) const {
    if (options_.jobs <= 1) return;
    for (const size_t cell : queue) {
      if (plan_.cells[cell].config.train.threads == 0) {
        spdlog::warn("--jobs {} with train.threads 0: every cell uses every core and they slow each other down; "
                     "set train.threads to cores / jobs (--set train.threads=N)",
                     options_.jobs);
        return;
      }
    }
  }

  void add_report(CellReport report) { summary_.cells.push_back(std::move(report)); }

  // Whether an inspected cell needs running; reports it (and returns false) when not.
  bool needs_running(size_t cell, const RunInspection& state) {
    const SweepCell& c = plan_.cells[cell];
    switch (state.state) {
      case RunState::finished:
        add_report({cell, c.run_dir, CellOutcome::skipped, "", "finished before", 0});
        return false;
      case RunState::conflict:
        add_report({cell, c.run_dir, CellOutcome::failed, "", c.run_dir + ": " + state.detail, 0});
        spdlog::error("{}: not run: {}: {}", label(cell), c.run_dir, state.detail);
        return false;
      case RunState::failed:
        if (options_.retry_failed) return true;
        add_report({cell, c.run_dir, CellOutcome::failed, "",
                    "failed before: " + (state.detail.empty() ? std::string("see its train.log") : state.detail) +
                        " (--retry-failed runs it again)",
                    0});
        return false;
      default:
        return true;
    }
  }

  void start(size_t cell) {
    const SweepCell& c = plan_.cells[cell];
    // The first look, without the claim, only skips finished and failed cells cheaply. A directory that looks
    // foreign may be one another sweep's training is creating this instant (its files are not all written
    // yet), so a conflict is judged only under the claim, below.
    const RunInspection first_look = inspect_run(c.run_dir, c.config);
    if (first_look.state != RunState::conflict && !needs_running(cell, first_look)) return;
    ClaimAttempt attempt = store_.try_claim(c.name);
    if (!attempt.claim.held()) {
      const ClaimRecord& holder = *attempt.holder;
      add_report({cell, c.run_dir, CellOutcome::busy, "",
                  "claimed by " + holder.holder() + " (heartbeat " + holder.heartbeat + ")", 0});
      spdlog::info("{}: claimed by {} (heartbeat {}); leaving it to them: {}", label(cell), holder.holder(),
                   holder.heartbeat, c.run_dir);
      return;
    }
    if (attempt.taken_over) {
      spdlog::warn("{}: took over the stale claim of {} (last heartbeat {}): {}", label(cell),
                   attempt.taken_over->holder(), attempt.taken_over->heartbeat, c.run_dir);
    }
    try {
      // Another process may have finished the cell between the first look and the claim.
      const RunInspection state = inspect_run(c.run_dir, c.config);
      if (!needs_running(cell, state)) {
        attempt.claim.release(state.state == RunState::finished ? "skipped" : "not run");
        return;
      }
      launch(cell, std::move(attempt.claim), state);
    } catch (const std::exception& e) {
      add_report({cell, c.run_dir, CellOutcome::failed, "", e.what(), 0});
      spdlog::error("{}: could not start: {}", label(cell), e.what());
      if (attempt.claim.held()) attempt.claim.release("failed");
    }
  }

  void launch(size_t cell, Claim claim, const RunInspection& state) {
    const SweepCell& c = plan_.cells[cell];
    std::vector<std::string> args{"sugar"};
    args.insert(args.end(), options_.program_args.begin(), options_.program_args.end());
    std::string action;
    if (state.state == RunState::absent || !state.has_checkpoint) {
      action = state.state == RunState::absent ? "train" : "restart";
      const std::string config_path = cell_config_path(plan_, c);
      io::write_file_atomic(config_path, config::to_yaml(c.config));
      args.insert(args.end(), {"train", config_path, "--out", c.run_dir, "--no-progress"});
      if (state.state != RunState::absent) args.push_back("--force");
    } else {
      action = "resume";
      args.insert(args.end(), {"train", "--resume", c.run_dir, "--no-progress"});
      for (const std::string& o : state.resume_overrides) args.insert(args.end(), {"--set", o});
    }
    const std::string output = cell_output_path(plan_, c);
    {
      std::string command;
      for (const std::string& a : args) command += (command.empty() ? "" : " ") + a;
      std::ofstream out(output, std::ios::app);
      out << "==== " << utc_timestamp() << " " << claim.record().holder() << " (sweep, claim generation "
          << claim.record().generation << "): " << command << "\n";
    }
    Active a;
    a.cell = cell;
    a.pid = spawn_child(options_.program, args, output);
    a.claim = std::move(claim);
    a.action = action;
    a.started = Clock::now();
    a.next_refresh = a.started + store_.refresh_interval();
    spdlog::info("{}: start ({}{}): {}", label(cell), action,
                 action == "resume" ? " after epoch " + std::to_string(state.epochs_done) : "", c.run_dir);
    active_.push_back(std::move(a));
  }

  void reap() {
    for (size_t i = 0; i < active_.size();) {
      const std::optional<ChildExit> exit = poll_child(active_[i].pid);
      if (!exit) {
        ++i;
        continue;
      }
      finish(active_[i], *exit);
      active_.erase(active_.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }

  void finish(Active& a, const ChildExit& exit) {
    const SweepCell& c = plan_.cells[a.cell];
    const double seconds = seconds_since(a.started);
    const RunInspection state = inspect_run(c.run_dir, c.config);
    CellReport report{a.cell, c.run_dir, CellOutcome::failed, a.action, "", seconds};
    if (a.lost) {
      report.outcome = CellOutcome::lost;
      report.detail = "another process took its claim over; its training was killed";
    } else if (exit.signal == 0 && exit.exit_code == 0 && state.state == RunState::finished) {
      report.outcome = CellOutcome::finished;
    } else if (state.status == "interrupted" || stopped_by(exit)) {
      report.outcome = CellOutcome::interrupted;
      report.detail = "interrupted after epoch " + std::to_string(state.epochs_done) + "; the next sweep resumes it";
    } else {
      const std::string why = last_line(cell_output_path(plan_, c));
      report.detail = exit.describe() + (why.empty() ? "" : ": " + why) + " (log: " + cell_output_path(plan_, c) + ")";
    }
    try {
      a.claim.release(to_string(report.outcome));
    } catch (const std::exception& e) {
      spdlog::warn("{}: could not release its claim ({}); it goes stale and can be taken over", label(a.cell), e.what());
    }
    if (report.outcome == CellOutcome::finished) {
      spdlog::info("{}: finished in {:.1f} s: {}", label(a.cell), seconds, c.run_dir);
    } else if (report.outcome == CellOutcome::interrupted) {
      spdlog::warn("{}: interrupted after {:.1f} s: {}", label(a.cell), seconds, c.run_dir);
    } else {
      spdlog::error("{}: {} after {:.1f} s: {}: {}", label(a.cell), to_string(report.outcome), seconds, c.run_dir,
                    report.detail);
    }
    add_report(std::move(report));
  }

  void refresh_claims() {
    const Clock::time_point now = Clock::now();
    for (Active& a : active_) {
      if (a.lost || now < a.next_refresh) continue;
      a.next_refresh = now + store_.refresh_interval();
      try {
        if (!a.claim.refresh()) {
          // Someone judged this sweep dead and took the cell: two trainings in one directory would
          // corrupt it, so this one ends at once, without saving anything.
          a.lost = true;
          ::kill(a.pid, SIGKILL);
          spdlog::error("{}: another process took over its claim; killed its training: {}", label(a.cell),
                        plan_.cells[a.cell].run_dir);
        }
      } catch (const std::exception& e) {
        spdlog::warn("{}: could not refresh its claim ({}); retrying", label(a.cell), e.what());
      }
    }
  }

  // A stop signal reached the sweep: each training gets the same signal (they run in their own process
  // groups, so a terminal's Ctrl-C reaches them through here, once) and stops at its next batch.
  void stop(int signal) {
    stopping_ = true;
    const char* name = ::strsignal(signal);
    spdlog::warn("signal {} ({}): stopping; {} running cell(s) save a checkpoint and end as interrupted", signal,
                 name != nullptr ? name : "?", active_.size());
    for (const Active& a : active_) ::kill(a.pid, signal);
  }

  // SIGUSR1: every training writes a checkpoint and goes on.
  void forward_checkpoint_request() {
    spdlog::info("SIGUSR1: asking {} running cell(s) for a checkpoint", active_.size());
    for (const Active& a : active_) ::kill(a.pid, SIGUSR1);
  }

  // A training that exited 128 + one of the stop signals was stopped, not broken.
  static bool stopped_by(const ChildExit& exit) {
    for (const int signal : kStopSignals)
      if (exit.signal == 0 && exit.exit_code == 128 + signal) return true;
    return false;
  }

  // After an unexpected error in the loop: no training may outlive its claim.
  void stop_and_wait() {
    for (const Active& a : active_) ::kill(a.pid, SIGTERM);
    for (Active& a : active_) {
      while (!poll_child(a.pid)) std::this_thread::sleep_for(options_.poll_interval);
      try {
        a.claim.release("interrupted");
      } catch (...) {
      }
    }
    active_.clear();
  }

  const SweepPlan& plan_;
  const SweepOptions& options_;
  ClaimStore store_;
  std::vector<Active> active_;
  SweepSummary summary_;
  bool stopping_ = false;
};

}  // namespace

const char* to_string(CellOutcome outcome) {
  switch (outcome) {
    case CellOutcome::finished: return "finished";
    case CellOutcome::skipped: return "skipped";
    case CellOutcome::failed: return "failed";
    case CellOutcome::interrupted: return "interrupted";
    case CellOutcome::busy: return "busy";
    case CellOutcome::lost: return "lost";
    case CellOutcome::not_started: return "not started";
  }
  return "?";
}

size_t SweepSummary::count(CellOutcome outcome) const {
  return static_cast<size_t>(
      std::count_if(cells.begin(), cells.end(), [outcome](const CellReport& r) { return r.outcome == outcome; }));
}

int SweepSummary::exit_code() const {
  if (count(CellOutcome::failed) + count(CellOutcome::lost) > 0) return 1;
  if (stopped) return 128 + (stop_signal != 0 ? stop_signal : SIGINT);  // as `sugar train` after a signal
  if (count(CellOutcome::interrupted) > 0) return 130;
  return 0;
}

SweepSummary run_sweep(const SweepPlan& plan, const SweepOptions& options) { return SweepRun(plan, options).run(); }

std::string cell_config_path(const SweepPlan& plan, const SweepCell& cell) {
  return (fs::path(plan.sweep_dir) / (cell.name + ".yaml")).string();
}

std::string cell_output_path(const SweepPlan& plan, const SweepCell& cell) {
  return (fs::path(plan.sweep_dir) / (cell.name + ".out")).string();
}

}  // namespace sugar::sweep
