// The corpus build driver (see pipeline.h for the design).
#include "fragua/data/pipeline.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "fragua/base/communicator.h"
#include "fragua/base/file.h"
#include "fragua/base/json.h"
#include "fragua/base/log.h"
#include "fragua/base/progress.h"
#include "fragua/base/thread_pool.h"
#include "fragua/data/langid.h"
#include "fragua/data/source.h"
#include "pipeline_stats.h"

namespace fragua::data {
namespace fs = std::filesystem;
namespace {

struct Item {
  Document doc;
  std::string lang = "und";
  double confidence = 0;
  std::string dropped;  // "stage:reason"
  DedupKey key;
  int pii[kPiiKindCount] = {};
};

Result<std::vector<std::string>> list_inputs(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const auto& in : inputs) {
    std::error_code ec;
    if (fs::is_directory(in, ec)) {
      for (auto it = fs::recursive_directory_iterator(in, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file()) files.push_back(it->path().string());
      if (ec) return io_error("{}: {}", in, ec.message());
    } else if (fs::is_regular_file(in, ec)) {
      files.push_back(in);
    } else {
      return not_found_error("input '{}' does not exist", in);
    }
  }
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  return files;
}

// Stages before dedup, on one document (runs on a worker thread).
void early_stages(Item& it, const BuildConfig& c, const LangIdModel* model) {
  auto& text = it.doc.text;
  if (c.clean) text = clean_text(text, c.clean_options);
  if (text.empty()) {
    it.dropped = "clean:empty";
    return;
  }
  if (model) {
    auto g = model->identify_document(text, false).guess;
    it.lang = g.lang;
    it.confidence = g.confidence;
    bool keep = c.keep_langs.empty() ||
                std::find(c.keep_langs.begin(), c.keep_langs.end(), g.base_lang) != c.keep_langs.end() ||
                std::find(c.keep_langs.begin(), c.keep_langs.end(), g.lang) != c.keep_langs.end();
    if (!keep) {
      it.dropped = "langid:other_language";
      return;
    }
    if (g.confidence < c.min_lang_confidence) {
      it.dropped = "langid:low_confidence";
      return;
    }
  } else if (!it.doc.lang.empty()) {
    it.lang = it.doc.lang;
  }
  if (c.quality) {
    auto v = check_quality(text, it.lang, c.quality_options);
    if (!v.keep) {
      it.dropped = "quality:" + v.reason;
      return;
    }
  }
  if (c.dedup) it.key = dedup_key(text, c.dedup_options);
}

std::string shard_name(size_t i) { return fmt::format("shard-{:06d}.jsonl", i); }

// Flat key list for exchange: per document exact_lo, exact_hi, then `bands` band hashes.
void append_key(std::vector<uint64_t>& flat, const DedupKey& k, int bands) {
  flat.push_back(k.exact_lo);
  flat.push_back(k.exact_hi);
  for (int b = 0; b < bands; ++b) flat.push_back(b < static_cast<int>(k.bands.size()) ? k.bands[static_cast<size_t>(b)] : 0);
}

// Writes the shard, keys and stats of a processed file (each atomically; the stats file last,
// as the marker that the file is done).
Status commit_file(const fs::path& out, size_t index, const std::vector<Item>& items, const std::vector<uint64_t>& kept_keys,
                   const BuildStats& stats) {
  auto shard = FRAGUA_TRY(AtomicFile::create((out / "shards" / shard_name(index)).string()));
  for (const auto& it : items) {
    if (!it.dropped.empty()) continue;
    nlohmann::json j = {{"text", it.doc.text}, {"lang", it.lang}, {"lang_confidence", it.confidence},
                        {"id", it.doc.id}, {"source", it.doc.source}};
    if (it.doc.meta.contains("licence")) j["licence"] = it.doc.meta["licence"];
    if (!it.doc.meta.empty()) j["meta"] = it.doc.meta;
    FRAGUA_TRY(shard.append(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"));
  }
  FRAGUA_TRY(shard.commit());
  std::string keys(reinterpret_cast<const char*>(kept_keys.data()), kept_keys.size() * sizeof(uint64_t));
  FRAGUA_TRY(write_file_atomic((out / ".state" / fmt::format("{:06d}.keys", index)).string(), keys));
  return write_file_atomic((out / ".state" / fmt::format("{:06d}.stats.json", index)).string(), stats.to_json().dump() + "\n");
}

}  // namespace

Status run_build(const BuildConfig& c) {
  Communicator comm;
  auto files = FRAGUA_TRY(list_inputs(c.inputs));
  fs::path out(c.output);
  std::error_code ec;
  fs::create_directories(out / "shards", ec);
  fs::create_directories(out / ".state", ec);
  if (ec) return io_error("{}: {}", c.output, ec.message());
  std::unique_ptr<LangIdModel> model;
  if (c.langid) {
    auto m = c.langid_model.empty() ? LangIdModel::load_default() : LangIdModel::load(c.langid_model);
    if (!m.ok()) return std::move(m).error().with_context("loading the language-id model");
    model = std::make_unique<LangIdModel>(std::move(*m));
  }
  DedupIndex index(c.dedup_options);
  const int bands = c.dedup_options.bands;
  const size_t per_key = 2 + static_cast<size_t>(bands);
  ThreadPool pool(c.threads > 0 ? c.threads : ThreadPool::default_threads());
  BuildStats total;
  size_t rounds = (files.size() + static_cast<size_t>(comm.size()) - 1) / static_cast<size_t>(comm.size());
  ProgressBar bar(comm.distributed() ? fmt::format("build rank {}", comm.rank()) : "build", files.size(), "files");
  Status failure = ok_status();
  for (size_t r = 0; r < rounds; ++r) {
    size_t f = r * static_cast<size_t>(comm.size()) + static_cast<size_t>(comm.rank());
    bool mine = f < files.size();
    bool resumed = false;
    std::vector<Item> items;
    std::vector<uint64_t> flat;
    std::vector<size_t> candidates;  // items sent to dedup
    BuildStats st;
    if (mine && failure.ok()) {
      fs::path stats_path = out / ".state" / fmt::format("{:06d}.stats.json", f);
      auto prev = read_file(stats_path.string());
      auto keys = read_file((out / ".state" / fmt::format("{:06d}.keys", f)).string());
      if (prev.ok() && keys.ok() && fs::exists(out / "shards" / shard_name(f))) {
        resumed = true;  // its kept keys go back into the index, in the original order
        flat.assign(reinterpret_cast<const uint64_t*>(keys->data()), reinterpret_cast<const uint64_t*>(keys->data()) + keys->size() / 8);
        auto j = parse_json(*prev, files[f]);
        if (j.ok()) total.merge(BuildStats::from_json(*j));
      } else {
        SourceStats ss;
        auto data = MappedFile::open(files[f]);
        if (!data.ok()) {
          failure = data.error();
        } else {
          SourceFormat fmt_ = detect_format(files[f], data->view().substr(0, 16));
          Status s = read_source(files[f], fmt_, [&](Document&& d) { items.push_back({std::move(d)}); }, ss);
          if (!s.ok()) failure = s;
        }
        for (const auto& w : ss.warnings) log_warn("{}", w);
        st.bad_records = ss.bad_records;
        st.files = 1;
        for (auto& it : items) {
          it.lang = it.doc.lang.empty() ? "und" : it.doc.lang;
        }
        pool.parallel_for_dynamic(items.size(), 16, [&](size_t b, size_t e) {
          for (size_t i = b; i < e; ++i) early_stages(items[i], c, model.get());
        });
        for (size_t i = 0; i < items.size(); ++i) {
          auto& it = items[i];
          auto& ls = st.langs[it.lang];
          ls.in_docs++;
          ls.in_bytes += it.doc.text.size();
          if (!it.dropped.empty()) {
            st.drop(it.lang, it.dropped, it.doc.text.size());
          } else if (c.dedup) {
            candidates.push_back(i);
            append_key(flat, it.key, bands);
          }
        }
      }
    }
    // Dedup: every rank applies every rank's keys in rank order.
    auto all = comm.allgather(c.dedup ? flat : std::vector<uint64_t>{});
    std::vector<uint64_t> kept_keys;
    for (int q = 0; q < comm.size(); ++q) {
      const auto& v = all[static_cast<size_t>(q)];
      for (size_t k = 0; k + per_key <= v.size(); k += per_key) {
        DedupKey key{v[k], v[k + 1], std::vector<uint64_t>(v.begin() + static_cast<long>(k + 2), v.begin() + static_cast<long>(k + per_key))};
        DedupVerdict verdict = index.check_and_insert(key);
        if (q != comm.rank() || resumed) continue;
        auto& it = items[candidates[k / per_key]];
        if (verdict == DedupVerdict::exact_duplicate) it.dropped = "dedup:exact";
        else if (verdict == DedupVerdict::near_duplicate) it.dropped = "dedup:near";
        if (verdict != DedupVerdict::unique) st.drop(it.lang, it.dropped, it.doc.text.size());
        else kept_keys.insert(kept_keys.end(), v.begin() + static_cast<long>(k), v.begin() + static_cast<long>(k + per_key));
      }
    }
    if (mine && !resumed && failure.ok()) {
      pool.parallel_for_dynamic(items.size(), 16, [&](size_t b, size_t e) {
        for (size_t i = b; i < e; ++i) {
          if (!items[i].dropped.empty() || !c.pii) continue;
          auto red = redact_pii(items[i].doc.text, c.pii_options);
          items[i].doc.text = std::move(red.text);
          for (int k = 0; k < kPiiKindCount; ++k) items[i].pii[k] = red.counts[k];
        }
      });
      for (auto& it : items) {
        if (!it.dropped.empty()) continue;
        auto& ls = st.langs[it.lang];
        ls.out_docs++;
        ls.out_bytes += it.doc.text.size();
        for (int k = 0; k < kPiiKindCount; ++k) ls.pii[k] += static_cast<uint64_t>(it.pii[k]);
      }
      Status s = commit_file(out, f, items, kept_keys, st);
      if (!s.ok()) failure = s;
      total.merge(st);
    }
    if (!comm.all_ok(failure.ok())) break;
    bar.add(std::min<size_t>(static_cast<size_t>(comm.size()), files.size() - r * static_cast<size_t>(comm.size())));
  }
  bar.finish();
  if (index.full()) log_warn("dedup index reached its memory budget ({} MB): later documents were checked but not added",
                             c.dedup_options.memory_mb);
  auto parts = comm.gather_strings(total.to_json().dump());
  bool ok_all = comm.all_ok(failure.ok());
  if (comm.rank() == 0 && ok_all) {
    BuildStats merged;
    for (const auto& p : parts) {
      auto j = parse_json(p, "rank statistics");
      if (j.ok()) merged.merge(BuildStats::from_json(*j));
    }
    nlohmann::json report = merged.to_json();
    report["format"] = "fragua-corpus-build-report";
    report["version"] = 1;
    report["fragua"] = FRAGUA_VERSION;
    report["config"] = c.provenance;
    report["ranks"] = comm.size();
    report["dedup_index_bytes"] = index.memory_bytes();
    FRAGUA_TRY(write_file_atomic((out / "report.json").string(), report.dump(2) + "\n"));
    std::string md = build_report_markdown(merged);
    FRAGUA_TRY(write_file_atomic((out / "report.md").string(), md));
    FRAGUA_TRY(write_file_atomic((out / "report.svg").string(), build_report_svg(merged)));
    std::fputs(md.c_str(), stdout);
  }
  if (!failure.ok()) return failure;
  if (!ok_all) return io_error("another MPI rank failed; see its messages");
  return ok_status();
}

}  // namespace fragua::data
