#include "backend/cpu/kernels.h"
namespace fragua::cpu {
const Kernels& kernels_avx512() { static Kernels t = [] { Kernels k = kernels_scalar(); k.name = "avx512"; return k; }(); return t; }
}
