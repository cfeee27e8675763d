// SPDX-License-Identifier: Apache-2.0
// Compiled with fragua_data's include directories: another subsystem's private header must not be
// found (the test passes when the compiler says the file is not found).
#include "tokenize/tokenizer_impl.h"

int arch_probe_cross() { return 0; }
