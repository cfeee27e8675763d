#include "train/distributed.h"

#include <algorithm>
#include <climits>
#include <cstdlib>

#ifdef FRAGUA_HAVE_MPI
#include <mpi.h>
#endif

namespace fragua::train {

namespace {
bool launched_by_mpirun() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK");
}
}  // namespace

Distributed::Distributed() {
#ifdef FRAGUA_HAVE_MPI
  if (!launched_by_mpirun()) return;
  int inited = 0;
  MPI_Initialized(&inited);
  if (!inited) {
    MPI_Init(nullptr, nullptr);
    owns_mpi_ = true;
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &world_);
#endif
}

Distributed::~Distributed() {
#ifdef FRAGUA_HAVE_MPI
  if (owns_mpi_) MPI_Finalize();
#endif
}

void Distributed::allreduce_sum(float* data, size_t n) {
#ifdef FRAGUA_HAVE_MPI
  if (world_ == 1) return;
  // MPI counts are int: reduce in slices.
  for (size_t off = 0; off < n; off += INT_MAX / 2) {
    int cnt = static_cast<int>(std::min<size_t>(n - off, INT_MAX / 2));
    MPI_Allreduce(MPI_IN_PLACE, data + off, cnt, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  }
#else
  (void)data;
  (void)n;
#endif
}

void Distributed::allreduce_sum(double* data, size_t n) {
#ifdef FRAGUA_HAVE_MPI
  if (world_ == 1) return;
  MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(n), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
#else
  (void)data;
  (void)n;
#endif
}

void Distributed::barrier() {
#ifdef FRAGUA_HAVE_MPI
  if (world_ > 1) MPI_Barrier(MPI_COMM_WORLD);
#endif
}

}  // namespace fragua::train
