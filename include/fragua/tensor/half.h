// SPDX-License-Identifier: Apache-2.0
// IEEE 754 binary16 and bfloat16 conversions. Narrowing rounds to nearest, ties to even (as
// F16C's VCVTPS2PH with imm 0 and as GGML's GGML_FP32_TO_BF16); NaN stays NaN.
#pragma once

#include <cstdint>

namespace fragua {

uint16_t fp32_to_fp16(float f);
float fp16_to_fp32(uint16_t h);
uint16_t fp32_to_bf16(float f);
float bf16_to_fp32(uint16_t h);

}  // namespace fragua
