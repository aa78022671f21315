// `sugar sweep`: the command line over sugar::sweep (plan, claims, runner). See command_sweep.hpp.
#include "command_sweep.hpp"
#include "global_threads.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "option_checks.hpp"
#include "sugar/error.hpp"
#include "sugar/sweep/claim.hpp"
#include "sugar/sweep/plan.hpp"
#include "sugar/sweep/run_state.hpp"
#include "sugar/sweep/runner.hpp"

namespace sugar::cli {
namespace {

struct SweepArgs {
  std::string config;
  std::string runs = "runs";
  size_t jobs = 1;
  std::vector<std::string> overrides;
  bool dry_run = false;
  bool count = false;
  std::string cell;
  bool retry_failed = false;
  double stale_after_s = 600;
  CLI::Option* global_threads = nullptr;
  CLI::Option* global_log_level = nullptr;
};

bool all_digits(const std::string& text) {
  return !text.empty() && text.size() <= 9 && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// --cell K, --cell env (SLURM_ARRAY_TASK_ID) or --cell env:NAME.
size_t parse_cell(const std::string& text, size_t cells) {
  std::string value = text;
  std::string source = "--cell " + text;
  if (text == "env" || text.rfind("env:", 0) == 0) {
    const std::string variable = text == "env" ? "SLURM_ARRAY_TASK_ID" : text.substr(4);
    const char* set = variable.empty() ? nullptr : std::getenv(variable.c_str());
    if (set == nullptr) {
      throw Error("--cell " + text + ": the environment variable " + (variable.empty() ? "(none named)" : variable) +
                      " is not set (run inside a job array, or name the variable: --cell env:PBS_ARRAY_INDEX)",
                  ErrorKind::usage);
    }
    value = set;
    source += " (" + variable + "=" + value + ")";
  }
  if (!all_digits(value)) {
    throw Error(source + ": expected a cell index counted from 0, 'env' or 'env:VARIABLE', got '" + value + "'",
                ErrorKind::usage);
  }
  const size_t cell = std::stoul(value);
  if (cell >= cells) {
    throw Error(source + ": the grid has " + std::to_string(cells) + " cells (0-" + std::to_string(cells - 1) + ")",
                ErrorKind::usage);
  }
  return cell;
}

// The dry run's state column: the run directory's state, and who holds the claim.
std::string describe_state(const sweep::SweepCell& cell, const sweep::ClaimStore& claims, std::string* note) {
  const sweep::RunInspection run = sweep::inspect_run(cell.run_dir, cell.config);
  std::string text;
  const std::string epochs = std::to_string(run.epochs_done) + "/" + std::to_string(run.epochs);
  switch (run.state) {
    case sweep::RunState::resumable:
      text = run.status == "finished" ? "extend (" + std::to_string(run.epochs_done) + "->" +
                                            std::to_string(cell.config.train.epochs) + " epochs)"
             : run.status == "interrupted" ? "interrupted (epoch " + epochs + ")"
                                           : "stopped (epoch " + epochs + ")";
      break;
    case sweep::RunState::restart:
      text = "restart (no checkpoint)";
      break;
    default:
      text = sweep::to_string(run.state);
  }
  const std::optional<sweep::ClaimRecord> claim = claims.current(cell.name);
  const bool live_claim = claim && claims.is_live(*claim);
  // Under a live claim the directory may be half-created by the holder's training: not a conflict.
  if (live_claim && run.state == sweep::RunState::conflict) return "starting, claimed by " + claim->holder();
  if (run.state == sweep::RunState::conflict || run.state == sweep::RunState::failed) *note = run.detail;
  if (live_claim) text += ", claimed by " + claim->holder();
  else if (claim && claims.is_stale(*claim)) text += ", stale claim by " + claim->holder();
  return text;
}

void print_cells(const sweep::SweepPlan& plan, const std::vector<size_t>& cells, const sweep::ClaimStore& claims) {
  struct Row {
    std::string index, state, dir, overrides, note;
  };
  std::vector<Row> rows{{"cell", "state", "run directory", "overrides", ""}};
  for (const size_t i : cells) {
    Row row{std::to_string(i), "", plan.cells[i].run_dir, plan.cells[i].overrides_text(), ""};
    row.state = describe_state(plan.cells[i], claims, &row.note);
    rows.push_back(std::move(row));
  }
  size_t w_index = 0, w_state = 0, w_dir = 0;
  for (const Row& r : rows) {
    w_index = std::max(w_index, r.index.size());
    w_state = std::max(w_state, r.state.size());
    w_dir = std::max(w_dir, r.dir.size());
  }
  for (const Row& r : rows) {
    std::printf("%-*s  %-*s  %-*s  %s\n", static_cast<int>(w_index), r.index.c_str(), static_cast<int>(w_state),
                r.state.c_str(), static_cast<int>(w_dir), r.dir.c_str(), r.overrides.c_str());
    if (!r.note.empty()) std::printf("%*s  %s\n", static_cast<int>(w_index), "", r.note.c_str());
  }
}

void print_summary(const sweep::SweepPlan& plan, const sweep::SweepSummary& summary) {
  using sweep::CellOutcome;
  std::string counts;
  for (const CellOutcome o : {CellOutcome::finished, CellOutcome::skipped, CellOutcome::failed, CellOutcome::interrupted,
                              CellOutcome::busy, CellOutcome::lost, CellOutcome::not_started}) {
    const size_t n = summary.count(o);
    if (n == 0) continue;
    counts += (counts.empty() ? "" : ", ") + std::to_string(n) + " " + sweep::to_string(o);
    if (o == CellOutcome::skipped) counts += " (finished before)";
    if (o == CellOutcome::busy) counts += " (running elsewhere)";
  }
  std::printf("sweep %s (%s): %zu of %zu cells: %s%s\n", plan.base.name.c_str(), plan.grid_dir.c_str(),
              summary.cells.size(), plan.cells.size(), counts.c_str(), summary.stopped ? "; stopped by a signal" : "");
  for (const sweep::CellReport& r : summary.cells) {
    std::string line = std::string(sweep::to_string(r.outcome)) + "  " + r.run_dir;
    if (!r.action.empty()) {
      char seconds[32];
      std::snprintf(seconds, sizeof seconds, "%.1f", r.seconds);
      line += "  (" + r.action + ", " + seconds + " s)";
    }
    if (!r.detail.empty() && r.outcome != CellOutcome::skipped) line += ": " + r.detail;
    std::printf("  cell %zu: %s\n", r.index, line.c_str());
  }
  if (summary.stopped || summary.count(CellOutcome::interrupted) > 0) {
    std::printf("continue with the same command: finished cells are skipped, interrupted ones resumed\n");
  }
}

int run_sweep_command(const SweepArgs& args) {
  const std::vector<std::string> overrides = with_global_threads(args.overrides, args.global_threads);
  const sweep::SweepPlan plan = sweep::plan_sweep(args.config, overrides, args.runs);
  if (args.count) {
    std::printf("%zu\n", plan.cells.size());
    return 0;
  }
  std::vector<size_t> cells;
  std::optional<size_t> only;
  if (!args.cell.empty()) {
    only = parse_cell(args.cell, plan.cells.size());
    cells.push_back(*only);
  } else {
    for (size_t i = 0; i < plan.cells.size(); ++i) cells.push_back(i);
  }
  sweep::SweepOptions options;
  options.jobs = args.jobs;
  options.only_cell = only;
  options.retry_failed = args.retry_failed;
  options.stale_after = std::chrono::milliseconds(static_cast<int64_t>(args.stale_after_s * 1000.0));
  if (args.global_log_level != nullptr && args.global_log_level->count() > 0) {
    options.program_args = {"--log-level", args.global_log_level->as<std::string>()};
  }
  if (args.dry_run) {
    sweep::ClaimOptions claim_options;
    claim_options.stale_after = options.stale_after;
    print_cells(plan, cells, sweep::ClaimStore(plan.sweep_dir, claim_options));
    return 0;
  }
  const sweep::SweepSummary summary = sweep::run_sweep(plan, options);
  print_summary(plan, summary);
  return summary.exit_code();
}

}  // namespace

Command add_sweep_command(CLI::App& parent) {
  auto args = std::make_shared<SweepArgs>();
  args->global_threads = parent.get_option_no_throw("--threads");
  args->global_log_level = parent.get_option_no_throw("--log-level");
  CLI::App* sweep = parent.add_subcommand("sweep", "Train every cell of a config's sweep grid (resumable, shareable)");
  sweep->add_option("config", args->config, "The experiment config (YAML) with a sweep: grid")
      ->required()
      ->type_name("CONFIG");
  sweep->add_option("--runs", args->runs, "Where run directories go: <runs>/<config name>/<cell> (default: runs)")
      ->type_name("DIR");
  sweep->add_option("--jobs", args->jobs, "Cells trained at once, each in its own process (default: 1)")
      ->check(within<int64_t>(1, 1024))
      ->type_name("N");
  sweep->add_option("--set", args->overrides,
                    "Override a config key in every cell, e.g. --set train.epochs=10, or an axis: "
                    "--set sweep.seed=[0,1] (repeatable)")
      ->type_name("KEY=VALUE")
      ->take_all()
      ->allow_extra_args(false);
  sweep->add_flag("--dry-run", args->dry_run, "List the cells (index, state, run directory, overrides); run nothing");
  sweep->add_flag("--count", args->count, "Print the number of cells (for a job array's size) and exit");
  sweep->add_option("--cell", args->cell,
                    "Run only cell K (0-based): one cell per task of a job array; 'env' reads "
                    "SLURM_ARRAY_TASK_ID, 'env:NAME' the variable NAME")
      ->type_name("K|env|env:NAME")
      // An empty --cell ($UNSET_VARIABLE in a job script) must not mean "the whole grid".
      ->check(CLI::Validator(
          [](std::string& value) { return value.empty() ? std::string("empty; expected K, env or env:NAME") : std::string(); },
          "", "NONEMPTY"));
  sweep->add_flag("--retry-failed", args->retry_failed, "Run cells whose last run failed again (default: report them)");
  sweep->add_option("--stale-after", args->stale_after_s,
                    "A claim whose holder has not refreshed it for this long is taken over (default: 600; "
                    "1 s to a week: holders refresh at least every minute)")
      ->check(within<double>(1.0, 604800.0))
      ->type_name("SECONDS");
  sweep->footer(
      "\nCells are the Cartesian product of the sweep axes (file order, last axis fastest); each trains into\n"
      "<runs>/<config name>/<label>=<value>__... with `sugar train` in a child process, its output in\n"
      "<runs>/<config name>/.sweep/<cell>.out. Finished cells are skipped and interrupted ones resumed,\n"
      "from each run's status.json. Several sweeps may share one --runs directory (also over NFS): each cell\n"
      "is claimed, no cell runs twice, and the claim of a crashed host is taken over after --stale-after.\n"
      "Exit code 1 when a cell failed, 128 + the signal when stopped by one (130: Ctrl-C; run the same\n"
      "command again to continue). SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGUSR2 stop every running cell at\n"
      "its next step with a checkpoint; SIGUSR1 asks every running cell for a checkpoint and goes on.\n"
      "\nExamples:\n"
      "  sugar sweep configs/paper/resnet18-cifar10.yaml --dry-run\n"
      "  sugar sweep configs/paper/resnet18-cifar10.yaml --jobs 2 --set train.threads=1\n"
      "  sugar sweep configs/paper/resnet18-cifar10.yaml --set 'sweep.seed=[0]'   one seed only\n"
      "  sbatch --array=0-84 job.sh   where job.sh runs: exec sugar sweep GRID.yaml --cell env\n"
      "  (a Slurm script: README.md, 'Sweeps, and spreading a grid over a cluster')\n");
  return {sweep, [args] { return run_sweep_command(*args); }};
}

}  // namespace sugar::cli
