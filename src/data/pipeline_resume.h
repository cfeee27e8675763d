// SPDX-License-Identifier: Apache-2.0
// Resume state of `fragua corpus build` (internal header). Work is keyed by the input file's
// identity (absolute path, size, modification time), never by its position in the input list:
// a file added to, or removed from, an input folder must not shift which earlier work is reused.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/base/file.h"
#include "pipeline_stats.h"

namespace fragua::data {

struct InputFile {
  std::string path;  // as found (for messages and document sources)
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  std::string key;  // 16 hex digits of XXH64(absolute path, size, mtime): names its shard and state
};

// The files of `inputs` (folders searched recursively), sorted and unique. Skipped inside
// folders: hidden files and folders (".name"), temporaries of an interrupted write
// ("<name>.tmp-<pid>-<suffix>") and the output folder itself, when it lies inside an input folder.
Result<std::vector<InputFile>> list_inputs(const std::vector<std::string>& inputs, const std::string& output);

// "shard-<key>.jsonl"
std::string shard_file_name(const InputFile& f);

// A finished input: its statistics (its dedup keys stay on disk until they are replayed).
struct FinishedFile {
  BuildStats stats;
};

// The committed state of `f` when it is whole and was made from this very file with the same
// dedup key layout (`key_words` 64-bit words per document); nullopt otherwise (also when a file
// of it cannot be read: the input is then redone). The state and keys go through `env`, as every
// access to the output folder does; the inputs are listed and mapped directly
// (docs/architecture.md, "Files and Env").
std::optional<FinishedFile> load_finished(const std::filesystem::path& out, const InputFile& f, size_t key_words,
                                          Env& env);
// The kept dedup keys of a finished file, in their original order.
Result<std::vector<uint64_t>> load_finished_keys(const std::filesystem::path& out, const InputFile& f, Env& env);
// Writes the keys, then the state file (the marker that `f` is done), each atomically. The shard
// must already be committed.
Status commit_state(const std::filesystem::path& out, const InputFile& f, const std::vector<uint64_t>& kept_keys,
                    const BuildStats& stats, size_t key_words, Env& env);
// Removes from shards/ and .state/ every file no finished input owns: the outputs of inputs
// that changed or went away, an earlier layout's files, temporaries of a killed run. Call it
// before any writer starts. Returns how many files it removed; a folder that cannot be listed
// or a file that cannot be removed is an error naming it (the old output would otherwise stay
// in the corpus beside the new one).
Result<size_t> remove_stale_outputs(const std::filesystem::path& out, const std::vector<InputFile>& files,
                                    const std::vector<bool>& finished, Env& env);

}  // namespace fragua::data
