#pragma once
// The MPI communicator behind dist::world() (mpi_communicator.cpp, compiled only when SUGAR_WITH_MPI).
// Internal to src/dist.
#include "sugar/dist/communicator.hpp"

namespace sugar::dist::detail {

// MPI's world, initialising MPI on the first call (MPI_Init_thread, MPI_THREAD_SERIALIZED).
Communicator& mpi_world();
// Stops the communication thread and calls MPI_Finalize; does nothing if MPI was never initialised here.
void mpi_finalize();

}  // namespace sugar::dist::detail
