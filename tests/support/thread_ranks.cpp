#include "support/thread_ranks.hpp"

#include <exception>
#include <thread>
#include <vector>

namespace sugar::testkit {

void run_ranks(int size, const std::function<void(dist::Communicator&)>& body) {
  auto group = dist::make_thread_group(size);
  std::vector<std::exception_ptr> errors(static_cast<size_t>(size));
  std::vector<std::thread> threads;
  for (int r = 0; r < size; ++r)
    threads.emplace_back([&, r] {
      try {
        body(*group[static_cast<size_t>(r)]);
      } catch (...) {
        errors[static_cast<size_t>(r)] = std::current_exception();
      }
    });
  for (std::thread& t : threads) t.join();
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace sugar::testkit
