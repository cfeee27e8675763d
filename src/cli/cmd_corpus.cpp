// SPDX-License-Identifier: Apache-2.0
// `fragua corpus ...`: the corpus pipeline (src/data/). Thin: flags in, library calls out.
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <iterator>

#include <fmt/format.h>

#include "cli/command.h"
#include "fragua/data/debian.h"
#include "fragua/data/pii.h"
#include "fragua/serve/server.h"

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
  add_output_flag(*debian, fo->out_dir, "Output folder: <lang>.jsonl, parallel/, manifest.json")->capture_default_str();
  debian->add_option("--packages", fo->packages, "Explicit package list (overrides --preset)")->delimiter(',');
  debian->add_option("--apt-get", fo->apt_get, "apt-get executable")->capture_default_str();
  add_threads_flag(*debian, fo->threads);
  debian->callback([fo] { check(data::fetch_debian(*fo)); });

  auto* pii = corpus->add_subcommand(
      "pii", "Redact personal data from stdin to stdout (typed placeholders), or list it as JSON (--json)");
  struct PiiFlags {
    bool counts = false, json = false;
    std::string kinds = "all";
  };
  auto po = std::make_shared<PiiFlags>();
  pii->add_flag("--counts", po->counts, "Print the number of matches per kind to stderr");
  pii->add_option("--kinds", po->kinds, "Kinds to find: all, or some of email,phone,dni,nie,nif,iban,card,ip")
      ->capture_default_str();
  pii->add_flag("--json", po->json,
                "Print the matches instead of the redacted text: a JSON array of {entity_type, start, end, rule}, "
                "start and end as byte offsets into the input (end exclusive)");
  pii->callback([po] {
    data::PiiOptions options;
    auto kinds = serve::parse_pii_kinds(po->kinds);
    if (!kinds.ok()) throw Failure{std::move(kinds).error().with_context("--kinds"), 2};
    options.kinds = *kinds;
    std::string in((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    int counts[data::kPiiKindCount] = {};
    if (po->json) {
      // Presidio's analyzer results (entity_type, start, end, the recognizer that matched), with
      // byte offsets: the input is bytes, and a byte offset indexes it in any language.
      const auto matches = data::find_pii(in, options);
      std::string out = "[";
      for (size_t i = 0; i < matches.size(); ++i) {
        const auto& m = matches[i];
        ++counts[static_cast<int>(m.kind)];
        out += fmt::format("{}\n{{\"entity_type\": \"{}\", \"start\": {}, \"end\": {}, \"rule\": \"{}\"}}", i ? "," : "",
                           data::pii_kind_name(m.kind), m.offset, m.offset + m.length, data::pii_rule(m, in));
      }
      out += matches.empty() ? "]\n" : "\n]\n";
      std::cout << out;
    } else {
      auto r = data::redact_pii(in, options);
      std::cout << r.text;
      std::copy(std::begin(r.counts), std::end(r.counts), counts);
    }
    if (po->counts)
      for (int k = 0; k < data::kPiiKindCount; ++k)
        if (options.enabled(static_cast<data::PiiKind>(k)))
          std::cerr << data::pii_kind_name(static_cast<data::PiiKind>(k)) << "\t" << counts[k] << "\n";
  });

  setup_corpus_langid(*corpus);
  setup_corpus_build(*corpus);
}

Registrar reg(setup);
}  // namespace
}  // namespace fragua::cli
