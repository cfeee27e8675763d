// SPDX-License-Identifier: Apache-2.0
#include <cstdio>
#include <string>
#include <vector>

#include "cli/command.h"
#include "fragua/base/log.h"
#include "fragua/base/progress.h"
#include "fragua/base/utf8.h"

namespace fragua::cli {

std::vector<SetupFn>& registry() {
  static std::vector<SetupFn> r;
  return r;
}

Registrar::Registrar(SetupFn setup) { registry().push_back(setup); }

CLI::App* group_subcommand(CLI::App& root, const std::string& name, const std::string& description) {
  for (auto* sub : root.get_subcommands([&](CLI::App* a) { return a->get_name() == name; })) {
    if (sub->get_description().empty() || sub->get_description().size() < description.size())
      sub->description(description);
    return sub;
  }
  auto* sub = root.add_subcommand(name, description);
  sub->require_subcommand(1);
  return sub;
}

// Every command's threads variable, so that a -t given before the subcommand (fragua -t 4 ...)
// reaches the command that runs.
static std::vector<int*>& threads_targets() {
  static std::vector<int*> t;
  return t;
}

void add_threads_flag(CLI::App& app, int& threads) {
  app.add_option("-t,--threads", threads, "Worker threads (default: all cores, or $FRAGUA_THREADS)");
  threads_targets().push_back(&threads);
}

CLI::Option* add_output_flag(CLI::App& app, std::string& out, const std::string& description, const std::string& old) {
  auto* opt = app.add_option("-o,--output", out, description);
  if (!old.empty()) app.add_option(old, out, "")->group("");
  return opt;
}

void require_output(const std::string& out, const char* what) {
  if (out.empty()) throw Failure{invalid_argument_error("expected an output: -o/--output {}", what), 2};
}

}  // namespace fragua::cli

int main(int argc, char** argv) {
  using namespace fragua;
  CLI::App app{"Fragua: generative AI for Spanish, Catalan/Valencian, Basque and Galician"};
  app.set_version_flag("--version", std::string("fragua ") + FRAGUA_VERSION);
  app.require_subcommand(1);
  // Global flags may come anywhere on the line, as in llama.cpp (fragua generate m.gguf -v): an
  // option a subcommand does not know falls through to its parent. Subcommands inherit this.
  app.fallthrough();
  bool quiet = false, verbose = false;
  int threads = 0;
  app.add_flag("-q,--quiet", quiet, "Only errors; no progress bars");
  app.add_flag("-v,--verbose", verbose, "Debug logging: SIMD level, threads, what was loaded, the seed");
  app.add_option("-t,--threads", threads, "Worker threads for the command (default: all cores, or $FRAGUA_THREADS)");
  app.parse_complete_callback([&] {
    if (threads > 0)
      for (int* t : cli::threads_targets())
        if (*t == 0) *t = threads;
    if (quiet) {
      set_log_level(LogLevel::error);
      ProgressBar::set_enabled(false);
    } else if (verbose) {
      set_log_level(LogLevel::debug);
    }
  });
  for (auto setup : cli::registry()) setup(app);
  // llama.cpp spells --system-prompt as -sys, a name CLI11 cannot hold (one dash, one letter):
  // the word is rewritten before parsing, up to a "--" that ends the options.
  std::vector<std::string> args;
  for (int i = argc - 1; i >= 1; --i) args.emplace_back(argv[i]);  // CLI11 takes them reversed
  for (size_t i = args.size(); i-- > 0;) {
    if (args[i] == "--") break;
    if (args[i] == "-sys") args[i] = "--system-prompt";
  }
  app.name(argv[0]);  // what parse(argc, argv) would name the program in usage lines
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // A usage error exits with 2, as getopt-style tools do (CLI11's own codes are 100 and up).
    app.exit(e);
    return 2;
  } catch (const cli::Failure& f) {
    // Messages quote names from the input files; stderr is a terminal too.
    std::fprintf(stderr, "fragua: error: %s\n", terminal_safe(f.error.to_string(), true).c_str());
    return f.code;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "fragua: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fragua: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
