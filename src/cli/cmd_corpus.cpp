// SPDX-License-Identifier: Apache-2.0
// `fragua corpus ...`: the corpus pipeline (src/data/). Thin: flags in, library calls out.
#include <cstdlib>
#include <iostream>
#include <iterator>

#include "cli/command.h"
#include "fragua/data/debian.h"
#include "fragua/data/pii.h"

namespace fragua::cli {
void setup_corpus_langid(CLI::App& corpus);
void setup_corpus_build(CLI::App& corpus);

namespace FRAGUA_CMD_NS {

std::string default_cache() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/fragua/debian";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/fragua/debian";
  return ".fragua-cache/debian";
}

void setup(CLI::App& root) {
  auto* corpus =
      group_subcommand(root, "corpus", "Corpus pipeline: sources, cleaning, language id, filters, dedup, PII, shards");

  auto* fetch = corpus->add_subcommand("fetch", "Fetch a built-in source");
  fetch->require_subcommand(1);
  auto* debian = fetch->add_subcommand("debian", "Text in our languages from Debian packages (apt-get download)");
  auto fo = std::make_shared<data::FetchOptions>();
  fo->cache_dir = default_cache();
  fo->out_dir = "corpus/debian";
  debian
      ->add_option("--preset", fo->preset,
                   "small (help pages, books, LibreOffice catalogs) or full (adds every package whose "
                   "es/ca/ca@valencia/eu/gl gettext catalogs the archive's Contents indices list)")
      ->capture_default_str();
  debian->add_option("--cache", fo->cache_dir, "Download and extraction cache (resumable)")->capture_default_str();
  debian->add_option("-o,--out", fo->out_dir, "Output folder: <lang>.jsonl, parallel/, manifest.json")
      ->capture_default_str();
  debian->add_option("--packages", fo->packages, "Explicit package list (overrides --preset)")->delimiter(',');
  debian->add_option("--apt-get", fo->apt_get, "apt-get executable")->capture_default_str();
  add_threads_flag(*debian, fo->threads);
  debian->callback([fo] { check(data::fetch_debian(*fo)); });

  auto* pii = corpus->add_subcommand("pii", "Redact personal data from stdin to stdout (typed placeholders)");
  auto counts = std::make_shared<bool>(false);
  pii->add_flag("--counts", *counts, "Print the number of matches per kind to stderr");
  pii->callback([counts] {
    std::string in((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    auto r = data::redact_pii(in);
    std::cout << r.text;
    if (*counts)
      for (int k = 0; k < data::kPiiKindCount; ++k)
        std::cerr << data::pii_kind_name(static_cast<data::PiiKind>(k)) << "\t" << r.counts[k] << "\n";
  });

  setup_corpus_langid(*corpus);
  setup_corpus_build(*corpus);
}

Registrar reg(setup);
}  // namespace
}  // namespace fragua::cli
