// Sweeps: grid expansion order, run directory names, the plan's per-cell configs and one-line errors,
// claims (exclusive creation, stale takeover with a fake clock, a real race between threads), what a
// run directory's state means to a sweep, and the runner with a stand-in training program (a crash of
// one cell does not stop the others; busy cells are left alone).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "sugar/config/config_yaml.hpp"
#include "sugar/error.hpp"
#include "sugar/sweep/claim.hpp"
#include "sugar/sweep/grid.hpp"
#include "sugar/sweep/plan.hpp"
#include "sugar/sweep/run_state.hpp"
#include "sugar/sweep/runner.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sugar;
using namespace sugar::sweep;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "sugar-sweep-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string operator/(const std::string& name) const { return (fs::path(path_) / name).string(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void write(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs `body` and returns the sugar::Error it throws.
template <class Body>
Error error_of(Body body) {
  try {
    body();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected a sugar::Error";
  return Error("none");
}

// ---- grid expansion ---------------------------------------------------------------------------

TEST(SweepGrid, ExpandsAxesInFileOrderWithTheLastAxisFastest) {
  const std::vector<std::string> activations{"relu", "sugar(surrogate=bsilu)", "sugar(surrogate=nelu, alpha=0.1)"};
  const std::vector<std::string> seeds{"0", "1", "2", "3", "4"};
  const auto grid = expand_grid({{"model.activation", activations}, {"seed", seeds}});
  ASSERT_EQ(grid.size(), 15u);
  EXPECT_EQ(grid[0], (std::vector<Assignment>{{"model.activation", "relu"}, {"seed", "0"}}));
  EXPECT_EQ(grid[1], (std::vector<Assignment>{{"model.activation", "relu"}, {"seed", "1"}}));
  EXPECT_EQ(grid[5], (std::vector<Assignment>{{"model.activation", "sugar(surrogate=bsilu)"}, {"seed", "0"}}));
  EXPECT_EQ(grid[14], (std::vector<Assignment>{{"model.activation", "sugar(surrogate=nelu, alpha=0.1)"}, {"seed", "4"}}));
  for (size_t i = 0; i < grid.size(); ++i) {
    EXPECT_EQ(grid[i][0].value, activations[i / 5]) << i;
    EXPECT_EQ(grid[i][1].value, seeds[i % 5]) << i;
  }
}

TEST(SweepGrid, ThreeAxesCountLikeAnOdometer) {
  const auto grid = expand_grid({{"a", {"x", "y"}}, {"b", {"1", "2", "3"}}, {"c", {"p", "q"}}});
  ASSERT_EQ(grid.size(), 12u);
  // cell = 6 * a + 2 * b + c: cell 7 = (y, 1, q), cell 10 = (y, 3, p).
  EXPECT_EQ(grid[7], (std::vector<Assignment>{{"a", "y"}, {"b", "1"}, {"c", "q"}}));
  EXPECT_EQ(grid[10], (std::vector<Assignment>{{"a", "y"}, {"b", "3"}, {"c", "p"}}));
  EXPECT_EQ(expand_grid({}).size(), 1u);
  EXPECT_TRUE(expand_grid({})[0].empty());
}

TEST(SweepGrid, RefusesAbsurdlyLargeGrids) {
  std::vector<std::string> thousand;
  for (int i = 0; i < 1000; ++i) thousand.push_back(std::to_string(i));
  EXPECT_EQ(grid_size({{"seed", thousand}, {"train.epochs", {"1", "2"}}}), 2000u);
  const Error e = error_of([&] { grid_size({{"seed", thousand}, {"optim.lr", thousand}}); });
  EXPECT_EQ(e.kind(), ErrorKind::usage);
  EXPECT_NE(std::string(e.what()).find("more than 100000 cells"), std::string::npos) << e.what();
}

// ---- naming -----------------------------------------------------------------------------------

TEST(SweepNaming, LabelsAreTheShortestTailsNoOtherAxisShares) {
  EXPECT_EQ(axis_labels({"model.activation", "seed"}), (std::vector<std::string>{"activation", "seed"}));
  EXPECT_EQ(axis_labels({"model.name", "data.name", "optim.lr"}),
            (std::vector<std::string>{"model.name", "data.name", "lr"}));
  EXPECT_EQ(axis_labels({"data.augment.crop_padding", "data.augment.hflip"}),
            (std::vector<std::string>{"crop_padding", "hflip"}));
}

TEST(SweepNaming, ValuesAreEscapedReadablyAndReversibly) {
  EXPECT_EQ(cell_name({"activation", "seed"}, {"sugar(surrogate=nelu, alpha=0.1)", "0"}),
            "activation=sugar(surrogate=nelu,alpha=0.1)__seed=0");
  EXPECT_EQ(cell_name({"activation", "lr"}, {"relu", "5.0e-4"}), "activation=relu__lr=5.0e-4");
  EXPECT_EQ(escape_name_value("/data/cifar 10"), "%2Fdata%2Fcifar%2010");
  EXPECT_EQ(escape_name_value("50%"), "50%25");
  EXPECT_EQ(escape_name_value("a:b*c"), "a%3Ab%2Ac");
  EXPECT_EQ(escape_name_value("\xC3\xA9"), "%C3%A9");  // é in UTF-8
  EXPECT_EQ(escape_name_value(" x"), "%20x");         // only a space after a comma is dropped
}

TEST(SweepNaming, LongNamesEndInAHashOfTheWholeName) {
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  const std::string full = "v=" + std::string(300, 'x');
  const std::string name = cell_name({"v"}, {std::string(300, 'x')});
  // Python: the first 183 bytes of the name, '~', format(fnv1a64(name), '016x').
  EXPECT_EQ(name, full.substr(0, 183) + "~771a7dba4845279c");
  EXPECT_EQ(name.size(), kMaxNameBytes);
  const std::string other = cell_name({"v"}, {std::string(299, 'x') + "y"});
  EXPECT_EQ(other.substr(0, 184), name.substr(0, 184));
  EXPECT_NE(other, name);
  EXPECT_EQ(cell_name({"v"}, {std::string(198, 'x')}).size(), 200u);  // 200 bytes fit as they are
  EXPECT_EQ(cell_name({"v"}, {std::string(198, 'x')}).find('~'), std::string::npos);
}

// ---- plan -------------------------------------------------------------------------------------

const char* const kGridConfig =
    "name: grid\n"
    "model: {name: vgg11}\n"
    "data: {name: cifar10, root: /nowhere}\n"
    "train: {epochs: 1}\n"
    "sweep:\n"
    "  model.activation: [relu, \"sugar(surrogate=bsilu)\"]\n"
    "  optim.lr: [1e-1, 0.05]\n";

TEST(SweepPlan, ResolvesEveryCellWithItsRunDirectory) {
  TempDir dir;
  write(dir / "grid.yaml", kGridConfig);
  const SweepPlan plan = plan_sweep(dir / "grid.yaml", {"train.threads=1"}, dir / "runs");
  EXPECT_EQ(plan.grid_dir, dir / "runs/grid");
  EXPECT_EQ(plan.sweep_dir, dir / "runs/grid/.sweep");
  ASSERT_EQ(plan.cells.size(), 4u);
  // Named by the values as written (1e-1, not the canonical 0.1; the short activation spec).
  const std::vector<std::string> names{"activation=relu__lr=1e-1", "activation=relu__lr=0.05",
                                       "activation=sugar(surrogate=bsilu)__lr=1e-1",
                                       "activation=sugar(surrogate=bsilu)__lr=0.05"};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(plan.cells[i].index, i);
    EXPECT_EQ(plan.cells[i].name, names[i]);
    EXPECT_EQ(plan.cells[i].run_dir, dir / ("runs/grid/" + names[i]));
    EXPECT_TRUE(plan.cells[i].config.sweep.empty());
    EXPECT_EQ(plan.cells[i].config.train.threads, 1);
    EXPECT_EQ(plan.cells[i].config.name, "grid");
  }
  EXPECT_EQ(plan.cells[2].config.model.activation, "sugar(forward=relu, surrogate=bsilu(alpha=1.67), region=all)");
  EXPECT_EQ(plan.cells[2].config.optim.lr, 0.1);
  EXPECT_EQ(plan.cells[3].config.optim.lr, 0.05);
  EXPECT_EQ(plan.cells[2].overrides_text(), "model.activation=sugar(surrogate=bsilu) optim.lr=1e-1");
  EXPECT_EQ(plan.base.sweep.size(), 2u);
}

TEST(SweepPlan, OverridesCanReshapeTheGrid) {
  TempDir dir;
  write(dir / "grid.yaml", kGridConfig);
  const SweepPlan plan = plan_sweep(dir / "grid.yaml", {"sweep.optim.lr=[0.2]", "sweep.seed=[0, 1]"}, dir / "runs");
  ASSERT_EQ(plan.cells.size(), 4u);  // 2 activations x 1 lr x 2 seeds
  EXPECT_EQ(plan.cells[1].name, "activation=relu__lr=0.2__seed=1");
  EXPECT_EQ(plan.cells[1].config.seed, 1u);
}

TEST(SweepPlan, AnInvalidCellIsOneLineNamingItsValues) {
  TempDir dir;
  write(dir / "grid.yaml",
        "schedule: {warmup_epochs: 2}\ntrain: {epochs: 5}\nsweep:\n  schedule.name: [cosine, step]\n");
  const Error e = error_of([&] { plan_sweep(dir / "grid.yaml", {}, dir / "runs"); });
  EXPECT_EQ(e.kind(), ErrorKind::usage);
  const std::string message = e.what();
  EXPECT_EQ(message.rfind(dir / "grid.yaml: sweep cell 1 (schedule.name=step): ", 0), 0u) << message;
  EXPECT_NE(message.find("schedule.warmup_epochs: only the cosine schedule has a warm-up"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

TEST(SweepPlan, RefusesAConfigWithoutAGridAndAnOverrideOfAnAxis) {
  TempDir dir;
  write(dir / "single.yaml", "seed: 3\n");
  Error e = error_of([&] { plan_sweep(dir / "single.yaml", {}, dir / "runs"); });
  EXPECT_EQ(e.kind(), ErrorKind::usage);
  EXPECT_NE(std::string(e.what()).find("has no sweep grid"), std::string::npos) << e.what();
  // ... but an override may add the grid.
  EXPECT_EQ(plan_sweep(dir / "single.yaml", {"sweep.seed=[0,1,2]"}, dir / "runs").cells.size(), 3u);

  write(dir / "grid.yaml", kGridConfig);
  e = error_of([&] { plan_sweep(dir / "grid.yaml", {"optim.lr=0.3"}, dir / "runs"); });
  EXPECT_EQ(e.kind(), ErrorKind::usage);
  EXPECT_EQ(std::string(e.what()),
            "--set optim.lr=0.3: optim.lr is a sweep axis, so every cell sets it; change its values with "
            "--set sweep.optim.lr=[...]");
}

TEST(SweepPlan, QuotedValuesReadBackAsWritten) {
  EXPECT_EQ(assignment_override({"seed", "0"}), "seed=0");
  EXPECT_EQ(assignment_override({"optim.lr", "1e-1"}), "optim.lr=1e-1");
  EXPECT_EQ(assignment_override({"model.activation", "sugar(surrogate=bsilu)"}),
            "model.activation=\"sugar(surrogate=bsilu)\"");
  TempDir dir;
  write(dir / "roots.yaml", "sweep:\n  data.root: [\"/d/a b\", \"/d/c: d\"]\n");
  const SweepPlan plan = plan_sweep(dir / "roots.yaml", {}, dir / "runs");
  ASSERT_EQ(plan.cells.size(), 2u);
  EXPECT_EQ(plan.cells[0].config.data.root, "/d/a b");
  EXPECT_EQ(plan.cells[1].config.data.root, "/d/c: d");
  EXPECT_EQ(plan.cells[1].name, "root=%2Fd%2Fc%3A%20d");
  EXPECT_EQ(plan.cells[1].run_dir, dir / "runs/roots/root=%2Fd%2Fc%3A%20d");
}

// ---- claims -----------------------------------------------------------------------------------

struct FakeClock {
  double now = 1.7e9;
  UnixClock function() {
    return [this] { return now; };
  }
};

ClaimOptions options(FakeClock& clock, const std::string& host, int64_t pid) {
  ClaimOptions o;
  o.stale_after = std::chrono::seconds(10);
  o.clock = clock.function();
  o.host = host;
  o.pid = pid;
  return o;
}

TEST(SweepClaims, TheFirstClaimWinsAndOthersSeeItsHolder) {
  TempDir dir;
  FakeClock clock;
  const ClaimStore a(dir / "claims", options(clock, "hostA", 11));
  const ClaimStore b(dir / "claims", options(clock, "hostB", 22));
  EXPECT_FALSE(a.current("cell").has_value());
  EXPECT_FALSE(fs::exists(dir / "claims"));  // looking creates nothing

  ClaimAttempt first = a.try_claim("cell");
  ASSERT_TRUE(first.claim.held());
  EXPECT_EQ(first.claim.record().generation, 0u);
  EXPECT_EQ(first.claim.path(), dir / "claims/cell.0.claim");
  EXPECT_TRUE(fs::exists(dir / "claims/cell.0.claim"));
  EXPECT_FALSE(first.taken_over.has_value());

  clock.now += 9.5;  // not yet stale (10 s)
  ClaimAttempt second = b.try_claim("cell");
  EXPECT_FALSE(second.claim.held());
  ASSERT_TRUE(second.holder.has_value());
  EXPECT_EQ(second.holder->holder(), "hostA pid 11");
  EXPECT_EQ(second.holder->heartbeat_unix, 1.7e9);

  ASSERT_TRUE(first.claim.refresh());
  EXPECT_EQ(b.current("cell")->heartbeat_unix, 1.7e9 + 9.5);
  clock.now += 9.5;  // 9.5 s after the refresh: still live
  EXPECT_FALSE(b.try_claim("cell").claim.held());

  first.claim.release("finished");
  EXPECT_FALSE(first.claim.held());
  const ClaimRecord released = *b.current("cell");
  EXPECT_EQ(released.state, "released");
  EXPECT_EQ(released.outcome, "finished");

  ClaimAttempt third = b.try_claim("cell");
  ASSERT_TRUE(third.claim.held());
  EXPECT_EQ(third.claim.record().generation, 1u);
  EXPECT_FALSE(third.taken_over.has_value());  // a released claim is not a takeover
  EXPECT_EQ(third.claim.record().host, "hostB");
}

TEST(SweepClaims, AClaimOfADeadProcessOnThisHostIsStaleAtOnce) {
  TempDir dir;
  FakeClock clock;
  const pid_t child = ::fork();  // a pid that surely belonged to a process that is gone
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  const ClaimStore dead(dir / "claims", options(clock, "hostA", child));
  const ClaimStore alive(dir / "claims", options(clock, "hostA", ::getpid()));
  const ClaimStore elsewhere(dir / "claims", options(clock, "hostB", 22));
  ASSERT_TRUE(dead.try_claim("cell").claim.held());
  // Without waiting for the heartbeat: the holder lived on this host and no longer exists. (The Claim
  // object above is gone too; its release marked the claim released, so hold it again by hand.)
  ClaimRecord held = *alive.current("cell");
  EXPECT_EQ(held.state, "released");
  ClaimAttempt again = dead.try_claim("cell");
  ASSERT_TRUE(again.claim.held());
  EXPECT_TRUE(alive.is_stale(*alive.current("cell")));   // same host, dead pid
  EXPECT_FALSE(elsewhere.is_stale(*elsewhere.current("cell")));  // another host cannot look at our pids
  ClaimAttempt taken = alive.try_claim("cell");
  EXPECT_TRUE(taken.claim.held());
  EXPECT_TRUE(taken.taken_over.has_value());
}

TEST(SweepClaims, AStaleClaimIsTakenOverAndItsHolderFindsOut) {
  TempDir dir;
  FakeClock clock;
  const ClaimStore a(dir / "claims", options(clock, "hostA", 11));
  const ClaimStore b(dir / "claims", options(clock, "hostB", 22));
  ClaimAttempt first = a.try_claim("cell");
  ASSERT_TRUE(first.claim.held());
  clock.now += 10.5;  // hostA stopped refreshing more than 10 s ago
  EXPECT_TRUE(b.is_stale(*b.current("cell")));
  ClaimAttempt second = b.try_claim("cell");
  ASSERT_TRUE(second.claim.held());
  EXPECT_EQ(second.claim.record().generation, 1u);
  ASSERT_TRUE(second.taken_over.has_value());
  EXPECT_EQ(second.taken_over->holder(), "hostA pid 11");
  EXPECT_EQ(second.claim.record().taken_over_from.rfind("hostA pid 11 (heartbeat ", 0), 0u);

  // hostA wakes up: its refresh finds generation 1 and it no longer holds the cell.
  EXPECT_FALSE(first.claim.refresh());
  EXPECT_FALSE(first.claim.held());
  first.claim.release("finished");  // no effect: the history stays as it was
  EXPECT_NE(read(dir / "claims/cell.0.claim").find("\"state\": \"held\""), std::string::npos);
  EXPECT_EQ(a.current("cell")->host, "hostB");
  EXPECT_TRUE(a.is_live(*a.current("cell")));
}

TEST(SweepClaims, RacingProcessesHaveExactlyOneWinner) {
  TempDir dir;
  FakeClock clock;
  // Twice: for a cell never claimed (generation 0), and for one whose claim went stale (generation 1).
  for (const bool stale_first : {false, true}) {
    const std::string cell = stale_first ? "stale" : "fresh";
    if (stale_first) {
      write(dir / "claims/stale.0.claim", "{\"state\": \"held\", \"host\": \"dead\", \"pid\": 1, \"heartbeat_unix\": 1.0}\n");
    }
    constexpr int kRacers = 8;
    std::atomic<int> ready{0};
    std::atomic<int> winners{0};
    std::atomic<int> losers{0};
    std::vector<std::thread> racers;
    for (int i = 0; i < kRacers; ++i) {
      racers.emplace_back([&, i] {
        const ClaimStore store(dir / "claims", options(clock, "racer" + std::to_string(i), 100 + i));
        ++ready;
        while (ready.load() < kRacers) {
        }
        ClaimAttempt attempt = store.try_claim(cell);
        if (attempt.claim.held()) {
          ++winners;
          while (losers.load() + winners.load() < kRacers) std::this_thread::yield();  // hold it while the others look
        } else {
          EXPECT_EQ(attempt.holder->host.rfind("racer", 0), 0u);
          ++losers;
        }
        attempt.claim = Claim();
      });
    }
    for (std::thread& t : racers) t.join();
    EXPECT_EQ(winners.load(), 1) << cell;
    const uint64_t taken = stale_first ? 1 : 0;
    EXPECT_TRUE(fs::exists(dir / (("claims/" + cell + ".") + std::to_string(taken) + ".claim")));
    // Nobody made a further generation; the winner released its own when done.
    EXPECT_FALSE(fs::exists(dir / (("claims/" + cell + ".") + std::to_string(taken + 1) + ".claim")));
    EXPECT_EQ(ClaimStore(dir / "claims").current(cell)->outcome, "abandoned");
  }
}

TEST(SweepClaims, AnUnreadableClaimIsHeldUntilItsFileIsOld) {
  TempDir dir;
  write(dir / "claims/cell.0.claim", "not json");
  FakeClock clock;
  clock.now = unix_now();
  const ClaimStore store(dir / "claims", options(clock, "me", 5));
  ClaimAttempt attempt = store.try_claim("cell");
  EXPECT_FALSE(attempt.claim.held());
  EXPECT_EQ(attempt.holder->host, "unknown");
  clock.now += 11;
  attempt = store.try_claim("cell");
  ASSERT_TRUE(attempt.claim.held());
  EXPECT_EQ(attempt.claim.record().generation, 1u);
}

// ---- run directory states ---------------------------------------------------------------------

config::ExperimentConfig small_config(const std::vector<std::string>& overrides = {}) {
  return config::load_config_text("name: g\nschedule: {name: constant}\ntrain: {epochs: 1, threads: 1}\n", "g.yaml",
                                  overrides);
}

// status.json as `sugar train` writes it (run_dir/status.hpp reads every field).
std::string status_json(const std::string& state, int64_t epoch, int64_t epochs, const std::string& message = "") {
  return "{\"state\": \"" + state + "\", \"host\": \"test-host\", \"pid\": 1, \"epoch\": " + std::to_string(epoch) +
         ", \"epochs\": " + std::to_string(epochs) + ", \"step\": 0, \"started\": \"2026-01-01T00:00:00Z\", "
         "\"heartbeat\": \"2026-01-01T00:00:00Z\", \"heartbeat_unix\": 1767225600, \"message\": \"" + message + "\"}\n";
}

void make_run(const std::string& dir, const config::ExperimentConfig& config, const std::string& state,
              int64_t epoch, bool checkpoint, const std::string& message = "") {
  write(dir + "/config.yaml", config::to_yaml(config));
  write(dir + "/status.json", status_json(state, epoch, config.train.epochs, message));
  if (checkpoint) write(dir + "/last.safetensors", "x");
}

TEST(SweepRunState, ReadsStatusJsonAgainstTheCellsConfig) {
  TempDir dir;
  const config::ExperimentConfig cell = small_config();
  EXPECT_EQ(inspect_run(dir / "absent", cell).state, RunState::absent);
  fs::create_directories(dir / "empty");
  EXPECT_EQ(inspect_run(dir / "empty", cell).state, RunState::absent);

  make_run(dir / "finished", cell, "finished", 1, true);
  EXPECT_EQ(inspect_run(dir / "finished", cell).state, RunState::finished);

  make_run(dir / "interrupted", cell, "interrupted", 0, true);
  RunInspection r = inspect_run(dir / "interrupted", cell);
  EXPECT_EQ(r.state, RunState::resumable);
  EXPECT_EQ(r.status, "interrupted");
  EXPECT_TRUE(r.resume_overrides.empty());

  make_run(dir / "died", cell, "running", 0, true);  // its process died: only the claim knew
  EXPECT_EQ(inspect_run(dir / "died", cell).state, RunState::resumable);
  make_run(dir / "died-early", cell, "running", 0, false);
  EXPECT_EQ(inspect_run(dir / "died-early", cell).state, RunState::restart);

  make_run(dir / "failed", cell, "failed", 0, true, "loss is nan");
  r = inspect_run(dir / "failed", cell);
  EXPECT_EQ(r.state, RunState::failed);
  EXPECT_EQ(r.detail, "loss is nan");

  write(dir / "not-a-run/notes.txt", "mine");
  r = inspect_run(dir / "not-a-run", cell);
  EXPECT_EQ(r.state, RunState::conflict);
  EXPECT_NE(r.detail.find("not a Sugar run directory"), std::string::npos) << r.detail;
}

TEST(SweepRunState, ConfigChangesAreRefusedUnlessTheyLeaveTheMathAlone) {
  TempDir dir;
  make_run(dir / "run", small_config(), "interrupted", 0, true);

  RunInspection r = inspect_run(dir / "run", small_config({"optim.lr=0.05", "seed=4"}));
  EXPECT_EQ(r.state, RunState::conflict);
  EXPECT_EQ(r.detail,
            "it holds a run of another config (config.yaml differs in seed, optim.lr); use another --runs directory, "
            "or remove the run");

  r = inspect_run(dir / "run", small_config({"train.threads=2", "data.root=/elsewhere"}));
  EXPECT_EQ(r.state, RunState::resumable);
  EXPECT_EQ(r.resume_overrides, (std::vector<std::string>{"data.root=/elsewhere", "train.threads=2"}));

  // A finished constant-schedule run can be extended; a cosine one cannot.
  make_run(dir / "done", small_config(), "finished", 1, true);
  r = inspect_run(dir / "done", small_config({"train.epochs=3"}));
  EXPECT_EQ(r.state, RunState::resumable);
  EXPECT_EQ(r.resume_overrides, (std::vector<std::string>{"train.epochs=3"}));
  make_run(dir / "cosine", small_config({"schedule.name=cosine"}), "finished", 1, true);
  r = inspect_run(dir / "cosine", small_config({"schedule.name=cosine", "train.epochs=3"}));
  EXPECT_EQ(r.state, RunState::conflict);
  EXPECT_NE(r.detail.find("train.epochs 1, the cell 3"), std::string::npos) << r.detail;
}

// ---- the runner, with a stand-in for `sugar train` ----------------------------------------------

// Writes the run directory as a finished `sugar train` would, except for seed 1, which crashes.
const char* const kFakeTrain =
    "#!/bin/sh\n"
    "# args: train CONFIG --out DIR --no-progress\n"
    "if grep -q '^seed: 1$' \"$2\"; then kill -9 $$; fi\n"
    "mkdir -p \"$4\" && cp \"$2\" \"$4/config.yaml\"\n"
    "echo '{\"state\": \"finished\", \"host\": \"fake\", \"pid\": 1, \"epoch\": 1, \"epochs\": 1, \"step\": 1, "
    "\"started\": \"2026-01-01T00:00:00Z\", \"heartbeat\": \"2026-01-01T00:00:00Z\", \"message\": \"\"}' > \"$4/status.json\"\n"
    "echo \"trained $4\"\n";

TEST(SweepRunner, ACrashingCellFailsAloneAndFinishedCellsAreSkipped) {
  TempDir dir;
  write(dir / "fake-train", kFakeTrain);
  ::chmod((dir / "fake-train").c_str(), 0755);
  write(dir / "g.yaml", "train: {epochs: 1, threads: 1}\nsweep: {seed: [0, 1, 2]}\n");
  const SweepPlan plan = plan_sweep(dir / "g.yaml", {}, dir / "runs");
  SweepOptions options;
  options.jobs = 2;
  options.program = dir / "fake-train";
  options.poll_interval = std::chrono::milliseconds(10);

  SweepSummary summary = run_sweep(plan, options);
  ASSERT_EQ(summary.cells.size(), 3u);
  EXPECT_EQ(summary.cells[0].outcome, CellOutcome::finished);
  EXPECT_EQ(summary.cells[0].action, "train");
  EXPECT_EQ(summary.cells[1].outcome, CellOutcome::failed);
  EXPECT_EQ(summary.cells[1].detail.rfind("killed by signal 9", 0), 0u) << summary.cells[1].detail;
  EXPECT_EQ(summary.cells[2].outcome, CellOutcome::finished);
  EXPECT_EQ(summary.exit_code(), 1);
  EXPECT_NE(read(dir / "runs/g/.sweep/seed=0.out").find("trained " + dir / "runs/g/seed=0"), std::string::npos);
  const ClaimStore claims(plan.sweep_dir);
  EXPECT_EQ(claims.current("seed=0")->outcome, "finished");
  EXPECT_EQ(claims.current("seed=1")->outcome, "failed");

  // Again, and cell 2 alone: finished cells are skipped without a claim.
  summary = run_sweep(plan, options);
  EXPECT_EQ(summary.cells[0].outcome, CellOutcome::skipped);
  EXPECT_EQ(summary.cells[1].outcome, CellOutcome::failed);
  EXPECT_EQ(summary.cells[2].outcome, CellOutcome::skipped);
  EXPECT_FALSE(fs::exists(plan.sweep_dir + "/seed=0.1.claim"));
  options.only_cell = 2;
  summary = run_sweep(plan, options);
  ASSERT_EQ(summary.cells.size(), 1u);
  EXPECT_EQ(summary.cells[0].index, 2u);
  EXPECT_EQ(summary.cells[0].outcome, CellOutcome::skipped);
  EXPECT_EQ(summary.exit_code(), 0);
}

TEST(SweepRunner, ACellHeldByALiveClaimIsLeftToItsHolder) {
  TempDir dir;
  write(dir / "fake-train", kFakeTrain);
  ::chmod((dir / "fake-train").c_str(), 0755);
  write(dir / "g.yaml", "train: {epochs: 1, threads: 1}\nsweep: {seed: [0, 2]}\n");
  const SweepPlan plan = plan_sweep(dir / "g.yaml", {}, dir / "runs");
  ClaimOptions elsewhere;
  elsewhere.host = "elsewhere";
  elsewhere.pid = 7;
  const ClaimStore other(plan.sweep_dir, elsewhere);
  ClaimAttempt held = other.try_claim("seed=2");
  ASSERT_TRUE(held.claim.held());

  SweepOptions options;
  options.program = dir / "fake-train";
  options.poll_interval = std::chrono::milliseconds(10);
  const SweepSummary summary = run_sweep(plan, options);
  EXPECT_EQ(summary.cells[0].outcome, CellOutcome::finished);
  EXPECT_EQ(summary.cells[1].outcome, CellOutcome::busy);
  EXPECT_EQ(summary.cells[1].detail.rfind("claimed by elsewhere pid 7", 0), 0u) << summary.cells[1].detail;
  EXPECT_FALSE(fs::exists(plan.cells[1].run_dir));
  EXPECT_EQ(summary.exit_code(), 0);
}

// A training that runs until it is stopped, and on SIGTERM ends as "interrupted" like `sugar train`.
const char* const kSlowTrain =
    "#!/bin/sh\n"
    "dir=$4\n"
    "mkdir -p \"$dir\" && cp \"$2\" \"$dir/config.yaml\"\n"
    "status() { printf '{\"state\": \"%s\", \"host\": \"fake\", \"pid\": 1, \"epoch\": 0, \"epochs\": 1, \"step\": 0, '"
    "'\"started\": \"2026-01-01T00:00:00Z\", \"heartbeat\": \"2026-01-01T00:00:00Z\", \"message\": \"\"}\\n' \"$1\" > \"$dir/status.json\"; }\n"
    "trap 'status interrupted; exit 130' TERM\n"
    "status running  # trap set: ready\n"
    "while true; do sleep 0.05; done\n";

TEST(SweepRunner, ASignalStopsTheSweepAndInterruptsItsCells) {
  TempDir dir;
  write(dir / "slow-train", kSlowTrain);
  ::chmod((dir / "slow-train").c_str(), 0755);
  write(dir / "g.yaml", "train: {epochs: 1, threads: 1}\nsweep: {seed: [0, 1, 2]}\n");
  const SweepPlan plan = plan_sweep(dir / "g.yaml", {}, dir / "runs");
  SweepOptions options;
  options.jobs = 2;
  options.program = dir / "slow-train";
  options.poll_interval = std::chrono::milliseconds(10);
  std::thread terminator([&] {
    for (const size_t cell : {0, 1}) {
      while (!fs::exists(plan.cells[cell].run_dir + "/status.json")) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(::getpid(), SIGTERM);
  });
  const SweepSummary summary = run_sweep(plan, options);
  terminator.join();
  ASSERT_EQ(summary.cells.size(), 3u);
  EXPECT_TRUE(summary.stopped);
  EXPECT_EQ(summary.cells[0].outcome, CellOutcome::interrupted);
  EXPECT_EQ(summary.cells[1].outcome, CellOutcome::interrupted);
  EXPECT_EQ(summary.cells[2].outcome, CellOutcome::not_started);
  EXPECT_EQ(summary.exit_code(), 128 + SIGTERM);  // as `sugar train` stopped by the signal
  const ClaimStore claims(plan.sweep_dir);
  EXPECT_EQ(claims.current("seed=0")->outcome, "interrupted");  // released: the next sweep needs no wait
  EXPECT_EQ(inspect_run(plan.cells[0].run_dir, plan.cells[0].config).state, RunState::restart);  // no checkpoint
}

TEST(SweepRunner, ACellWhoseClaimIsTakenOverIsKilled) {
  TempDir dir;
  write(dir / "slow-train", kSlowTrain);
  ::chmod((dir / "slow-train").c_str(), 0755);
  write(dir / "g.yaml", "train: {epochs: 1, threads: 1}\nsweep: {seed: [0]}\n");
  const SweepPlan plan = plan_sweep(dir / "g.yaml", {}, dir / "runs");
  SweepOptions options;
  options.program = dir / "slow-train";
  options.poll_interval = std::chrono::milliseconds(10);
  options.stale_after = std::chrono::milliseconds(500);  // refreshed every 50 ms
  // Someone who (wrongly) judged this sweep dead claims generation 1 while the cell trains.
  std::thread usurper([&] {
    while (read(plan.cells[0].run_dir + "/status.json").find("running") == std::string::npos) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    write(plan.sweep_dir + "/seed=0.1.claim",
          "{\"state\": \"held\", \"host\": \"usurper\", \"pid\": 9, \"heartbeat_unix\": " + std::to_string(unix_now()) + "}");
  });
  const SweepSummary summary = run_sweep(plan, options);
  usurper.join();
  ASSERT_EQ(summary.cells.size(), 1u);
  EXPECT_EQ(summary.cells[0].outcome, CellOutcome::lost);
  EXPECT_EQ(summary.exit_code(), 1);
  // Killed without a chance to write anything: its status still says running.
  EXPECT_NE(read(plan.cells[0].run_dir + "/status.json").find("\"running\""), std::string::npos);
  EXPECT_EQ(ClaimStore(plan.sweep_dir).current("seed=0")->host, "usurper");
}

}  // namespace
