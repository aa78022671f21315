#include "cli.hpp"

#include <csignal>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "command.hpp"
#include "option_checks.hpp"
#include "command_activations.hpp"
#include "command_bench.hpp"
#include "command_report.hpp"
#include "command_sweep.hpp"
#include "command_train.hpp"
#include "command_tune.hpp"
#include "sugar/dist/communicator.hpp"
#include "sugar/error.hpp"
#include "sugar/log_format.hpp"
#include "sugar/printable.hpp"
#include "sugar/runtime.hpp"

namespace sugar::cli {
namespace {

const char* const kDescription =
    "Sugar trains convolutional networks on the CPU (oneDNN) to compare activation functions,\n"
    "above all SUGAR: a ReLU whose backward pass uses the derivative of a smooth surrogate.\n";

const char* const kFooter =
    "\nExamples:\n"
    "  sugar demo                 train a small CNN on synthetic images (a few seconds)\n"
    "  sugar --threads 1 demo     the same on one thread\n"
    "  sugar activations list     the activation functions Sugar knows\n"
    "  sugar train configs/quickstart.yaml   train ResNet-18 on Fashion-MNIST\n"
    "  sugar sweep grid.yaml --jobs 2   train every cell of the config's sweep grid\n"
    "  sugar report runs/         compare the runs: table, report.md, plots\n"
    "  sugar bench --model vgg16  training images/s and where the time goes\n"
    "  sugar demo --help          the options of one subcommand\n"
    "\nErrors are printed as one line 'error: ...'; exit code 2 means a usage error (fix the\n"
    "command line), 1 a failure while running.";

std::string version_text() {
  return "sugar " + sugar_version() + " (commit " + sugar_git_commit() + ")\n" + "oneDNN " + onednn_version() +
         "\n" + "OpenMP threads available: " + std::to_string(num_threads());
}

// Error messages may hold newlines (oneDNN's do); the contract is one line per error. They may also
// quote user text (a value, a file name): control bytes and broken UTF-8 in it are escaped, so an
// ESC sequence in a --set value never reaches the terminal.
std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return printable(text);
}

void set_pattern(spdlog::logger& logger, const std::string& pattern) {
  logger.set_formatter(printable_log_formatter(pattern));
}

// Under mpirun, a failure on one rank ends every rank (MPI_Abort) rather than leaving the others
// waiting forever in their next all-reduce; the line says which rank failed.
// The line goes out in one write: std::cerr writes each << piece on its own, and mpirun's MPI_ABORT
// banner (another process on the same stderr) landed between them.
int report_error(const std::string& message, int exit_code) {
  dist::Communicator& ranks = dist::world();
  const std::string rank = ranks.size() == 1 ? "" : sugar::detail::concat("rank ", ranks.rank(), " of ", ranks.size(), ": ");
  const std::string line = "error: " + rank + one_line(message) + "\n";
  std::cerr.flush();
  static_cast<void>(::write(STDERR_FILENO, line.data(), line.size()));
  if (ranks.size() == 1) return exit_code;
  ranks.abort(exit_code);
  return exit_code;  // not reached: abort() ends the process
}

void setup_logging(const std::string& level) {
  // Logs go to stderr so that stdout carries only results (tables, metrics) and can be piped.
  auto logger = spdlog::stderr_color_mt("sugar");
  set_pattern(*logger, "[%H:%M:%S] %^%l%$: %*");
  logger->set_level(spdlog::level::from_str(level));
  // Data parallelism: rank 0 reports for all; the others only say what goes wrong, and who they are.
  const dist::Communicator& ranks = dist::world();
  if (ranks.size() > 1 && ranks.rank() > 0) {
    set_pattern(*logger, "[%H:%M:%S] rank " + std::to_string(ranks.rank()) + " %^%l%$: %*");
    logger->set_level(std::max(logger->level(), spdlog::level::warn));
  }
  spdlog::set_default_logger(logger);
}

// Shuts MPI down when the program returns normally (a no-op without it).
struct DistributedSession {
  DistributedSession() { dist::world(); }
  ~DistributedSession() { dist::finalize(); }
  DistributedSession(const DistributedSession&) = delete;
  DistributedSession& operator=(const DistributedSession&) = delete;
};

std::string command_names(const std::vector<Command>& commands) {
  std::string names;
  for (const Command& command : commands) names += (names.empty() ? "" : ", ") + command.app->get_name();
  return names;
}

}  // namespace

int main(int argc, char** argv) {
  // A closed output (`sugar train | head`, a dropped ssh session) must make writes fail, not kill a
  // training or a sweep: every write here checks its result or does not matter (sugar/signals.hpp).
  std::signal(SIGPIPE, SIG_IGN);
  // "Write a checkpoint now" before there is anything to checkpoint (a training still loading its data,
  // an MPI rank a little behind the others) must not end the process, as SIGUSR1's default would.
  std::signal(SIGUSR1, SIG_IGN);
  // MPI is initialised before any thread starts (a no-op unless started by mpirun).
  DistributedSession distributed;
  CLI::App app{kDescription, "sugar"};
  app.set_version_flag("--version", version_text(), "Print the version of Sugar and of oneDNN, then exit");
  app.set_help_flag("-h,--help", "Print this help, then exit (sugar <command> --help: a command's help)");
  app.require_subcommand(0, 1);

  int threads = 0;
  CLI::Option* threads_option =
      app.add_option("--threads", threads,
                     "Threads of OpenMP and oneDNN (default: OMP_NUM_THREADS if set, else all cores; 0: all)")
          ->check(within<int>(0, 4096))
          ->type_name("N");
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "How much to log to stderr (default: info)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->type_name("LEVEL");

  // Global options come first: subcommands may look them up (train reads --threads).
  std::vector<Command> commands;
  commands.push_back(add_demo_command(app));
  commands.push_back(add_activations_command(app));
  for (Command& command : add_train_commands(app)) commands.push_back(std::move(command));
  commands.push_back(add_sweep_command(app));
  commands.push_back(add_report_command(app));
  commands.push_back(add_bench_command(app));
  commands.push_back(add_tune_command(app));
  // After the subcommands: CLI11 copies the footer into subcommands created later, and these
  // examples are about the program as a whole.
  app.footer(kFooter);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    const std::vector<std::string> extras = app.remaining();
    if (app.get_subcommands().empty() && !extras.empty() && !extras.front().starts_with("-")) {
      return report_error("unknown command '" + extras.front() + "' (commands: " + command_names(commands) +
                              "; see 'sugar --help')",
                          2);
    }
    const std::string help = app.get_subcommands().empty() ? "sugar --help"
                                                            : "sugar " + app.get_subcommands().front()->get_name() + " --help";
    return report_error(std::string(e.what()) + " (see '" + help + "')", 2);
  }

  const Command* chosen = nullptr;
  for (const Command& command : commands) {
    if (command.app->parsed()) chosen = &command;
  }
  if (chosen == nullptr) {
    // A bare `sugar` is most likely a newcomer: show what there is to do.
    std::cout << app.help() << std::flush;
    return 0;
  }

  try {
    setup_logging(log_level);
    if (threads_option->count() > 0) set_num_threads(threads);
    spdlog::debug("sugar {} (commit {}), oneDNN {}, {} threads", sugar_version(), sugar_git_commit(),
                  onednn_version(), num_threads());
    return chosen->run();
  } catch (const Error& e) {
    return report_error(e.what(), e.exit_code());
  } catch (const dnnl::error& e) {
    return report_error(std::string("oneDNN: ") + e.what(), 1);
  } catch (const std::bad_alloc&) {
    return report_error("out of memory", 1);
  } catch (const std::exception& e) {
    return report_error(e.what(), 1);
  }
}

}  // namespace sugar::cli
