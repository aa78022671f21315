// The communicator of a process that trains alone: rank 0 of 1, no thread, every collective is a
// no-op (the sum, maximum and broadcast over one rank are the values themselves) except allgather,
// which copies its one contribution into place as its contract says.
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "common.hpp"
#include "sugar/dist/communicator.hpp"
#include "sugar/error.hpp"

namespace sugar::dist {

namespace {

class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string description() const override { return "single process"; }

  Request allreduce_sum_async(float*, int64_t count) override {
    check_count("allreduce_sum", count);
    return Request();
  }
  void allreduce_sum(double*, int64_t count) override { check_count("allreduce_sum", count); }
  void allreduce_max(int64_t*, int64_t count) override { check_count("allreduce_max", count); }
  void allgather(const double* send, int64_t count, double* receive) override {
    check_count("allgather", count);
    std::copy_n(send, count, receive);
  }
  void broadcast(float*, int64_t count, int root) override {
    check_count("broadcast", count);
    SUGAR_CHECK(root == 0, "dist::broadcast: root ", root, " is not a rank of a single process (expected 0)");
  }
  void barrier() override {}
  [[noreturn]] void abort(int exit_code) override { exit_now(exit_code); }
};

}  // namespace

Communicator& single_process() {
  static SingleProcess instance;
  return instance;
}

}  // namespace sugar::dist
