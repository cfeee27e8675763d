// SPDX-License-Identifier: Apache-2.0
// MPI across ranks, when Fragua is built with MPI and started by a launcher (mpirun, srun: seen
// in the environment, so a plain run never needs an MPI runtime). Otherwise a world of one, in
// which every collective returns the caller's own data. Used by data-parallel training and by
// corpus builds that split their inputs over ranks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fragua {

class Communicator {
 public:
  // Initialises MPI when launched under one and MPI is not initialised yet; the communicator that
  // initialised it finalises it when destroyed.
  Communicator();
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool distributed() const { return size_ > 1; }

  // In-place sums over ranks (counts above INT_MAX are sent in slices).
  void allreduce_sum(float* data, size_t n);
  void allreduce_sum(double* data, size_t n);
  // Logical AND across ranks: every rank must agree that a step succeeded.
  bool all_ok(bool ok);
  // Every rank's vector, in rank order.
  std::vector<std::vector<uint64_t>> allgather(const std::vector<uint64_t>& mine);
  // Every rank's string, in rank order, at rank 0; other ranks get an empty list.
  std::vector<std::string> gather_strings(const std::string& mine);
  void barrier();

 private:
  int rank_ = 0, size_ = 1;
  [[maybe_unused]] bool owns_mpi_ = false;  // unused in builds without MPI
};

}  // namespace fragua
