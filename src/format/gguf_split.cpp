// SPDX-License-Identifier: Apache-2.0
// Split GGUF models as llama.cpp's gguf-split writes them and its model loader reads them
// (llama-model-loader.cpp: the first part names the count, the others are found by
// llama_split_path and must carry split.no equal to their index). See gguf.h.
#include <fmt/format.h>

#include "fragua/format/gguf.h"

namespace fragua::format {
namespace {

// Five decimal digits, as "%05d" prints the numbers gguf-split uses (at most 99999 parts).
std::optional<int> five_digits(std::string_view s) {
  if (s.size() != 5) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace

std::string gguf_split_path(std::string_view prefix, int no, int count) {
  return fmt::format("{}-{:05d}-of-{:05d}.gguf", prefix, no, count);
}

std::optional<GgufSplitName> parse_gguf_split_name(std::string_view path) {
  constexpr std::string_view kTail = ".gguf";
  constexpr size_t kSuffix = 1 + 5 + 4 + 5 + kTail.size();  // "-00001-of-00003.gguf"
  if (path.size() <= kSuffix || !path.ends_with(kTail)) return std::nullopt;
  const std::string_view suffix = path.substr(path.size() - kSuffix);
  if (suffix[0] != '-' || suffix.substr(6, 4) != "-of-") return std::nullopt;
  const auto no = five_digits(suffix.substr(1, 5));
  const auto count = five_digits(suffix.substr(10, 5));
  if (!no || !count || *no < 1 || *no > *count) return std::nullopt;
  return GgufSplitName{std::string(path.substr(0, path.size() - kSuffix)), *no, *count};
}

Status GgufFile::open_split_parts() {
  const uint64_t count = FRAGUA_TRY(get_uint_or("split.count", 1));
  if (count <= 1) return {};
  const uint64_t no = FRAGUA_TRY(get_uint_or("split.no", 0));
  const auto name = parse_gguf_split_name(path());
  if (no != 0) {
    const std::string first = name ? gguf_split_path(name->prefix, 1, name->count) : "the -00001-of- file";
    return invalid_argument_error("{}: part {} of {} of a split model; open the first part, {}", path(), no + 1,
                                  count, first);
  }
  if (!name || name->no != 1 || static_cast<uint64_t>(name->count) != count)
    return invalid_argument_error(
        "{}: the first part of a split model of {} files, whose name should end in -00001-of-{:05d}.gguf (the "
        "other parts are found by that name)",
        path(), count, count);
  for (int i = 2; i <= name->count; ++i) {
    const std::string part_path = gguf_split_path(name->prefix, i, name->count);
    auto part = open_single(part_path);
    if (!part.ok())
      return part.error().with_context(fmt::format("part {} of {} of the split model {}", i, count, path()));
    const uint64_t part_count = FRAGUA_TRY(part->get_uint_or("split.count", 0));
    const uint64_t part_no = FRAGUA_TRY(part->get_uint_or("split.no", 0));
    if (part_count != count || part_no != static_cast<uint64_t>(i - 1))
      return corruption_error(
          "{}: split.no {} and split.count {}, but as part {} of the split model {} it should have {} and {}",
          part_path, part->find("split.no") ? std::to_string(part_no) : "(missing)",
          part->find("split.count") ? std::to_string(part_count) : "(missing)", i, path(), i - 1, count);
    FRAGUA_TRY(adopt_part(std::move(*part)));
  }
  if (find("split.tensors.count") != nullptr) {
    const uint64_t expected = FRAGUA_TRY(get_uint("split.tensors.count"));
    if (expected != tensors().size())
      return corruption_error("{}: split.tensors.count is {} but the {} parts hold {} tensors", path(), expected,
                              count, tensors().size());
  }
  return {};
}

}  // namespace fragua::format
