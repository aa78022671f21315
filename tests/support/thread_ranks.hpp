#pragma once
// Data-parallel tests without MPI: the ranks of an in-process communicator group
// (dist::make_thread_group), one thread each.
#include <functional>

#include "sugar/dist/communicator.hpp"

namespace sugar::testkit {

// Runs body(communicator) on one thread per rank of a `size`-rank thread group and rethrows the first
// rank's failure on the calling thread, so that assertions about the results can stay there.
void run_ranks(int size, const std::function<void(dist::Communicator&)>& body);

}  // namespace sugar::testkit
