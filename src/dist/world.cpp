// Which communicator this process has: MPI's world when an MPI launcher started it (and the library
// was built with MPI), else the single process. Nothing here touches MPI unless a launcher is seen,
// so a plain `sugar train` never initialises MPI.
#include <cstdlib>

#include "sugar/dist/communicator.hpp"

#if SUGAR_WITH_MPI
#include "mpi_world.hpp"
#endif

namespace sugar::dist {

bool built_with_mpi() {
#if SUGAR_WITH_MPI
  return true;
#else
  return false;
#endif
}

bool started_by_mpi_launcher() {
  // Open MPI's mpirun sets OMPI_COMM_WORLD_SIZE; MPICH/Hydra and Slurm's PMI-2 set PMI_SIZE; PMIx
  // launchers (srun --mpi=pmix, prun) set PMIX_RANK.
  return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK");
}

Communicator& world() {
#if SUGAR_WITH_MPI
  if (started_by_mpi_launcher()) return detail::mpi_world();
#endif
  return single_process();
}

void finalize() {
#if SUGAR_WITH_MPI
  detail::mpi_finalize();
#endif
}

}  // namespace sugar::dist
