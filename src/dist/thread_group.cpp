// N communicators connected inside one process, each used by one thread playing one rank: what the
// tests of data parallelism run on when there is no mpirun. They share one table of slots; a
// collective runs on each member's communication thread, like MPI's, in three phases:
//   1. publish: each rank puts its buffer and the collective's signature in its slot; barrier;
//   2. compute: each rank checks that all signatures agree, then computes its result from the other
//      ranks' buffers into scratch of its own (nobody writes while others may read); barrier;
//   3. write:   each rank copies its result into its own buffer.
// Sums run over ranks 0, 1, ..., N-1 in that order on every rank, so all ranks end with bit-identical
// values, as with MPI's reductions of one communicator.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "common.hpp"
#include "comm_thread.hpp"
#include "sugar/error.hpp"

namespace sugar::dist {

namespace {

// A reusable barrier that gives up: a rank thread that dies in a test (a failed assertion returns
// from it) must fail the others' collectives instead of hanging the test.
class TimedBarrier {
 public:
  explicit TimedBarrier(int size) : size_(size) {}

  void arrive_and_wait(int rank) {
    std::unique_lock lock(mutex_);
    const uint64_t generation = generation_;
    if (++arrived_ == size_) {
      arrived_ = 0;
      ++generation_;
      all_arrived_.notify_all();
      return;
    }
    if (!all_arrived_.wait_for(lock, timeout, [&] { return generation_ != generation; }))
      throw Error(detail::concat("thread group: rank ", rank, " waited ", timeout.count(),
                                 " s for the other ranks at a collective (did one of them stop issuing collectives?)"));
  }

  static constexpr std::chrono::seconds timeout{60};

 private:
  std::mutex mutex_;
  std::condition_variable all_arrived_;
  int size_;
  int arrived_ = 0;
  uint64_t generation_ = 0;
};

// What a rank says it is calling; every rank of a collective must say the same.
struct Signature {
  const char* op = "";
  int64_t count = 0;
  int root = 0;
  bool operator==(const Signature& o) const { return std::strcmp(op, o.op) == 0 && count == o.count && root == o.root; }
};

struct Slot {
  Signature signature;
  const void* data = nullptr;
};

struct Group {
  explicit Group(int size) : barrier(size), slots(size) {}
  TimedBarrier barrier;
  std::vector<Slot> slots;  // slot r is written by rank r's communication thread only
};

std::string describe(const Signature& s) {
  std::string text = detail::concat(s.op, " of ", s.count, " values");
  if (std::strcmp(s.op, "broadcast") == 0) text += detail::concat(" from root ", s.root);
  return text;
}

class ThreadGroupMember final : public Communicator {
 public:
  ThreadGroupMember(std::shared_ptr<Group> group, int rank)
      : group_(std::move(group)), rank_(rank), thread_(detail::concat("thread group rank ", rank)) {}
  ~ThreadGroupMember() override { thread_.stop(); }

  int rank() const override { return rank_; }
  int size() const override { return static_cast<int>(group_->slots.size()); }
  std::string description() const override { return detail::concat("thread group, ", size(), " ranks"); }

  Request allreduce_sum_async(float* data, int64_t count) override {
    check_count("allreduce_sum", count);
    return thread_.submit(
        [=, this] { reduce(data, count, "allreduce_sum(float)", [](float a, float b) { return a + b; }); });
  }
  void allreduce_sum(double* data, int64_t count) override {
    check_count("allreduce_sum", count);
    thread_
        .submit([=, this] { reduce(data, count, "allreduce_sum(double)", [](double a, double b) { return a + b; }); })
        .wait();
  }
  void allreduce_max(int64_t* data, int64_t count) override {
    check_count("allreduce_max", count);
    thread_
        .submit([=, this] {
          reduce(data, count, "allreduce_max(int64)", [](int64_t a, int64_t b) { return std::max(a, b); });
        })
        .wait();
  }
  void allgather(const double* send, int64_t count, double* receive) override {
    check_count("allgather", count);
    thread_
        .submit([=, this] {
          std::vector<double> result;
          run({"allgather", count, 0}, send, [&] {
            result.resize(static_cast<size_t>(count) * size());
            for (int r = 0; r < size(); ++r)
              std::copy_n(static_cast<const double*>(group_->slots[r].data), count, result.data() + r * count);
          });
          std::copy(result.begin(), result.end(), receive);
        })
        .wait();
  }
  void broadcast(float* data, int64_t count, int root) override {
    check_count("broadcast", count);
    SUGAR_CHECK(root >= 0 && root < size(), "dist::broadcast: root ", root, " is not a rank (the group has ", size(),
                " ranks)");
    thread_
        .submit([=, this] {
          std::vector<float> result;
          run({"broadcast", count, root}, data, [&] {
            const float* source = static_cast<const float*>(group_->slots[root].data);
            result.assign(source, source + count);
          });
          std::copy(result.begin(), result.end(), data);
        })
        .wait();
  }
  void barrier() override {
    thread_.submit([this] { run({"barrier", 0, 0}, nullptr, [] {}); }).wait();
  }
  [[noreturn]] void abort(int exit_code) override { exit_now(exit_code); }

 private:
  // The three phases of every collective (see the top of the file); `compute` runs between the two
  // barriers, reading the other ranks' slots. A disagreement is found by every rank alike, so all of
  // them throw, after the second barrier to keep the phases of later collectives aligned.
  template <class Compute>
  void run(const Signature& signature, const void* data, Compute&& compute) {
    Group& g = *group_;
    g.slots[rank_] = {signature, data};
    g.barrier.arrive_and_wait(rank_);
    std::string mismatch;
    for (int r = 0; r < size(); ++r)
      if (!(g.slots[r].signature == g.slots[0].signature)) {
        mismatch =
            detail::concat("thread group: ranks disagree on a collective: rank 0 calls ",
                           describe(g.slots[0].signature), ", rank ", r, " calls ", describe(g.slots[r].signature));
        break;
      }
    if (mismatch.empty()) compute();
    g.barrier.arrive_and_wait(rank_);
    if (!mismatch.empty()) throw Error(mismatch);
  }

  template <class T, class Combine>
  void reduce(T* data, int64_t count, const char* op, Combine combine) {
    std::vector<T> result;
    run({op, count, 0}, data, [&] {
      result.assign(static_cast<const T*>(group_->slots[0].data), static_cast<const T*>(group_->slots[0].data) + count);
      for (int r = 1; r < size(); ++r) {
        const T* other = static_cast<const T*>(group_->slots[r].data);
        for (int64_t i = 0; i < count; ++i) result[i] = combine(result[i], other[i]);
      }
    });
    std::copy(result.begin(), result.end(), data);
  }

  std::shared_ptr<Group> group_;
  int rank_;
  CommThread thread_;
};

}  // namespace

std::vector<std::unique_ptr<Communicator>> make_thread_group(int size) {
  SUGAR_CHECK(size >= 1, "dist::make_thread_group: size ", size, " (expected at least 1 rank)");
  auto group = std::make_shared<Group>(size);
  std::vector<std::unique_ptr<Communicator>> members;
  for (int r = 0; r < size; ++r) members.push_back(std::make_unique<ThreadGroupMember>(group, r));
  return members;
}

}  // namespace sugar::dist
