// MPI's world as a dist::Communicator (built only when SUGAR_WITH_MPI; CMakeLists.txt leaves this file
// out otherwise).
//
// Every MPI call after initialisation is made on the communication thread, one at a time, which is
// what MPI_THREAD_SERIALIZED allows. Each collective is started non-blocking (MPI_Iallreduce, ...) and
// then polled with MPI_Test, with short sleeps once the transfer should be over: a blocking MPI call
// would spin a core at 100% for as long as another rank keeps it waiting, stealing it from the compute
// threads of a rank that has as many threads as cores (see busy_poll_budget for why not sleep at once).
//
// Errors: the collectives use a duplicate of MPI_COMM_WORLD with MPI_ERRORS_RETURN, so a failure comes
// back as an error code, which becomes a sugar::Error with MPI's error string (MPI's default handler
// would kill the job with no word from Sugar).
// The C API only: in C++, mpi.h would also declare the long-removed C++ bindings (they need libmpi_cxx).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>

#include "common.hpp"
#include "comm_thread.hpp"
#include "mpi_world.hpp"
#include "sugar/error.hpp"

namespace sugar::dist::detail {

namespace {

using sugar::detail::concat;

// How a collective is waited for. Open MPI moves a non-blocking collective's data only inside MPI
// calls, and without single-copy (CMA, which containers forbid) each MPI_Test moves a fragment or two
// (~32 KB) of a large message. Sleeping between polls from the start made a 44.7 MB all-reduce in 4 MB
// buckets between 2 ranks on one machine take ~180 ms instead of ~10 ms, and cost more CPU in total
// (~38 ms against ~10 ms). So the thread polls back to back for as long as the transfer itself should
// take, 1 ns per byte (1 GB/s) plus 100 us, and only then sleeps between polls: from there on it is
// waiting for another rank, which costs almost no CPU. (No sched_yield while busy: on a loaded machine
// it handed the core away for whole time slices and made the transfer slower than sleeping.)
constexpr auto poll_interval = std::chrono::microseconds(100);
std::chrono::nanoseconds busy_poll_budget(int64_t bytes) {
  return std::chrono::microseconds(100) + std::chrono::nanoseconds(bytes);
}

// MPI counts are int; larger buffers are reduced in pieces of this many elements.
constexpr int64_t max_piece = INT_MAX;

std::string error_string(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) return "MPI error code " + std::to_string(code);
  return std::string(text, length);
}

void check(int code, const char* what) {
  if (code != MPI_SUCCESS) throw Error(concat("MPI: ", what, " failed: ", error_string(code)));
}

// "Open MPI v4.1.4" from "Open MPI v4.1.4, package: Debian OpenMPI, ident: 4.1.4, ...\n...".
std::string library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  if (MPI_Get_library_version(text, &length) != MPI_SUCCESS) return "unknown library";
  std::string version(text, length);
  version = version.substr(0, version.find('\n'));
  version = version.substr(0, version.find(','));
  while (!version.empty() && (version.back() == ' ' || version.back() == '\t' || version.back() == '\0'))
    version.pop_back();
  return version;
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    int initialized = 0;
    check(MPI_Initialized(&initialized), "MPI_Initialized");
    int provided = MPI_THREAD_SINGLE;
    if (initialized) {
      check(MPI_Query_thread(&provided), "MPI_Query_thread");
    } else {
      check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread");
      initialised_here_ = true;
    }
    SUGAR_CHECK(provided >= MPI_THREAD_SERIALIZED, "MPI: the library provides thread level ", provided,
                ", below MPI_THREAD_SERIALIZED (", MPI_THREAD_SERIALIZED,
                "), which Sugar needs to call MPI from its communication thread; use an MPI built with thread support");
    // On the world as well: Open MPI reports a failed non-blocking collective's MPI_Test through
    // MPI_COMM_WORLD's handler, whatever communicator the collective ran on.
    check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    check(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
    check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
    version_ = library_version();
    thread_ = std::make_unique<CommThread>(concat("MPI rank ", rank_));
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string description() const override {
    return concat("MPI (", version_, "), ", size_, size_ == 1 ? " rank" : " ranks");
  }

  Request allreduce_sum_async(float* data, int64_t count) override {
    check_count("allreduce_sum", count);
    return allreduce_in_place(data, count, MPI_FLOAT, MPI_SUM);
  }
  void allreduce_sum(double* data, int64_t count) override {
    check_count("allreduce_sum", count);
    allreduce_in_place(data, count, MPI_DOUBLE, MPI_SUM).wait();
  }
  void allreduce_max(int64_t* data, int64_t count) override {
    check_count("allreduce_max", count);
    allreduce_in_place(data, count, MPI_INT64_T, MPI_MAX).wait();
  }
  void allgather(const double* send, int64_t count, double* receive) override {
    check_count("allgather", count);
    // Pieces would interleave the ranks' blocks differently from the contract's layout.
    SUGAR_CHECK(count <= max_piece, "dist::allgather: ", count, " values per rank exceed MPI's limit of ", max_piece);
    thread_
        ->submit([=, this] {
          start_and_wait("MPI_Iallgather", count * size_ * sizeof(double), [&](MPI_Request* request) {
            return MPI_Iallgather(send, static_cast<int>(count), MPI_DOUBLE, receive, static_cast<int>(count),
                                  MPI_DOUBLE, comm_, request);
          });
        })
        .wait();
  }
  void broadcast(float* data, int64_t count, int root) override {
    check_count("broadcast", count);
    SUGAR_CHECK(root >= 0 && root < size_, "dist::broadcast: root ", root, " is not a rank (the job has ", size_,
                " ranks)");
    thread_
        ->submit([=, this] {
          for_pieces(count, [&](int64_t offset, int n) {
            start_and_wait("MPI_Ibcast", n * sizeof(float), [&](MPI_Request* request) {
              return MPI_Ibcast(data + offset, n, MPI_FLOAT, root, comm_, request);
            });
          });
        })
        .wait();
  }
  void barrier() override {
    thread_
        ->submit([this] {
          start_and_wait("MPI_Ibarrier", 0, [&](MPI_Request* request) { return MPI_Ibarrier(comm_, request); });
        })
        .wait();
  }

  [[noreturn]] void abort(int exit_code) override {
    std::fflush(nullptr);
    int finalized = 1;
    MPI_Finalized(&finalized);
    if (!finalized) {
      // Taking the MPI lock keeps MPI_Abort serialised with the communication thread's calls, which
      // hold it only for one short non-blocking call at a time.
      if (!thread_->on_this_thread()) mpi_mutex_.lock();
      MPI_Abort(MPI_COMM_WORLD, exit_code);
    }
    exit_now(exit_code);
  }

  void finalize() {
    if (finalized_) return;
    finalized_ = true;
    thread_->stop();  // runs what is still queued: every rank has issued the same collectives
    MPI_Comm_free(&comm_);
    if (initialised_here_) check(MPI_Finalize(), "MPI_Finalize");
  }

 private:
  // MPI_Iallreduce(MPI_IN_PLACE) of data[0, count) on the communication thread, in pieces of at most
  // max_piece elements (MPI counts are int).
  template <class T>
  Request allreduce_in_place(T* data, int64_t count, MPI_Datatype type, MPI_Op op) {
    return thread_->submit([=, this] {
      for_pieces(count, [&](int64_t offset, int n) {
        start_and_wait("MPI_Iallreduce", n * sizeof(T), [&](MPI_Request* request) {
          return MPI_Iallreduce(MPI_IN_PLACE, data + offset, n, type, op, comm_, request);
        });
      });
    });
  }

  template <class Piece>
  static void for_pieces(int64_t count, Piece&& piece) {
    if (count == 0) piece(0, 0);  // still issued: every rank must see the same collectives
    for (int64_t offset = 0; offset < count; offset += max_piece)
      piece(offset, static_cast<int>(std::min(max_piece, count - offset)));
  }

  // Starts one non-blocking operation and polls it to completion. Runs on the communication thread.
  template <class Start>
  void start_and_wait(const char* what, int64_t bytes, Start&& start) {
    MPI_Request request = MPI_REQUEST_NULL;
    {
      std::lock_guard lock(mpi_mutex_);
      check(start(&request), what);
    }
    const auto busy_until = std::chrono::steady_clock::now() + busy_poll_budget(bytes);
    for (;;) {
      int completed = 0;
      {
        std::lock_guard lock(mpi_mutex_);
        check(MPI_Test(&request, &completed, MPI_STATUS_IGNORE), what);
      }
      if (completed) return;
      if (std::chrono::steady_clock::now() >= busy_until) std::this_thread::sleep_for(poll_interval);
    }
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  std::string version_;
  bool initialised_here_ = false;
  bool finalized_ = false;
  std::mutex mpi_mutex_;  // held around each MPI call after initialisation
  std::unique_ptr<CommThread> thread_;
};

std::mutex instance_mutex;
// Never deleted: at exit without finalize() (an error path), a destructor would join a thread that
// may be waiting on ranks that are gone; the process ends instead, and mpirun ends the job.
MpiCommunicator* instance = nullptr;

}  // namespace

Communicator& mpi_world() {
  std::lock_guard lock(instance_mutex);
  if (!instance) instance = new MpiCommunicator();
  return *instance;
}

void mpi_finalize() {
  std::lock_guard lock(instance_mutex);
  if (instance) instance->finalize();
}

}  // namespace sugar::dist::detail
