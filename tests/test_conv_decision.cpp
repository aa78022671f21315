// auto's decision rule (ops/conv_decision.hpp) on made-up timings: clear wins either way, ties,
// noise around the margin, a busy machine, one disturbed pair, the prior, and bad input. The
// expected centre and noise are worked out by hand in each test from the timings it gives.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "sugar/error.hpp"
#include "sugar/ops/conv_decision.hpp"
#include "../src/ops/machine_load.hpp"  // internal to the library: the load meter auto relies on

using namespace sugar;
using ops::ConvAlgorithm;
using ops::PassTimings;

namespace {

// Seven pairs around direct = 10 ms, with Winograd = direct x ratio[i].
PassTimings pairs(const std::vector<double>& ratios, double others_busy = 0.0) {
  PassTimings t;
  const double direct[] = {10.0, 10.4, 9.7, 10.1, 9.9, 10.6, 10.2};
  for (size_t i = 0; i < ratios.size(); ++i) {
    t.direct_ms.push_back(direct[i % 7]);
    t.winograd_ms.push_back(direct[i % 7] * ratios[i]);
  }
  t.others_busy = others_busy;
  return t;
}

}  // namespace

TEST(ConvDecision, WinogradClearlyFasterIsChosenAndNotProvisional) {
  // log-ratios of 0.50..0.53: centre ln 0.51, deviations |ln(r/0.51)| <= 4%: far below ln 0.95.
  const auto d = ops::decide_pass(pairs({0.50, 0.52, 0.51, 0.53, 0.50, 0.51, 0.52}), ConvAlgorithm::direct);
  EXPECT_EQ(d.algorithm, ConvAlgorithm::winograd);
  EXPECT_FALSE(d.provisional);
  EXPECT_NEAR(d.ratio, 0.51, 1e-12);  // the median pair's ratio
  // MAD of the log-ratios: sorted |ln(r / 0.51)| = 0, 0, 0.0194, 0.0194, 0.0198, 0.0198, 0.0385.
  EXPECT_NEAR(d.noise, 1.4826 * std::log(0.52 / 0.51), 1e-9);
  EXPECT_EQ(d.reason.substr(0, 24), "winograd 0.51x direct +-");
}

TEST(ConvDecision, WinogradClearlySlowerIsDirectAndNotProvisional) {
  const auto d = ops::decide_pass(pairs({1.9, 2.1, 2.0, 2.2, 1.8, 2.0, 2.05}), ConvAlgorithm::winograd);
  EXPECT_EQ(d.algorithm, ConvAlgorithm::direct);
  EXPECT_FALSE(d.provisional);
  EXPECT_NEAR(d.ratio, 2.0, 1e-12);
}

// A tie is not a win: Winograd is the less exact of the two, so it must be faster by the 5% margin.
// Ratios 0.99..1.01 put the centre at 1.00 with a noise of about 1%: even its optimistic end (about
// 0.989) is far above 0.95, so direct is a clear result.
TEST(ConvDecision, ATieIsDirectAndClear) {
  const auto d = ops::decide_pass(pairs({1.00, 0.99, 1.01, 1.00, 0.995, 1.005, 1.00}), ConvAlgorithm::winograd);
  EXPECT_EQ(d.algorithm, ConvAlgorithm::direct);
  EXPECT_FALSE(d.provisional);
  EXPECT_NEAR(d.ratio, 1.0, 1e-12);
}

// Centre at the margin (0.94) with 5-10% noise per pair: the interval holds both answers. The rule
// neither picks by a coin flip nor stores it as measured: it runs the prior, marked provisional.
TEST(ConvDecision, NoisyTimingsNearTheMarginRunThePriorProvisionally) {
  const std::vector<double> noisy = {0.94, 0.85, 1.02, 0.90, 0.99, 0.88, 0.97};
  for (ConvAlgorithm prior : {ConvAlgorithm::direct, ConvAlgorithm::winograd}) {
    const auto d = ops::decide_pass(pairs(noisy), prior);
    EXPECT_EQ(d.algorithm, prior);
    EXPECT_TRUE(d.provisional);
    EXPECT_NEAR(d.ratio, 0.94, 1e-12);
    EXPECT_NE(d.reason.find("too close to the 5% margin to call: prior"), std::string::npos) << d.reason;
  }
  // The same centre with 0.3% noise is still too close: the rule assumes at least 2% noise per pair
  // (kNoiseFloor), so 0.94 +- 2.3% reaches past 0.95. At 0.90 the same tight pairs are a clear win.
  const auto tight = ops::decide_pass(pairs({0.94, 0.943, 0.937, 0.94, 0.941, 0.939, 0.94}), ConvAlgorithm::direct);
  EXPECT_EQ(tight.algorithm, ConvAlgorithm::direct);
  EXPECT_TRUE(tight.provisional);
  EXPECT_NEAR(tight.noise, ops::kNoiseFloor, 1e-15);
  const auto clear = ops::decide_pass(pairs({0.90, 0.903, 0.897, 0.90, 0.901, 0.899, 0.90}), ConvAlgorithm::direct);
  EXPECT_EQ(clear.algorithm, ConvAlgorithm::winograd);
  EXPECT_FALSE(clear.provisional);
}

// Timings taken while other processes used the machine are not trusted, however clear they look: a
// shared machine changes the ratio itself (issue 17 saw direct kept where Winograd was 1.5x faster).
TEST(ConvDecision, ABusyMachineGivesTheProvisionalPriorEvenForAClearRatio) {
  const std::vector<double> clear = {1.6, 1.62, 1.58, 1.6, 1.61, 1.59, 1.6};
  const auto busy = ops::decide_pass(pairs(clear, 0.35), ConvAlgorithm::winograd);
  EXPECT_EQ(busy.algorithm, ConvAlgorithm::winograd);
  EXPECT_TRUE(busy.provisional);
  EXPECT_NE(busy.reason.find("other processes used 35% of the processors (limit 10%)"), std::string::npos)
      << busy.reason;
  const auto quiet = ops::decide_pass(pairs(clear, 0.05), ConvAlgorithm::winograd);
  EXPECT_EQ(quiet.algorithm, ConvAlgorithm::direct);
  EXPECT_FALSE(quiet.provisional);
  // Unknown load (negative: /proc/stat unreadable or the window too short) is judged on the timings.
  EXPECT_FALSE(ops::decide_pass(pairs(clear, -1), ConvAlgorithm::winograd).provisional);
}

// One pair hit by a burst of load (ratio 3 instead of 0.5) moves neither the median nor the MAD much.
TEST(ConvDecision, OneDisturbedPairDoesNotChangeTheDecision) {
  const auto d = ops::decide_pass(pairs({0.50, 0.52, 3.0, 0.51, 0.50, 0.53, 0.51}), ConvAlgorithm::direct);
  EXPECT_EQ(d.algorithm, ConvAlgorithm::winograd);
  EXPECT_FALSE(d.provisional);
  EXPECT_NEAR(d.ratio, 0.51, 1e-12);
}

TEST(ConvDecision, MalformedTimingsAreRefused) {
  PassTimings empty;
  EXPECT_THROW(ops::decide_pass(empty, ConvAlgorithm::direct), Error);
  PassTimings uneven = pairs({0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5});
  uneven.winograd_ms.pop_back();
  EXPECT_THROW(ops::decide_pass(uneven, ConvAlgorithm::direct), Error);
  // Fewer than kMinPairs pairs: a single pair would have no noise at all and always look clear.
  EXPECT_THROW(ops::decide_pass(pairs({0.5, 0.5, 0.5, 0.5}), ConvAlgorithm::direct), Error);
  EXPECT_NO_THROW(ops::decide_pass(pairs({0.5, 0.5, 0.5, 0.5, 0.5}), ConvAlgorithm::direct));
  for (double bad : {0.0, -1.0, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    PassTimings t = pairs({0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5});
    t.winograd_ms[1] = bad;
    EXPECT_THROW(ops::decide_pass(t, ConvAlgorithm::direct), Error) << bad;
  }
}

TEST(ConvDecision, ThePriorIsWinogradForWideLayersWithOutputsOfFourByFourOrMore) {
  EXPECT_EQ(ops::prior_algorithm(3, 32, 32), ConvAlgorithm::direct);    // the stem
  EXPECT_EQ(ops::prior_algorithm(63, 32, 32), ConvAlgorithm::direct);
  EXPECT_EQ(ops::prior_algorithm(64, 32, 32), ConvAlgorithm::winograd);
  EXPECT_EQ(ops::prior_algorithm(512, 4, 4), ConvAlgorithm::winograd);
  EXPECT_EQ(ops::prior_algorithm(512, 2, 2), ConvAlgorithm::direct);    // VGG-16's last stage
  EXPECT_EQ(ops::prior_algorithm(256, 4, 3), ConvAlgorithm::direct);
}

// The load meter behind kBusyLimit: with every processor this process may use kept busy by other
// processes, it reports a share far above the limit, both over a long window and over one too short
// to judge (then an idle sample of its own decides). Not a speed assertion: the busy processes take
// whole processors whatever else runs.
TEST(ConvDecision, TheLoadMeterSeesOtherProcessesKeepingTheProcessorsBusy) {
  const long processors = std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN));
  std::vector<pid_t> spinners;
  for (long i = 0; i < processors; ++i) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      for (volatile uint64_t n = 0;; n = n + 1) {
      }
    }
    spinners.push_back(pid);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const ops::conv_detail::OtherProcessesLoad long_window;
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  const double long_share = long_window.share();
  const ops::conv_detail::OtherProcessesLoad short_window;
  const double short_share = short_window.share();  // no time at all: judged by an idle sample
  for (pid_t pid : spinners) ::kill(pid, SIGKILL);
  for (pid_t pid : spinners) ::waitpid(pid, nullptr, 0);
  EXPECT_GT(long_share, 0.5);
  EXPECT_GT(short_share, 0.5);
}

// The medians a note reports are each candidate's own: 10.1 ms (the middle of 9.7..10.6) and, for a
// ratio of 0.5 throughout, half of it.
TEST(ConvDecision, TheDecisionCarriesEachCandidatesMedianTime) {
  const auto d = ops::decide_pass(pairs({0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5}), ConvAlgorithm::direct);
  EXPECT_DOUBLE_EQ(d.direct_median_ms, 10.1);
  EXPECT_DOUBLE_EQ(d.winograd_median_ms, 5.05);
}
