// SPDX-License-Identifier: Apache-2.0
// A test-only gguf-split: writes a GGUF file's tensors as n_parts files PREFIX-0000k-of-0000n.gguf
// laid out as llama.cpp's gguf-split lays them out (all metadata and split.tensors.count in the
// first part; split.no and split.count, as u16, in every part; tensors in file order, the parts
// taking consecutive runs). `edit` may change a part's writer before it is written (the
// corruption tests).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "fragua/format/gguf.h"

namespace fragua::test {

inline format::GgufValue gguf_u16(uint16_t v) {
  format::GgufValue g;
  g.type = format::GgufType::u16;
  g.u = v;
  return g;
}

inline Result<std::vector<std::string>> write_gguf_split(
    const format::GgufFile& src, const std::string& prefix, int n_parts,
    const std::function<void(int part, format::GgufWriter&)>& edit = {}) {
  const auto& tensors = src.tensors();
  std::vector<std::string> paths;
  for (int p = 0; p < n_parts; ++p) {
    format::GgufWriter w;
    w.set_alignment(static_cast<uint32_t>(src.alignment()));
    if (p == 0) {
      for (const auto& kv : src.metadata())
        if (kv.key != "general.alignment") w.set(kv.key, kv.value);
      w.set("split.tensors.count", format::GgufValue::of_i32(static_cast<int32_t>(tensors.size())));
    }
    w.set("split.no", gguf_u16(static_cast<uint16_t>(p)));
    w.set("split.count", gguf_u16(static_cast<uint16_t>(n_parts)));
    const size_t begin = tensors.size() * static_cast<size_t>(p) / static_cast<size_t>(n_parts);
    const size_t end = tensors.size() * static_cast<size_t>(p + 1) / static_cast<size_t>(n_parts);
    for (size_t i = begin; i < end; ++i)
      FRAGUA_TRY(w.add_tensor(tensors[i].name, tensors[i].ne, tensors[i].dtype, tensors[i].data, tensors[i].n_bytes));
    if (edit) edit(p, w);
    paths.push_back(format::gguf_split_path(prefix, p + 1, n_parts));
    FRAGUA_TRY(w.write(paths.back()));
  }
  return paths;
}

}  // namespace fragua::test
