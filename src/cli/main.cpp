// SPDX-License-Identifier: Apache-2.0
#include <cstdio>

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

void add_threads_flag(CLI::App& app, int& threads) {
  app.add_option("-t,--threads", threads, "Worker threads (default: all cores, or $FRAGUA_THREADS)");
}

}  // namespace fragua::cli

int main(int argc, char** argv) {
  using namespace fragua;
  CLI::App app{"Fragua: generative AI for Spanish, Catalan/Valencian, Basque and Galician"};
  app.set_version_flag("--version", std::string("fragua ") + FRAGUA_VERSION);
  app.require_subcommand(1);
  bool quiet = false, verbose = false;
  app.add_flag("-q,--quiet", quiet, "Only errors; no progress bars");
  app.add_flag("-v,--verbose", verbose, "Debug logging");
  app.parse_complete_callback([&] {
    if (quiet) {
      set_log_level(LogLevel::error);
      ProgressBar::set_enabled(false);
    } else if (verbose) {
      set_log_level(LogLevel::debug);
    }
  });
  for (auto setup : cli::registry()) setup(app);
  try {
    app.parse(argc, argv);
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
