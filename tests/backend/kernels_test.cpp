// SPDX-License-Identifier: Apache-2.0
// The kernel tables of the CPU backend: one per SIMD level, every entry set.
#include "backend/cpu/kernels.h"

#include <cstdint>
#include <cstring>
#include <string>

#include "test_util.h"

namespace fragua::cpu {
namespace {

// A designated initialiser leaves an entry it does not name null, silently. Kernels holds only
// pointers (its name and the kernels), so the check walks it slot by slot: an entry added to the
// struct later is covered too.
static_assert(sizeof(Kernels) % sizeof(void*) == 0, "Kernels holds pointers only");

TEST(KernelTables, EveryEntryOfEveryLevelIsSet) {
  const std::string names[] = {"scalar", "avx2", "avx512"};
  const Kernels* tables[] = {&kernels_scalar(), &kernels_avx2(), &kernels_avx512()};
  for (int i = 0; i < 3; ++i) {
    const Kernels& t = *tables[i];
    EXPECT_EQ(t.name, names[i]);
    const auto* bytes = reinterpret_cast<const unsigned char*>(&t);
    for (size_t slot = 0; slot < sizeof(Kernels) / sizeof(void*); ++slot) {
      uintptr_t p = 0;
      std::memcpy(&p, bytes + slot * sizeof(void*), sizeof(void*));
      EXPECT_NE(p, 0u) << names[i] << ": entry " << slot << " of the kernel table is not set";
    }
  }
}

}  // namespace
}  // namespace fragua::cpu
