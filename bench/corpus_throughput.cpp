// SPDX-License-Identifier: Apache-2.0
// Throughput of the corpus chain on real documents, one thread: clean, langid (document level),
// PII, and the three together; MB of input text per second of this thread's CPU time (the
// machine is shared: wall time would measure the other jobs too). Usage:
// bench_corpus_throughput FILE.jsonl...
#include <chrono>
#include <cstdio>
#include <ctime>

#include "fragua/base/file.h"
#include "fragua/data/clean.h"
#include "fragua/data/dedup.h"
#include "fragua/data/langid.h"
#include "fragua/data/pii.h"
#include "fragua/data/quality.h"
#include "fragua/data/source.h"

using namespace fragua;
using namespace fragua::data;

static double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

int main(int argc, char** argv) {
  std::vector<std::string> docs;
  size_t bytes = 0;
  for (int i = 1; i < argc; ++i) {
    auto f = read_file(argv[i]);
    if (!f.ok()) {
      std::fprintf(stderr, "%s\n", f.error().to_string().c_str());
      return 1;
    }
    SourceStats st;
    parse_jsonl(
        *f, argv[i],
        [&](Document&& d) {
          bytes += d.text.size();
          docs.push_back(std::move(d.text));
        },
        st);
  }
  auto model = LangIdModel::load_default();
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", model.error().to_string().c_str());
    return 1;
  }
  auto time = [&](const char* name, auto&& fn) {
    double best = 1e9;
    for (int rep = 0; rep < 3; ++rep) {
      double t0 = cpu_seconds();
      size_t sink = 0;
      for (const auto& d : docs) sink += fn(d);
      double s = cpu_seconds() - t0;
      best = std::min(best, s);
      if (sink == 42) std::puts("");
    }
    std::printf("%-22s %8.1f MB per CPU-second  (%.1f MB, best of 3)\n", name, static_cast<double>(bytes) / 1e6 / best,
                static_cast<double>(bytes) / 1e6);
  };
  time("clean", [](const std::string& d) { return clean_text(d).size(); });
  time("langid", [&](const std::string& d) { return model->identify(d).lang.size(); });
  time("pii", [](const std::string& d) { return redact_pii(d).text.size(); });
  time("clean+langid+pii", [&](const std::string& d) {
    std::string c = clean_text(d);
    auto g = model->identify(c);
    return redact_pii(c).text.size() + g.lang.size();
  });
  DedupOptions dopt;
  time("quality", [](const std::string& d) { return check_quality(d, "es").keep ? size_t{1} : size_t{0}; });
  time("dedup key (minhash)", [&](const std::string& d) { return dedup_key(d, dopt).bands.size(); });
  return 0;
}
