#include "comm_thread.hpp"

#include "sugar/error.hpp"

namespace sugar::dist {

// ---- Request ------------------------------------------------------------------------------------

void Request::wait() {
  if (!state_) return;
  std::unique_lock lock(state_->mutex);
  state_->changed.wait(lock, [&] { return state_->done; });
  if (state_->error) std::rethrow_exception(state_->error);
}

bool Request::done() const {
  if (!state_) return true;
  std::lock_guard lock(state_->mutex);
  return state_->done;
}

// ---- CommThread ---------------------------------------------------------------------------------

CommThread::CommThread(std::string name) : name_(std::move(name)), thread_([this] { loop(); }) {}

CommThread::~CommThread() { stop(); }

Request CommThread::submit(std::function<void()> work) {
  auto state = std::make_shared<Request::State>();
  {
    std::lock_guard lock(mutex_);
    SUGAR_CHECK(!stopping_, name_, ": a collective was submitted after the communicator was shut down");
    queue_.push_back({std::move(work), state});
  }
  queued_.notify_one();
  return Request(state);
}

void CommThread::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  queued_.notify_one();
  if (thread_.joinable() && !on_this_thread()) thread_.join();
}

bool CommThread::on_this_thread() const { return std::this_thread::get_id() == thread_.get_id(); }

void CommThread::loop() {
  for (;;) {
    Item item;
    {
      std::unique_lock lock(mutex_);
      queued_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued has run
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    std::exception_ptr error;
    try {
      item.work();
    } catch (const Error&) {
      error = std::current_exception();
    } catch (const std::exception& e) {
      // Request::wait promises a sugar::Error, whatever the collective threw.
      error = std::make_exception_ptr(Error(name_ + ": " + e.what()));
    } catch (...) {
      error = std::make_exception_ptr(Error(name_ + ": a collective failed with an unknown exception"));
    }
    {
      std::lock_guard lock(item.state->mutex);
      item.state->done = true;
      item.state->error = error;
    }
    item.state->changed.notify_all();
  }
}

}  // namespace sugar::dist
