# Open MPI settings for running `mpirun` as root inside a container or chroot (CI does both).
# Source it: `source tests/mpi/mpi_env.sh`. CTest's MPI tests set the same variables (tests/CMakeLists.txt).

# mpirun refuses to start as root unless both of these say so.
export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Shared-memory transport (vader): its single-copy path uses Linux CMA (process_vm_readv), which a
# container without CAP_SYS_PTRACE forbids ("Read -1, expected ..., errno = 1"); copy through the
# shared segment instead.
export OMPI_MCA_btl_vader_single_copy_mechanism=none
# Allow more ranks than the cores mpirun sees (a CI machine or a container's cpuset may have fewer
# cores than -np); without it mpirun stops with "not enough slots available".
export OMPI_MCA_rmaps_base_oversubscribe=1
