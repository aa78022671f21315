// dist: the collectives on an in-process thread group (one thread per rank) with hand-computed
// results, their ordering on the communication thread, failures reaching wait(), and the single
// process. tests/mpi/mpi_collectives.cpp checks the same values on real MPI ranks.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "sugar/dist/communicator.hpp"
#include "support/thread_ranks.hpp"
#include "sugar/error.hpp"

using namespace sugar;

TEST(ThreadGroup, RanksAndDescription) {
  auto group = dist::make_thread_group(3);
  ASSERT_EQ(group.size(), 3u);
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(group[r]->rank(), r);
    EXPECT_EQ(group[r]->size(), 3);
  }
  EXPECT_EQ(group[0]->description(), "thread group, 3 ranks");
  EXPECT_THROW(dist::make_thread_group(0), Error);
}

TEST(ThreadGroup, AllreduceSumOfKnownVectors) {
  std::vector<std::vector<float>> floats(3);
  std::vector<std::vector<double>> doubles(3);
  testkit::run_ranks(3, [&](dist::Communicator& c) {
    const int r = c.rank();
    std::vector<float> f = {float(r + 1), 10.0f * (r + 1), -float(r), 0.5f};
    c.allreduce_sum(f.data(), static_cast<int64_t>(f.size()));
    std::vector<double> d = {0.25 * (r + 1), -1e300 * (r == 1), 1.0};
    c.allreduce_sum(d.data(), static_cast<int64_t>(d.size()));
    floats[r] = f;
    doubles[r] = d;
  });
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(floats[r], (std::vector<float>{6.0f, 60.0f, -3.0f, 1.5f})) << "rank " << r;
    EXPECT_EQ(doubles[r], (std::vector<double>{1.5, -1e300, 3.0})) << "rank " << r;
  }
}

TEST(ThreadGroup, SumsRunInRankOrderSoEveryRankGetsTheSameBits) {
  // f32 addition is not associative: (1e8 + 1) - 1e8 is 0 (1e8 + 1 rounds to 1e8), 1e8 - 1e8 + 1 is 1.
  // Rank order 0, 1, 2 on every rank gives 0 everywhere.
  std::vector<float> result(3);
  testkit::run_ranks(3, [&](dist::Communicator& c) {
    const float mine[] = {1e8f, 1.0f, -1e8f};
    float value = mine[c.rank()];
    c.allreduce_sum(&value, 1);
    result[c.rank()] = value;
  });
  EXPECT_EQ(result, (std::vector<float>{0.0f, 0.0f, 0.0f}));
}

TEST(ThreadGroup, AllreduceMax) {
  std::vector<std::vector<int64_t>> results(3);
  const int64_t lowest = std::numeric_limits<int64_t>::min();
  testkit::run_ranks(3, [&](dist::Communicator& c) {
    const int r = c.rank();
    std::vector<int64_t> v = {r, -r, 5 * (r % 2), lowest + r, int64_t(1) << (40 + r)};
    c.allreduce_max(v.data(), static_cast<int64_t>(v.size()));
    results[r] = v;
  });
  for (int r = 0; r < 3; ++r)
    EXPECT_EQ(results[r], (std::vector<int64_t>{2, 0, 5, lowest + 2, int64_t(1) << 42})) << "rank " << r;
}

TEST(ThreadGroup, AllgatherPutsRankRsValuesAtR) {
  std::vector<std::vector<double>> results(3);
  testkit::run_ranks(3, [&](dist::Communicator& c) {
    const int r = c.rank();
    const double send[2] = {double(r), 10.0 + r};
    std::vector<double> receive(6, -1.0);
    c.allgather(send, 2, receive.data());
    results[r] = receive;
  });
  for (int r = 0; r < 3; ++r) EXPECT_EQ(results[r], (std::vector<double>{0, 10, 1, 11, 2, 12})) << "rank " << r;
}

TEST(ThreadGroup, BroadcastFromRootOne) {
  std::vector<std::vector<float>> results(3);
  testkit::run_ranks(3, [&](dist::Communicator& c) {
    const int r = c.rank();
    std::vector<float> v = {1.5f * r, float(r), -7.0f};
    c.broadcast(v.data(), 3, 1);
    results[r] = v;
  });
  for (int r = 0; r < 3; ++r) EXPECT_EQ(results[r], (std::vector<float>{1.5f, 1.0f, -7.0f})) << "rank " << r;
}

TEST(ThreadGroup, CollectivesRunInSubmissionOrder) {
  // Rank r holds x = r + 1. Submitted order: sum (x = 3), then a blocking broadcast from rank 1 (x = 3).
  // Had the broadcast overtaken the sum, x would be 2 + 2 = 4.
  std::vector<float> x_after(2), y_after(2), z_after(2);
  std::vector<int> done_after_blocking(2);
  testkit::run_ranks(2, [&](dist::Communicator& c) {
    const int r = c.rank();
    float x = float(r + 1);
    float y = 10.0f * (r + 1);
    float z = 100.0f * (r + 1);
    dist::Request rx = c.allreduce_sum_async(&x, 1);
    dist::Request ry = c.allreduce_sum_async(&y, 1);
    dist::Request rz = c.allreduce_sum_async(&z, 1);
    c.broadcast(&x, 1, 1);  // queues behind the three sums
    done_after_blocking[r] = rx.done() + ry.done() + rz.done();
    rz.wait();  // waiting out of order is fine
    ry.wait();
    rx.wait();
    x_after[r] = x;
    y_after[r] = y;
    z_after[r] = z;
  });
  EXPECT_EQ(done_after_blocking, (std::vector<int>{3, 3}));
  EXPECT_EQ(x_after, (std::vector<float>{3.0f, 3.0f}));
  EXPECT_EQ(y_after, (std::vector<float>{30.0f, 30.0f}));
  EXPECT_EQ(z_after, (std::vector<float>{300.0f, 300.0f}));
}

TEST(ThreadGroup, BarrierHoldsEveryRankUntilAllArrive) {
  std::vector<int> seen(3);
  std::atomic<int> arrived{0};
  testkit::run_ranks(3, [&](dist::Communicator& c) {
    arrived.fetch_add(1);
    c.barrier();
    seen[c.rank()] = arrived.load();
  });
  EXPECT_EQ(seen, (std::vector<int>{3, 3, 3}));
}

TEST(ThreadGroup, AFailedCollectiveReachesWaitOnEveryRankAndTheGroupGoesOn) {
  std::vector<std::string> messages(2);
  std::vector<float> after(2);
  testkit::run_ranks(2, [&](dist::Communicator& c) {
    const int r = c.rank();
    std::vector<float> v(3, 1.0f);
    dist::Request request = c.allreduce_sum_async(v.data(), r == 0 ? 2 : 3);  // ranks disagree
    try {
      request.wait();
    } catch (const Error& e) {
      messages[r] = e.what();
    }
    float x = float(r + 1);
    c.allreduce_sum(&x, 1);
    after[r] = x;
  });
  for (int r = 0; r < 2; ++r) {
    EXPECT_NE(messages[r].find("ranks disagree on a collective"), std::string::npos) << messages[r];
    EXPECT_NE(messages[r].find("rank 0 calls allreduce_sum(float) of 2 values, rank 1 calls allreduce_sum(float) "
                               "of 3 values"),
              std::string::npos)
        << messages[r];
  }
  EXPECT_EQ(after, (std::vector<float>{3.0f, 3.0f}));
}

TEST(ThreadGroup, BadArgumentsFailOnTheCallingThread) {
  auto group = dist::make_thread_group(2);
  float x = 0;
  EXPECT_THROW(group[0]->allreduce_sum_async(&x, -1), Error);
  try {
    group[0]->broadcast(&x, 1, 2);
    FAIL() << "broadcast from root 2 of 2 ranks did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("root 2 is not a rank"), std::string::npos) << e.what();
  }
}

TEST(Request, DefaultConstructedIsComplete) {
  dist::Request request;
  EXPECT_TRUE(request.done());
  request.wait();
}

TEST(SingleProcess, CollectivesAreTheValuesThemselves) {
  dist::Communicator& c = dist::single_process();
  EXPECT_EQ(c.rank(), 0);
  EXPECT_EQ(c.size(), 1);
  EXPECT_EQ(c.description(), "single process");
  std::vector<float> f = {1.5f, -2.0f};
  dist::Request request = c.allreduce_sum_async(f.data(), 2);
  EXPECT_TRUE(request.done());
  request.wait();
  c.allreduce_sum(f.data(), 2);
  EXPECT_EQ(f, (std::vector<float>{1.5f, -2.0f}));
  std::vector<double> d = {0.1, 3.0};
  c.allreduce_sum(d.data(), 2);
  EXPECT_EQ(d, (std::vector<double>{0.1, 3.0}));
  std::vector<int64_t> m = {-4, 9};
  c.allreduce_max(m.data(), 2);
  EXPECT_EQ(m, (std::vector<int64_t>{-4, 9}));
  const double send[2] = {7.0, 8.0};
  double receive[2] = {0, 0};
  c.allgather(send, 2, receive);
  EXPECT_EQ(receive[0], 7.0);
  EXPECT_EQ(receive[1], 8.0);
  c.broadcast(f.data(), 2, 0);
  EXPECT_EQ(f, (std::vector<float>{1.5f, -2.0f}));
  EXPECT_THROW(c.broadcast(f.data(), 2, 1), Error);
  c.barrier();
}

TEST(World, WithoutALauncherIsTheSingleProcess) {
  if (dist::started_by_mpi_launcher()) GTEST_SKIP() << "this test binary was started by an MPI launcher";
  EXPECT_EQ(&dist::world(), &dist::single_process());
  EXPECT_EQ(dist::world().size(), 1);
  dist::finalize();  // nothing to shut down; must not touch MPI
}
