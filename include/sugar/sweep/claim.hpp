#pragma once
// Claims: which process runs a sweep cell, so that several `sugar sweep` processes (on one machine or
// on several machines sharing a file system, NFS included) can work through one grid and no cell runs
// twice at the same time.
//
// A cell's claims are numbered files in the claims directory, one per claim ever made:
//
//   <cell>.0.claim  <cell>.1.claim  ...     the newest generation says who holds the cell now
//
//   {"cell": "activation=relu__seed=0", "generation": 0, "state": "held", "host": "node17", "pid": 4242,
//    "token": "node17-4242-9f1c...", "claimed": "2024-05-01T10:00:00Z", "heartbeat": "2024-05-01T10:31:00Z",
//    "heartbeat_unix": 1714559460.25, "taken_over_from": "", "outcome": ""}
//
// state is "held" or "released" (with the outcome: finished, interrupted, failed, skipped, ...).
//
// Claiming generation g+1 means creating <cell>.<g+1>.claim with link(2) from a fully written
// temporary file: link is atomic and fails when the name exists, also on NFS (where O_CREAT|O_EXCL
// was long unreliable), and a reader never sees a half-written claim. A process may create
// generation g+1 only when generation g is released or stale (or g+1 = 0: never claimed). Files are
// never deleted while a grid exists, so exactly one of any number of processes racing for g+1 wins,
// and a process whose view is out of date fails with EEXIST and looks again. A holder only ever
// rewrites its own generation's file (heartbeat, release; write-to-temp + rename), so writers never
// collide. The files are also the cell's claim history.
//
// Staleness: a held claim whose heartbeat_unix is older than `stale_after` (default 10 minutes) by the
// reader's clock is stale: its holder stopped refreshing it (host crash, kill -9, network loss) and
// another process may take the cell over. Holders refresh every stale_after / 10. Hosts' clocks must
// agree to well within stale_after (NTP does). A holder that was frozen longer than stale_after
// (SIGSTOP, a suspended VM, a partition) finds a newer generation at its next refresh: it has lost
// the claim and must stop working on the cell at once (the sweep kills its training process).
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "sugar/clock.hpp"
#include "sugar/run_dir/status.hpp"

namespace sugar::sweep {

// Seconds since the Unix epoch (system clock); tests pass a fake one.
using UnixClock = std::function<double()>;

// One claim file's content.
struct ClaimRecord {
  std::string cell;
  uint64_t generation = 0;
  std::string state;  // "held" or "released"
  std::string host;
  int64_t pid = 0;
  std::string token;  // unique per claim: host, pid and a random number
  std::string claimed;    // ISO 8601 UTC
  std::string heartbeat;  // ISO 8601 UTC
  double heartbeat_unix = 0;
  std::string taken_over_from;  // "host pid N (heartbeat ...)" when this claim replaced a stale one
  std::string outcome;          // set on release

  std::string holder() const;  // "node17 pid 4242"
};

struct ClaimOptions {
  std::chrono::milliseconds stale_after{std::chrono::minutes(10)};
  UnixClock clock = unix_now;
  std::string host;  // default: this host's name
  int64_t pid = 0;   // default: this process
};

class ClaimStore;

// A claim held by this process. Moving it moves the ownership; destroying a held claim releases it
// with the outcome "abandoned" (the sweep releases with the real outcome first). The ClaimStore that
// made it must outlive it.
class Claim {
 public:
  Claim() = default;
  Claim(Claim&& other) noexcept;
  Claim& operator=(Claim&& other) noexcept;
  Claim(const Claim&) = delete;
  Claim& operator=(const Claim&) = delete;
  ~Claim();

  bool held() const { return store_ != nullptr; }
  const ClaimRecord& record() const { return record_; }
  const std::string& path() const { return path_; }

  // Rewrites the heartbeat. False (and the claim is no longer held) when a newer generation exists:
  // another process took the cell over.
  bool refresh();
  // Marks the claim released with `outcome`; the cell can then be claimed by anyone.
  void release(const std::string& outcome);

 private:
  friend class ClaimStore;
  const ClaimStore* store_ = nullptr;
  ClaimRecord record_;
  std::string path_;
};

struct ClaimAttempt {
  Claim claim;                             // held when the cell was claimed
  std::optional<ClaimRecord> holder;       // who holds it when it was not (a live claim)
  std::optional<ClaimRecord> taken_over;   // the stale claim this one replaced
};

class ClaimStore {
 public:
  // `dir` is created by the first claim; looking (current) creates nothing.
  explicit ClaimStore(std::string dir, ClaimOptions options = {});

  // Claims `cell` unless a live claim holds it.
  ClaimAttempt try_claim(const std::string& cell) const;

  // The newest generation's record, if the cell was ever claimed. An unreadable claim file reads as a
  // held claim by "unknown" whose heartbeat is the file's modification time.
  std::optional<ClaimRecord> current(const std::string& cell) const;

  // A held claim whose heartbeat is older than stale_after.
  bool is_stale(const ClaimRecord& record) const;
  // A held claim that is not stale.
  bool is_live(const ClaimRecord& record) const { return record.state == "held" && !is_stale(record); }

  std::string claim_path(const std::string& cell, uint64_t generation) const;
  const std::string& dir() const { return dir_; }
  const ClaimOptions& options() const { return options_; }
  // How often holders refresh: stale_after / 10, between 50 ms and 60 s.
  std::chrono::milliseconds refresh_interval() const;

 private:
  friend class Claim;
  std::optional<ClaimRecord> read(const std::string& cell, uint64_t generation) const;
  void write(const ClaimRecord& record) const;
  ClaimRecord stamped(ClaimRecord record) const;  // heartbeat set to now

  std::string dir_;
  ClaimOptions options_;
};

}  // namespace sugar::sweep
