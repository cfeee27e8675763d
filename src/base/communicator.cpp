// SPDX-License-Identifier: Apache-2.0
#include "fragua/base/communicator.h"

#include <algorithm>
#include <climits>

#ifdef FRAGUA_HAVE_MPI
#include <mpi.h>
#endif

#include "fragua/base/runtime_options.h"

namespace fragua {

Communicator::Communicator() {
#ifdef FRAGUA_HAVE_MPI
  if (!runtime_options().mpi_launched) return;
  int inited = 0;
  MPI_Initialized(&inited);
  if (!inited) {
    MPI_Init(nullptr, nullptr);
    owns_mpi_ = true;
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
#endif
}

Communicator::~Communicator() {
#ifdef FRAGUA_HAVE_MPI
  if (owns_mpi_) MPI_Finalize();
#endif
}

#ifdef FRAGUA_HAVE_MPI
namespace {

// Counts of each rank's part and their offsets in the concatenation (MPI counts are int).
int displacements(const std::vector<int>& counts, std::vector<int>& displs) {
  int total = 0;
  for (size_t r = 0; r < counts.size(); ++r) {
    displs[r] = total;
    total += counts[r];
  }
  return total;
}

}  // namespace
#endif

void Communicator::allreduce_sum(float* data, size_t n) {
#ifdef FRAGUA_HAVE_MPI
  if (size_ == 1) return;
  for (size_t off = 0; off < n; off += INT_MAX / 2) {
    int cnt = static_cast<int>(std::min<size_t>(n - off, INT_MAX / 2));
    MPI_Allreduce(MPI_IN_PLACE, data + off, cnt, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  }
#else
  (void)data;
  (void)n;
#endif
}

void Communicator::allreduce_sum(double* data, size_t n) {
#ifdef FRAGUA_HAVE_MPI
  if (size_ == 1) return;
  for (size_t off = 0; off < n; off += INT_MAX / 2) {
    int cnt = static_cast<int>(std::min<size_t>(n - off, INT_MAX / 2));
    MPI_Allreduce(MPI_IN_PLACE, data + off, cnt, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  }
#else
  (void)data;
  (void)n;
#endif
}

bool Communicator::all_ok(bool ok) {
#ifdef FRAGUA_HAVE_MPI
  if (size_ > 1) {
    int v = ok ? 1 : 0, r = 0;
    MPI_Allreduce(&v, &r, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return r == 1;
  }
#endif
  return ok;
}

std::vector<std::vector<uint64_t>> Communicator::allgather(const std::vector<uint64_t>& mine) {
#ifdef FRAGUA_HAVE_MPI
  if (size_ > 1) {
    int n = static_cast<int>(mine.size());
    std::vector<int> counts(static_cast<size_t>(size_)), displs(static_cast<size_t>(size_));
    MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
    std::vector<uint64_t> all(static_cast<size_t>(displacements(counts, displs)));
    MPI_Allgatherv(mine.data(), n, MPI_UINT64_T, all.data(), counts.data(), displs.data(), MPI_UINT64_T,
                   MPI_COMM_WORLD);
    std::vector<std::vector<uint64_t>> out;
    for (size_t r = 0; r < counts.size(); ++r)
      out.emplace_back(all.begin() + displs[r], all.begin() + displs[r] + counts[r]);
    return out;
  }
#endif
  return {mine};
}

std::vector<std::string> Communicator::gather_strings(const std::string& mine) {
#ifdef FRAGUA_HAVE_MPI
  if (size_ > 1) {
    int n = static_cast<int>(mine.size());
    std::vector<int> counts(static_cast<size_t>(size_)), displs(static_cast<size_t>(size_));
    MPI_Gather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
    int total = displacements(counts, displs);
    std::string all(static_cast<size_t>(rank_ == 0 ? total : 0), '\0');
    MPI_Gatherv(mine.data(), n, MPI_CHAR, all.data(), counts.data(), displs.data(), MPI_CHAR, 0, MPI_COMM_WORLD);
    std::vector<std::string> out;
    if (rank_ == 0)
      for (size_t r = 0; r < counts.size(); ++r)
        out.push_back(all.substr(static_cast<size_t>(displs[r]), static_cast<size_t>(counts[r])));
    return out;
  }
#endif
  return {mine};
}

void Communicator::barrier() {
#ifdef FRAGUA_HAVE_MPI
  if (size_ > 1) MPI_Barrier(MPI_COMM_WORLD);
#endif
}

}  // namespace fragua
