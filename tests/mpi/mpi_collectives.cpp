// The collectives and GradientAllReducer on real MPI ranks. CTest runs it as `mpirun -np 2 <this>`
// (test mpi.collectives): every rank checks hand-computed results and the job exits non-zero if any
// rank saw a mismatch. With --no-launcher (test mpi.no_launcher) it is started without mpirun and
// checks that dist::world() is then the single process and that MPI was never initialised.
// The C API only: in C++, mpi.h would also declare the long-removed C++ bindings (they need libmpi_cxx).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "sugar/autograd.hpp"
#include "sugar/dist/communicator.hpp"
#include "sugar/error.hpp"
#include "sugar/nn/nn.hpp"
#include "sugar/ops/loss.hpp"
#include "sugar/runtime.hpp"
#include "sugar/train/gradient_allreduce.hpp"
#include "support/gradcheck.hpp"

using namespace sugar;

namespace {

int rank_for_messages = -1;
int failures = 0;

template <class T>
void expect_equal(const std::vector<T>& got, const std::vector<T>& want, const char* what) {
  if (got == want) return;
  ++failures;
  std::fprintf(stderr, "rank %d: FAIL %s: got", rank_for_messages, what);
  for (const T& v : got) std::fprintf(stderr, " %.17g", static_cast<double>(v));
  std::fprintf(stderr, ", expected");
  for (const T& v : want) std::fprintf(stderr, " %.17g", static_cast<double>(v));
  std::fprintf(stderr, "\n");
}

void expect_true(bool ok, const std::string& what) {
  if (ok) return;
  ++failures;
  std::fprintf(stderr, "rank %d: FAIL %s\n", rank_for_messages, what.c_str());
}

void check_collectives(dist::Communicator& c) {
  const int r = c.rank();
  expect_true(c.size() == 2, "size " + std::to_string(c.size()) + ", expected 2 (run with mpirun -np 2)");
  const std::string description = c.description();
  expect_true(description.find("MPI (Open MPI v") == 0 && description.find("), 2 ranks") != std::string::npos,
              "description '" + description + "'");

  std::vector<float> f = {float(r + 1), 10.0f * (r + 1), -float(r), 0.5f};
  c.allreduce_sum(f.data(), 4);
  expect_equal(f, {3.0f, 30.0f, -1.0f, 1.0f}, "allreduce_sum(float)");

  std::vector<double> d = {0.25 * (r + 1), -1e300 * (r == 1), 1.0};
  c.allreduce_sum(d.data(), 3);
  expect_equal(d, {0.75, -1e300, 2.0}, "allreduce_sum(double)");

  const int64_t lowest = std::numeric_limits<int64_t>::min();
  std::vector<int64_t> m = {r, -r, 5 * (r % 2), lowest + r, int64_t(1) << (40 + r)};
  c.allreduce_max(m.data(), 5);
  expect_equal(m, {1, 0, 5, lowest + 1, int64_t(1) << 41}, "allreduce_max(int64)");

  const double send[2] = {double(r), 10.0 + r};
  std::vector<double> gathered(4, -1.0);
  c.allgather(send, 2, gathered.data());
  expect_equal(gathered, {0, 10, 1, 11}, "allgather");

  std::vector<float> b = {1.5f * r, float(r), -7.0f};
  c.broadcast(b.data(), 3, 1);
  expect_equal(b, {1.5f, 1.0f, -7.0f}, "broadcast from root 1");

  // Submission order: the blocking broadcast queues behind the sums (overtaking would give x = 4).
  float x = float(r + 1), y = 10.0f * (r + 1);
  dist::Request rx = c.allreduce_sum_async(&x, 1);
  dist::Request ry = c.allreduce_sum_async(&y, 1);
  c.broadcast(&x, 1, 1);
  expect_true(rx.done() && ry.done(), "async requests not complete after a later blocking collective");
  ry.wait();
  rx.wait();
  expect_equal(std::vector<float>{x, y}, {3.0f, 30.0f}, "async sums then broadcast");

  // A large buffer: 3 M values, every element checked.
  std::vector<float> big(3'000'000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = float(i % 1000) * (r + 1);
  c.allreduce_sum(big.data(), static_cast<int64_t>(big.size()));
  size_t wrong = 0;
  for (size_t i = 0; i < big.size(); ++i) wrong += big[i] != float(i % 1000) * 3;
  expect_true(wrong == 0, std::to_string(wrong) + " wrong values in a 3 M-value allreduce_sum");

  c.allreduce_sum_async(nullptr, 0).wait();  // an empty collective is still matched
  c.barrier();

  bool threw = false;
  try {
    c.broadcast(b.data(), 3, 2);
  } catch (const Error& e) {
    threw = std::string(e.what()).find("root 2 is not a rank (the job has 2 ranks)") != std::string::npos;
  }
  expect_true(threw, "broadcast from root 2 of 2 ranks did not fail with a clear sugar::Error");
}

// A small CNN with seeded weights; its gradient on the whole batch, computed by each rank alone, is
// the reference for the averaged gradient of the shards.
std::shared_ptr<nn::Sequential> make_model() {
  auto model = std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Conv2d>(3, 4, 3, 1, 1), std::make_shared<nn::ReLU>(), std::make_shared<nn::Flatten>(),
      std::make_shared<nn::Linear>(4 * 4 * 4, 5)});
  nn::initialize(*model, 11);
  return model;
}

std::vector<std::vector<float>> gradients_on(nn::Sequential& model, int begin, int end) {
  static const std::vector<float> values = testkit::random_tensor({8, 3, 4, 4}, 3).to_vector();
  static const std::vector<int32_t> labels = {0, 1, 2, 3, 4, 0, 1, 2};
  for (auto& [name, p] : model.named_parameters()) p.zero_grad();
  const std::vector<float> x(values.begin() + begin * 48, values.begin() + end * 48);
  const std::vector<int32_t> y(labels.begin() + begin, labels.begin() + end);
  autograd::backward(ops::cross_entropy(model(Tensor::from_vector({end - begin, 3, 4, 4}, x)), y));
  std::vector<std::vector<float>> out;
  for (auto& [name, p] : model.named_parameters()) out.push_back(p.grad().to_vector());
  return out;
}

void check_gradient_allreduce(dist::Communicator& c, int begin, int end, double weight, const char* what) {
  auto model = make_model();
  // 16-byte buckets: one per parameter (conv.bias is 16 bytes, the others larger).
  train::GradientAllReducer reducer(c, model->named_parameters(), 16);
  reducer.begin_step(weight);
  gradients_on(*model, begin, end);
  reducer.finish_step();
  std::vector<std::vector<float>> averaged;
  for (auto& [name, p] : model->named_parameters()) averaged.push_back(p.grad().to_vector());

  auto reference_model = make_model();
  const std::vector<std::vector<float>> whole = gradients_on(*reference_model, 0, 8);
  for (size_t t = 0; t < whole.size(); ++t) {
    float scale = 0, worst = 0;
    for (size_t i = 0; i < whole[t].size(); ++i) {
      scale = std::max(scale, std::fabs(whole[t][i]));
      worst = std::max(worst, std::fabs(averaged[t][i] - whole[t][i]));
    }
    expect_true(worst <= 1e-6f * scale, std::string(what) + ": parameter " + std::to_string(t) + " differs by " +
                                            std::to_string(worst) + " from the whole batch's (scale " +
                                            std::to_string(scale) + ")");
    // Every rank must hold the same bits: compare with rank 0's.
    std::vector<float> rank0 = averaged[t];
    c.broadcast(rank0.data(), static_cast<int64_t>(rank0.size()), 0);
    expect_true(rank0 == averaged[t],
                std::string(what) + ": parameter " + std::to_string(t) + " differs from rank 0's");
  }
  expect_true(reducer.bucket_count() == 4,
              std::string(what) + ": " + std::to_string(reducer.bucket_count()) + " buckets, expected 4");
}

int check_no_launcher() {
  rank_for_messages = 0;
  expect_true(!dist::started_by_mpi_launcher(),
              "started_by_mpi_launcher() with no launcher (environment has "
              "OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK?)");
  expect_true(dist::built_with_mpi(), "built_with_mpi() is false in a build with MPI");
  dist::Communicator& c = dist::world();
  expect_true(&c == &dist::single_process(), "world() is not the single process");
  expect_true(c.size() == 1 && c.description() == "single process", "world() is '" + c.description() + "'");
  float x = 2.0f;
  c.allreduce_sum(&x, 1);
  expect_true(x == 2.0f, "single-process allreduce changed the value");
  dist::finalize();
  int initialized = 1, finalized = 1;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  expect_true(!initialized && !finalized, "MPI was initialised although no launcher started the process");
  if (failures == 0) std::printf("ok: without a launcher, world() is the single process and MPI is untouched\n");
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  set_num_threads(1);
  if (argc > 1 && std::strcmp(argv[1], "--no-launcher") == 0) return check_no_launcher();

  dist::Communicator& c = dist::world();
  rank_for_messages = c.rank();
  try {
    check_collectives(c);
    check_gradient_allreduce(c, 4 * c.rank(), 4 * c.rank() + 4, 0.5, "even shards");
    check_gradient_allreduce(c, c.rank() == 0 ? 0 : 6, c.rank() == 0 ? 6 : 8, c.rank() == 0 ? 0.75 : 0.25,
                             "uneven shards");
  } catch (const Error& e) {
    std::fprintf(stderr, "rank %d: error: %s\n", c.rank(), e.what());
    c.abort(1);  // the other rank may be waiting in a collective: end the whole job
  }
  int64_t any_failures = failures;
  c.allreduce_max(&any_failures, 1);
  if (c.rank() == 0 && any_failures == 0)
    std::printf("ok: %s: collectives and GradientAllReducer agree with the expected values\n", c.description().c_str());
  dist::finalize();
  return failures == 0 && any_failures == 0 ? 0 : 1;
}
