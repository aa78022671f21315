#pragma once
// The machinery shared by the communicators that have a thread of their own (MPI, the in-process
// thread group): a FIFO of collectives run one at a time, in submission order, on one thread, each
// completing a Request that the submitting thread may wait on. Internal to src/dist.
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "sugar/dist/communicator.hpp"

namespace sugar::dist {

struct Request::State {
  std::mutex mutex;
  std::condition_variable changed;
  bool done = false;
  std::exception_ptr error;  // the collective's failure, rethrown by every wait()
};

class CommThread {
 public:
  // `name` prefixes the message of a failure that is not a sugar::Error ("thread group rank 1").
  explicit CommThread(std::string name);
  // stop(): an owner must not be destroyed with collectives still queued for another rank to match.
  ~CommThread();
  CommThread(const CommThread&) = delete;
  CommThread& operator=(const CommThread&) = delete;

  // Queues `work`; the returned request completes when it has run (with its exception, if any).
  Request submit(std::function<void()> work);
  // Runs what is queued, then joins the thread. Idempotent; submit() afterwards is an error.
  void stop();
  // True on the communication thread itself (a blocking call from there would wait on itself).
  bool on_this_thread() const;

 private:
  struct Item {
    std::function<void()> work;
    std::shared_ptr<Request::State> state;
  };
  void loop();

  std::string name_;
  std::mutex mutex_;
  std::condition_variable queued_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace sugar::dist
