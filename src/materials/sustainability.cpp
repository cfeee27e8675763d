#include <algorithm>
#include <array>

#include "fragua/materials/screen.h"

namespace fragua::materials {

namespace {

// Atomic numbers. CRMA 2023 list: Sb As Al(bauxite) Ba(baryte) Be Bi B Co Cu F(fluorspar) Ga Ge
// Hf He Li Mg Mn Nb Ni P(phosphate rock, phosphorus) Sc Si Sr Ta Ti W V, the platinum-group
// metals (Ru Rh Pd Os Ir Pt) and the rare earths (Y, La-Lu but Pm). Coking coal, natural
// graphite and feldspar are materials, not elements, and are left out.
constexpr std::array<int, 50> kCritical = {51, 33, 13, 56, 4,  83, 5,  27, 29, 9,  31, 32, 72, 2,  3,  12, 25,
                                           41, 28, 15, 21, 14, 38, 73, 22, 74, 23, 44, 45, 46, 76, 77, 78, 39,
                                           57, 58, 59, 60, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 0,  0};
constexpr std::array<int, 5> kToxic = {82, 80, 48, 24, 33};  // Pb Hg Cd Cr As

}  // namespace

bool is_critical_raw_material(int z) {
  return z > 0 && std::find(kCritical.begin(), kCritical.end(), z) != kCritical.end();
}
bool is_toxic(int z) { return std::find(kToxic.begin(), kToxic.end(), z) != kToxic.end(); }

}  // namespace fragua::materials
