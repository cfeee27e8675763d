#include "backend/cpu/kernels.h"
namespace fragua::cpu {
const Kernels& kernels_avx2() { static Kernels t = [] { Kernels k = kernels_scalar(); k.name = "avx2"; return k; }(); return t; }
}
