// MPI data parallelism, when Fragua is built with MPI and launched by mpirun (detected from the
// launcher's environment, so a plain run never initialises MPI). Otherwise a world of one.
#pragma once

#include <cstddef>

namespace fragua::train {

class Distributed {
 public:
  Distributed();
  ~Distributed();
  Distributed(const Distributed&) = delete;
  Distributed& operator=(const Distributed&) = delete;
  int rank() const { return rank_; }
  int world() const { return world_; }
  // In-place sum over ranks.
  void allreduce_sum(float* data, size_t n);
  void allreduce_sum(double* data, size_t n);
  void barrier();

 private:
  int rank_ = 0, world_ = 1;
  bool owns_mpi_ = false;
};

}  // namespace fragua::train
