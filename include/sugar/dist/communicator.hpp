#pragma once
// The processes that train one model together (data parallelism, issue 8), and the collectives they
// use: gradient averaging, synchronised batch-norm statistics, evaluation sums, agreeing to stop.
//
//   dist::Communicator& world = dist::world();   // one process unless started by mpirun
//   world.allreduce_sum(values.data(), n);        // every rank calls it, in the same order
//
// Ordering: collectives are matched by the order in which ranks issue them, so every rank must issue
// the same collectives in the same order. A Communicator runs them, blocking and asynchronous alike,
// one at a time in submission order on its own communication thread: a blocking call from the
// training thread (synchronised batch-norm) queues behind the gradient buckets already submitted, and
// MPI is only ever called from that one thread (MPI_THREAD_SERIALIZED is enough).
//
// Waiting for other ranks costs little CPU: the communication thread polls an outstanding MPI request
// back to back only for about as long as moving its data should take (without Linux CMA, each poll
// moves one fragment, so sleeping there made a 4 MB all-reduce 18x slower), then with 100 us sleeps;
// measured, a rank waiting for a late one uses about 11% of a core instead of a whole one.
//
// Implementations: single_process() (size 1, every collective is a no-op), MPI (built when
// SUGAR_WITH_MPI; chosen by world() when the process was started by mpirun/srun), and an in-process
// group of N communicators for tests, one per thread (make_thread_group).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sugar::dist {

// Completion of an asynchronous collective; wait() rethrows a failure of the collective as
// sugar::Error. A default-constructed Request is already complete.
class Request {
 public:
  Request() = default;
  void wait();
  bool done() const;

  struct State;  // shared with the communication thread
  explicit Request(std::shared_ptr<State> state) : state_(std::move(state)) {}

 private:
  std::shared_ptr<State> state_;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // A short description for logs and run.json: "MPI (Open MPI v4.1.4), 2 ranks", "single process".
  virtual std::string description() const = 0;

  // In place: every rank ends with the element-wise sum over ranks. The data must stay alive and
  // untouched until the request completes.
  virtual Request allreduce_sum_async(float* data, int64_t count) = 0;
  void allreduce_sum(float* data, int64_t count) { allreduce_sum_async(data, count).wait(); }
  virtual void allreduce_sum(double* data, int64_t count) = 0;
  virtual void allreduce_max(int64_t* data, int64_t count) = 0;
  // receive[r * count + i] = rank r's send[i], on every rank (receive holds size() * count values).
  virtual void allgather(const double* send, int64_t count, double* receive) = 0;
  // Every rank ends with `root`'s values.
  virtual void broadcast(float* data, int64_t count, int root) = 0;
  virtual void barrier() = 0;
  // Ends every rank of the job with `exit_code` (MPI_Abort); the single process just exits.
  [[noreturn]] virtual void abort(int exit_code) = 0;
};

// The communicator of this process: MPI's world when started by an MPI launcher and built with MPI,
// else single_process(). The first call initialises MPI (call it from main before starting threads);
// finalize() shuts it down at the end of main.
Communicator& world();
void finalize();
bool built_with_mpi();
// True when an MPI launcher started this process (OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK set).
bool started_by_mpi_launcher();

Communicator& single_process();

// `size` connected communicators within one process, for tests: communicator r is rank r and must be
// used by one thread (each test thread plays one rank).
std::vector<std::unique_ptr<Communicator>> make_thread_group(int size);

}  // namespace sugar::dist
