// The run directory's owner (run_dir/lock.hpp), its status file (run_dir/status.hpp) and the training
// position a checkpoint records (train/training_position.hpp).
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <chrono>

#include "sugar/config/config_yaml.hpp"
#include "sugar/error.hpp"
#include "sugar/io/atomic_file.hpp"
#include "sugar/run_dir/layout.hpp"
#include "sugar/run_dir/lock.hpp"
#include "sugar/run_dir/status.hpp"
#include "sugar/train/training_position.hpp"
#include "sugar/clock.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sugar;

class RunDir : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "sugar-run-dir-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string file(const char* name) const { return run_dir::path_in(dir_, name); }

  // The message of the Error `acquire` throws, or "" when it took the lock.
  std::string refusal(const run_dir::LockOptions& options = {}) {
    try {
      run_dir::RunDirLock lock = run_dir::RunDirLock::acquire(dir_, "train", options);
      return "";
    } catch (const Error& e) {
      EXPECT_EQ(e.exit_code(), 1);
      return e.what();
    }
  }

  void write_status(const std::string& state, const std::string& host, int64_t pid, double heartbeat_unix) {
    const nlohmann::json status = {{"state", state}, {"host", host}, {"pid", pid}, {"epoch", 1}, {"epochs", 4},
                                   {"step", 10}, {"started", "2026-01-01T00:00:00Z"}, {"heartbeat", "2026-01-01T00:00:00Z"},
                                   {"heartbeat_unix", heartbeat_unix}, {"message", ""}};
    io::write_file_atomic(file(run_dir::kStatusFile), status.dump());
  }

  std::string dir_;
};

TEST_F(RunDir, ASecondOwnerIsRefusedWithTheHoldersPidAndHostUntilTheFirstLetsGo) {
  {
    run_dir::RunDirLock first = run_dir::RunDirLock::acquire(dir_, "train");
    EXPECT_TRUE(first.held());
    EXPECT_TRUE(first.created_lock_file());
    // An OFD lock belongs to the open file: a second acquire in this very process is refused too.
    const std::string why = refusal();
    EXPECT_NE(why.find("run directory " + dir_ + " is in use by pid " + std::to_string(::getpid()) + " on host " +
                       run_dir::host_name() + " (train, since "),
              std::string::npos)
        << why;
  }
  EXPECT_EQ(refusal(), "");  // released with its holder
}

// The holder takes the kernel lock first and writes its line just after; until then the file may still
// hold the line of the run before it. A loser in that window must name the new holder, not the old one
// (CI saw a --resume that lost to a --force name the finished run that --force was replacing).
TEST_F(RunDir, ALoserInTheHoldersFirstMillisecondsNamesTheNewHolderNotTheLinesEndedProcess) {
  const pid_t ended = ::fork();
  ASSERT_GE(ended, 0);
  if (ended == 0) ::_exit(0);
  int status = 0;
  ASSERT_EQ(::waitpid(ended, &status, 0), ended);  // reaped: its pid names no process now
  const std::string stale = nlohmann::json{{"pid", ended}, {"host", run_dir::host_name()}, {"since", "earlier"},
                                           {"purpose", "train"}}.dump() + "\n";
  io::write_file_atomic(file(run_dir::kLockFile), stale);

  // The new holder: its own open file description, locked, its line not yet written.
  const int holder = ::open(file(run_dir::kLockFile).c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(holder, 0);
  struct flock whole_file {};
  whole_file.l_type = F_WRLCK;
  whole_file.l_whence = SEEK_SET;
  ASSERT_EQ(::fcntl(holder, F_OFD_SETLK, &whole_file), 0);
  const std::string unwritten = refusal();  // never the ended run's pid
  EXPECT_NE(unwritten.find("in use by another process (its lock file does not say which)"), std::string::npos)
      << unwritten;

  std::thread writes_its_line_late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    const std::string line = nlohmann::json{{"pid", 4242}, {"host", "elsewhere"}}.dump() + "\n";
    ASSERT_EQ(::pwrite(holder, line.data(), line.size(), 0), static_cast<ssize_t>(line.size()));
    ASSERT_EQ(::ftruncate(holder, static_cast<off_t>(line.size())), 0);
  });
  const std::string why = refusal();
  writes_its_line_late.join();
  EXPECT_NE(why.find("in use by pid 4242 on host elsewhere"), std::string::npos) << why;
  ::close(holder);
}

TEST_F(RunDir, TheKernelLockDiesWithItsHolderProcess) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      run_dir::RunDirLock lock = run_dir::RunDirLock::acquire(dir_, "--resume");
      const char byte = 1;
      [[maybe_unused]] const ssize_t n = ::write(ready[1], &byte, 1);
      ::pause();
    } catch (...) {
    }
    ::_exit(1);
  }
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  EXPECT_NE(refusal().find("in use by pid " + std::to_string(child) + " on host " + run_dir::host_name() +
                           " (--resume, since"),
            std::string::npos);
  ::kill(child, SIGKILL);  // no cleanup at all
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_EQ(refusal(), "");
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST_F(RunDir, AbandonPutsTheDirectoryBackByteForByte) {
  {
    run_dir::RunDirLock lock = run_dir::RunDirLock::acquire(dir_, "train");
    lock.abandon();
  }
  EXPECT_FALSE(fs::exists(file(run_dir::kLockFile)));  // created, so removed
  io::write_file_atomic(file(run_dir::kLockFile), std::string("{\"pid\": 1, \"host\": \"old\"}\n"));
  struct stat before {};
  ASSERT_EQ(::stat(file(run_dir::kLockFile).c_str(), &before), 0);
  {
    run_dir::RunDirLock lock = run_dir::RunDirLock::acquire(dir_, "train");
    EXPECT_FALSE(lock.created_lock_file());
    EXPECT_NE(io::read_file(file(run_dir::kLockFile)).find(std::to_string(::getpid())), std::string::npos);
    lock.abandon();
  }
  struct stat after {};
  ASSERT_EQ(::stat(file(run_dir::kLockFile).c_str(), &after), 0);
  EXPECT_EQ(io::read_file(file(run_dir::kLockFile)), "{\"pid\": 1, \"host\": \"old\"}\n");
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
}

TEST_F(RunDir, ARunningStatusFromAnotherHostExcludesUntilItsHeartbeatIsStale) {
  // A file system that does not forward locks: the other host's owner is seen only in status.json.
  write_status("running", "node17", 4242, unix_now() - 30);
  const std::string why = refusal();
  EXPECT_NE(why.find("in use by pid 4242 on host node17"), std::string::npos) << why;
  EXPECT_NE(why.find("600 s old"), std::string::npos) << why;
  run_dir::LockOptions short_stale;
  short_stale.stale_after = std::chrono::seconds(20);
  EXPECT_EQ(refusal(short_stale), "");  // 30 s > 20 s: its host is taken to have crashed
  write_status("running", "node17", 4242, unix_now() - 3600);
  EXPECT_EQ(refusal(), "");
  // A heartbeat far in the future (clocks apart, a hand-made file) must not lock it out forever.
  write_status("running", "node17", 4242, unix_now() + 3600);
  EXPECT_EQ(refusal(), "");
  write_status("running", "node17", 4242, unix_now() + 60);  // a little ahead: alive
  EXPECT_NE(refusal(), "");
  // Finished or interrupted runs and this host's own history never exclude.
  write_status("interrupted", "node17", 4242, unix_now());
  EXPECT_EQ(refusal(), "");
  write_status("running", run_dir::host_name(), 999999, unix_now());
  EXPECT_EQ(refusal(), "");
}

TEST_F(RunDir, StatusFilesAreReadStrictly) {
  EXPECT_FALSE(run_dir::read_status(file(run_dir::kStatusFile)).has_value());
  EXPECT_EQ(run_dir::read_state(file(run_dir::kStatusFile)), "unknown");
  write_status("finished", "box", 12, 1714559490.5);
  const auto status = run_dir::read_status(file(run_dir::kStatusFile));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state, "finished");
  EXPECT_EQ(status->pid, 12);
  EXPECT_EQ(status->epoch, 1);
  EXPECT_DOUBLE_EQ(status->heartbeat_unix, 1714559490.5);
  // A status of an older Sugar has no heartbeat_unix: the ISO time gives it (2024-05-01T10:31:30Z is
  // 19844 days and 37890 s after the epoch).
  io::write_file_atomic(file(run_dir::kStatusFile),
                        std::string(R"({"state": "running", "host": "h", "pid": 1, "epoch": 0, "epochs": 2, "step": 0,
                           "started": "x", "heartbeat": "2024-05-01T10:31:30Z", "message": ""})"));
  EXPECT_DOUBLE_EQ(run_dir::read_status(file(run_dir::kStatusFile))->heartbeat_unix, 19844.0 * 86400 + 37890);
  const std::pair<const char*, const char*> damaged[] = {
      {"{\"state\": ", "invalid JSON"},
      {"[1, 2]", "expected a JSON object"},
      {R"({"state": "exploded"})", "unknown state 'exploded'"},
      {R"({"state": "running", "host": "h", "pid": -4})", "'pid' is missing or not a non-negative whole number"},
      {R"({"state": "running", "host": "h", "pid": 1, "epoch": "3"})", "'epoch'"},
  };
  for (const auto& [text, words] : damaged) {
    io::write_file_atomic(file(run_dir::kStatusFile), std::string(text));
    try {
      run_dir::read_status(file(run_dir::kStatusFile));
      ADD_FAILURE() << "accepted " << text;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(file(run_dir::kStatusFile)), std::string::npos) << e.what();
    }
  }
}

TEST(TrainingPosition, MetadataRoundTripsExactlyAndRecordsTheMathOnly) {
  const config::ExperimentConfig config =
      config::load_config_text("name: x\noptim: {lr: 0.1}\ntrain: {threads: 3, epochs: 7}\n", "x.yaml");
  train::TrainingPosition p;
  p.epoch = 3;
  p.batch = 5;
  p.step = 41;
  p.best_eval_top1 = 61.25;
  p.best_epoch = 2;
  p.last_lr = 0.1 / 3.0;  // not a short decimal: must come back bit-identical
  p.loss_sum = 123.456789012345678;
  p.correct = 70;
  p.seen = 80;
  p.train_seconds = 9.5;
  const io::Metadata metadata = train::position_metadata(p, config, "test");
  const train::TrainingPosition back = train::read_position(metadata, "ckpt");
  EXPECT_EQ(back.epoch, 3);
  EXPECT_EQ(back.batch, 5);
  EXPECT_EQ(back.step, 41);
  EXPECT_EQ(back.last_lr, 0.1 / 3.0);
  EXPECT_EQ(back.loss_sum, p.loss_sum);
  const auto math = train::recorded_math_values(metadata, "ckpt");
  ASSERT_TRUE(math.has_value());
  EXPECT_EQ(math->at("optim.lr"), "0.1");
  EXPECT_EQ(math->at("train.epochs"), "7");
  EXPECT_EQ(math->count("train.threads"), 0u);  // changes the speed, not the math
  EXPECT_EQ(math->count("name"), 0u);
  io::Metadata old = metadata;
  old.erase("config_math");
  EXPECT_FALSE(train::recorded_math_values(old, "ckpt").has_value());
}

TEST(TrainingPosition, ContradictoryOrNonFiniteCountersAreRefusedNamingTheEntry) {
  const config::ExperimentConfig config = config::load_config_text("name: x\n", "x.yaml");
  train::TrainingPosition p;
  p.epoch = 2;
  p.step = 20;
  const io::Metadata good = train::position_metadata(p, config, "test");
  const std::tuple<const char*, const char*, const char*> cases[] = {
      {"lr", "nan", "metadata 'lr' is not a finite number"},
      {"epoch", "-1", "metadata 'epoch' is not a non-negative integer"},
      {"best_epoch", "5", "'best_epoch' 5 is after 'epoch' 2"},
      {"train_correct", "9", "'train_correct' 9 exceeds 'train_seen' 0"},
      {"best_eval_top1", "250", "is not a percentage"},
      {"format", "sugar-checkpoint/9", "unknown checkpoint format"},
      {"config_math", "{\"optim.lr\": 1}", "entry 'optim.lr' is not a string"},
  };
  for (const auto& [key, value, words] : cases) {
    io::Metadata bad = good;
    bad[key] = value;
    try {
      train::read_position(bad, "runs/x/last.safetensors");
      train::recorded_math_values(bad, "runs/x/last.safetensors");
      ADD_FAILURE() << key << "=" << value << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).rfind("runs/x/last.safetensors", 0), 0u) << e.what();
    }
  }
}

}  // namespace
