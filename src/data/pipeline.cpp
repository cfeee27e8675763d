// SPDX-License-Identifier: Apache-2.0
// The corpus build driver (see pipeline.h for the design).
#include "fragua/data/pipeline.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include <unistd.h>

#include "fragua/base/communicator.h"
#include "fragua/base/file.h"
#include "fragua/base/json.h"
#include "fragua/base/log.h"
#include "fragua/base/progress.h"
#include "fragua/base/thread_pool.h"
#include "fragua/data/langid.h"
#include "fragua/data/source.h"
#include "pipeline_resume.h"
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

// Flat key list for exchange: per document exact_lo, exact_hi, then `bands` band hashes.
void append_key(std::vector<uint64_t>& flat, const DedupKey& k, int bands) {
  flat.push_back(k.exact_lo);
  flat.push_back(k.exact_hi);
  for (int b = 0; b < bands; ++b)
    flat.push_back(b < static_cast<int>(k.bands.size()) ? k.bands[static_cast<size_t>(b)] : 0);
}

// Writes the shard of a processed file, then its dedup keys and state (pipeline_resume.h).
Status commit_file(const fs::path& out, const InputFile& f, const std::vector<Item>& items,
                   const std::vector<uint64_t>& kept_keys, const BuildStats& stats, size_t key_words, Env& env) {
  auto shard = FRAGUA_TRY(AtomicFile::create((out / "shards" / shard_file_name(f)).string(), env));
  for (const auto& it : items) {
    if (!it.dropped.empty()) continue;
    nlohmann::json j = {{"text", it.doc.text},
                        {"lang", it.lang},
                        {"lang_confidence", it.confidence},
                        {"id", it.doc.id},
                        {"source", it.doc.source}};
    if (it.doc.meta.contains("licence")) j["licence"] = it.doc.meta["licence"];
    if (!it.doc.meta.empty()) j["meta"] = it.doc.meta;
    FRAGUA_TRY(shard.append(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"));
  }
  FRAGUA_TRY(shard.commit());
  return commit_state(out, f, kept_keys, stats, key_words, env);
}

}  // namespace

Status run_build(const BuildConfig& c) {
  Communicator comm;
  auto files = FRAGUA_TRY(list_inputs(c.inputs, c.output));
  Env& env = c.env ? *c.env : Env::posix();
  fs::path out(c.output);
  FRAGUA_TRY(env.create_dirs((out / "shards").string()));
  FRAGUA_TRY(env.create_dirs((out / ".state").string()));
  std::unique_ptr<LangIdModel> model;
  if (c.langid) {
    auto m = c.langid_model.empty() ? LangIdModel::load_default() : LangIdModel::load(c.langid_model);
    if (!m.ok()) return std::move(m).error().with_context("loading the language-id model");
    model = std::make_unique<LangIdModel>(std::move(*m));
  }
  // The index is allocated whole: refuse a budget the machine cannot hold rather than abort.
  const uint64_t phys = static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(sysconf(_SC_PAGE_SIZE));
  if (c.dedup && sysconf(_SC_PHYS_PAGES) > 0 && (uint64_t{c.dedup_options.memory_mb} << 20) > phys)
    return resource_exhausted_error("stages.dedup.memory_mb: {} MB is more than this machine's memory ({} MB)",
                                    c.dedup_options.memory_mb, phys >> 20);
  DedupIndex index(c.dedup_options);
  const int bands = c.dedup_options.bands;
  const size_t per_key = 2 + static_cast<size_t>(bands);
  ThreadPool pool(c.threads > 0 ? c.threads : ThreadPool::default_threads());
  BuildStats total;
  // Finished inputs first: their kept keys go into the index in input order, so the files still
  // to do (an interrupted run's rest, or files added since) are de-duplicated against all of them.
  std::vector<bool> finished(files.size(), false);
  std::vector<size_t> todo;
  std::vector<BuildStats> finished_stats(files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    auto done = load_finished(out, files[i], per_key, env);
    finished[i] = done.has_value();
    if (done)
      finished_stats[i] = std::move(done->stats);
    else
      todo.push_back(i);
  }
  Status stale = ok_status();
  if (comm.rank() == 0) {
    auto removed = remove_stale_outputs(out, files, finished, env);
    if (!removed.ok()) stale = std::move(removed).error().with_context("removing stale corpus outputs");
  }
  // A barrier: nothing is written before the stale files are gone.
  if (!comm.all_ok(stale.ok())) {
    if (!stale.ok()) return stale;
    return io_error("another MPI rank failed; see its messages");
  }
  for (size_t i = 0; i < files.size(); ++i) {
    if (!finished[i]) continue;
    auto keys = load_finished_keys(out, files[i], env);
    if (!keys.ok()) return std::move(keys).error().with_context("resuming " + files[i].path);
    for (size_t k = 0; k + per_key <= keys->size(); k += per_key)
      (void)index.check_and_insert(DedupKey{(*keys)[k], (*keys)[k + 1],
                                            std::vector<uint64_t>(keys->begin() + static_cast<long>(k + 2),
                                                                  keys->begin() + static_cast<long>(k + per_key))});
    if (comm.rank() == 0) total.merge(finished_stats[i]);  // once, not once per rank
  }
  if (files.size() > todo.size())
    log_info("resuming: {} of {} input files already done", files.size() - todo.size(), files.size());
  size_t rounds = (todo.size() + static_cast<size_t>(comm.size()) - 1) / static_cast<size_t>(comm.size());
  ProgressBar bar(comm.distributed() ? fmt::format("build rank {}", comm.rank()) : "build", todo.size(), "files");
  Status failure = ok_status();
  for (size_t r = 0; r < rounds; ++r) {
    size_t slot = r * static_cast<size_t>(comm.size()) + static_cast<size_t>(comm.rank());
    bool mine = slot < todo.size();
    const InputFile* in = mine ? &files[todo[slot]] : nullptr;
    std::vector<Item> items;
    std::vector<uint64_t> flat;
    std::vector<size_t> candidates;  // items sent to dedup
    BuildStats st;
    if (mine && failure.ok()) {
      SourceStats ss;
      auto data = MappedFile::open(in->path);
      if (!data.ok()) {
        failure = data.error();
      } else {
        SourceFormat fmt_ = detect_format(in->path, data->view().substr(0, 16));
        Status s = read_source(
            in->path, fmt_, [&](Document&& d) { items.push_back({std::move(d)}); }, ss);
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
    // Dedup: every rank applies every rank's keys in rank order.
    auto all = comm.allgather(c.dedup ? flat : std::vector<uint64_t>{});
    std::vector<uint64_t> kept_keys;
    for (int q = 0; q < comm.size(); ++q) {
      const auto& v = all[static_cast<size_t>(q)];
      for (size_t k = 0; k + per_key <= v.size(); k += per_key) {
        DedupKey key{
            v[k], v[k + 1],
            std::vector<uint64_t>(v.begin() + static_cast<long>(k + 2), v.begin() + static_cast<long>(k + per_key))};
        DedupVerdict verdict = index.check_and_insert(key);
        if (q != comm.rank()) continue;
        auto& it = items[candidates[k / per_key]];
        if (verdict == DedupVerdict::exact_duplicate)
          it.dropped = "dedup:exact";
        else if (verdict == DedupVerdict::near_duplicate)
          it.dropped = "dedup:near";
        if (verdict != DedupVerdict::unique)
          st.drop(it.lang, it.dropped, it.doc.text.size());
        else
          kept_keys.insert(kept_keys.end(), v.begin() + static_cast<long>(k),
                           v.begin() + static_cast<long>(k + per_key));
      }
    }
    if (mine && failure.ok()) {
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
      Status s = commit_file(out, *in, items, kept_keys, st, per_key, env);
      if (!s.ok()) failure = s;
      total.merge(st);
    }
    if (!comm.all_ok(failure.ok())) break;
    bar.add(std::min<size_t>(static_cast<size_t>(comm.size()), todo.size() - r * static_cast<size_t>(comm.size())));
  }
  bar.finish();
  if (index.full())
    log_warn("dedup index reached its memory budget ({} MB): later documents were checked but not added",
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
    FRAGUA_TRY(write_file_atomic((out / "report.json").string(), report.dump(2) + "\n", env));
    std::string md = build_report_markdown(merged);
    FRAGUA_TRY(write_file_atomic((out / "report.md").string(), md, env));
    FRAGUA_TRY(write_file_atomic((out / "report.svg").string(), build_report_svg(merged), env));
    std::fputs(build_report_summary(merged, out.string()).c_str(), stdout);
  }
  if (!failure.ok()) return failure;
  if (!ok_all) return io_error("another MPI rank failed; see its messages");
  return ok_status();
}

}  // namespace fragua::data
