// SPDX-License-Identifier: Apache-2.0
// The CLI is thin: each subcommand lives in its own cmd_<name>.cpp, parses flags with CLI11 and
// calls the library. A file registers itself with a static Registrar, so adding a subcommand
// touches no other file.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "fragua/base/error.h"

// What a command file keeps to itself (its flags struct, setup function, Registrar) goes in
// `namespace FRAGUA_CMD_NS { ... }`. Compiled alone, that is an anonymous namespace; in a unity
// build, where CMake compiles several command files as one translation unit, CMake defines
// FRAGUA_CMD_NS as a name unique to each file (UNITY_BUILD_UNIQUE_ID in CMakeLists.txt), so that
// every file can call its struct `Opts` and its function `setup`.
#ifndef FRAGUA_CMD_NS
#define FRAGUA_CMD_NS
#endif

namespace fragua::cli {

using SetupFn = void (*)(CLI::App& root);

struct Registrar {
  explicit Registrar(SetupFn setup);
};

std::vector<SetupFn>& registry();

// Thrown from a subcommand callback to end the program with `code` after printing `error`.
struct Failure {
  Error error;
  int code = 1;
};

// Turns a failed Status into a Failure (printed by main as "fragua: error: ...").
inline void check(const Status& s) {
  if (!s.ok()) throw Failure{s.error(), 1};
}
template <typename T>
T check(Result<T> r) {
  if (!r.ok()) throw Failure{std::move(r).error(), 1};
  return std::move(r).value();
}

// A command group shared by several files (`corpus shard` lives beside `corpus build`): returns
// the existing subcommand or adds it. Registration order between files is unspecified.
CLI::App* group_subcommand(CLI::App& root, const std::string& name, const std::string& description);

// Common flags.
struct CommonFlags {
  int threads = 0;
  bool quiet = false;
};
void add_threads_flag(CLI::App& app, int& threads);

// The output is -o/--output on every command (README, "Flags"); `old` ("--out"), the spelling a
// command had before, stays as a hidden alias for scripts. Where an output is required, the
// command's callback calls require_output (a usage error, exit 2, when neither was given).
CLI::Option* add_output_flag(CLI::App& app, std::string& out, const std::string& description,
                             const std::string& old = "--out");
void require_output(const std::string& out, const char* what = "FILE");

}  // namespace fragua::cli
