// SPDX-License-Identifier: Apache-2.0
// The SDG run: keys (leaf, index) through generation, filters and DPO pairing, with resumable
// state (include/fragua/community/sdg.h).
#include "fragua/community/sdg.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <set>

#include "fragua/base/json.h"
#include "fragua/base/progress.h"
#include "fragua/base/thread_pool.h"
#include "fragua/data/dedup.h"
#include "fragua/data/langid.h"

namespace fragua::community {

namespace {

constexpr const char* kSdgStateFormat = "fragua-sdg-state";
constexpr int kSdgStateVersion = 1;

uint64_t fnv1a_sdg(std::string_view s, uint64_t h = 0xcbf29ce484222325ULL) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// Seeds are JSON numbers: kept below 2^53 so that every JSON reader reads them back exactly.
uint64_t sdg_key_seed(uint64_t run_seed, const std::string& leaf, size_t index) {
  uint64_t h = fnv1a_sdg(leaf, fnv1a_sdg(std::to_string(run_seed)));
  h = fnv1a_sdg(std::to_string(index), h);
  return h & ((uint64_t{1} << 53) - 1);
}

// Teacher replies are any bytes: invalid UTF-8 is written as U+FFFD rather than throwing.
std::string sdg_json_line(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string sdg_key_name(const std::string& leaf, size_t index) { return leaf + "#" + std::to_string(index); }

struct SdgWork {
  const Leaf* leaf;
  size_t index;
};

// What one key produced: the lines to append, or the reason it was rejected.
struct SdgOutcome {
  bool request_failed = false;
  std::string error;
  std::string reject_reason, reject_detail, reply;
  std::string question, answer;  // accepted candidate (before the duplicate check)
  nlohmann::json meta;
  std::optional<nlohmann::json> dpo;
  size_t requests = 0;
};

std::string render_examples(const PromptTemplate& t, const std::vector<const QnA*>& qas) {
  std::string out;
  for (const QnA* qa : qas)
    out += t.header.at("question_label") + ": " + qa->question + "\n" + t.header.at("answer_label") + ": " +
           qa->answer + "\n\n";
  return out;
}

std::vector<tokenize::ChatMessage> prompt_messages(const PromptTemplate& t, const std::map<std::string, std::string>& vars) {
  std::vector<tokenize::ChatMessage> m;
  if (!t.system.empty()) m.push_back({"system", t.render(t.system, vars)});
  m.push_back({"user", t.render(t.user, vars)});
  return m;
}

class SdgRun {
 public:
  SdgRun(const std::vector<Leaf>& leaves, Teacher& teacher, const SdgOptions& o)
      : leaves_(leaves), teacher_(teacher), opts_(o), env_(o.env ? *o.env : Env::posix()),
        dedup_(dedup_options()) {}

  Result<SdgStats> run() {
    if (opts_.run_dir.empty()) return invalid_argument_error("sdg: no run directory");
    FRAGUA_TRY(env_.create_dirs(opts_.run_dir));
    for (const auto& leaf : leaves_) {
      if (leaf.seeds.empty() || leaf.language.empty())
        return invalid_argument_error("{}: the leaf has no usable seed examples or language; run `fragua taxonomy "
                                      "validate` first",
                                      leaf.file);
      if (!prompts_.count(leaf.language))
        prompts_.emplace(leaf.language, FRAGUA_TRY(load_prompt_set(opts_.prompts_dir, leaf.language, env_)));
      for (const auto& ex : leaf.seeds)
        for (const auto& qa : ex.qnas) (void)dedup_.check_and_insert(data::dedup_key(qa.question, dedup_options()));
    }
    FRAGUA_TRY(load_state());
    std::vector<SdgWork> todo;
    for (const auto& leaf : leaves_)
      for (size_t i = 0; i < opts_.samples_per_leaf; ++i) {
        ++stats_.keys_total;
        if (done_.count(sdg_key_name(leaf.id, i)))
          ++stats_.keys_skipped;
        else
          todo.push_back({&leaf, i});
      }
    int threads = opts_.concurrency > 0 ? opts_.concurrency : teacher_.max_concurrency();
    threads = std::max(1, std::min<int>(threads, static_cast<int>(std::max<size_t>(todo.size(), 1))));
    std::unique_ptr<ProgressBar> bar;
    if (opts_.progress) bar = std::make_unique<ProgressBar>("sdg", todo.size(), "key");
    last_flush_ = std::chrono::steady_clock::now();
    if (!todo.empty()) {
      ThreadPool pool(threads);
      pool.parallel_for_dynamic(todo.size(), 1, [&](size_t begin, size_t end) {
        for (size_t k = begin; k < end; ++k) {
          if (stopped_.load()) return;
          SdgOutcome out = process(todo[k]);
          record(todo[k], std::move(out));
          if (bar) bar->add(1);
        }
      });
    }
    if (bar) bar->finish();
    std::lock_guard<std::mutex> lock(mutex_);
    if (!flush_status_.ok()) return flush_status_.error();
    if (!stopped_.load()) FRAGUA_TRY(flush_locked());
    stats_.stopped = stopped_.load();
    return stats_;
  }

 private:
  static data::DedupOptions dedup_options() {
    data::DedupOptions d;
    d.shingle_words = 3;  // questions are a sentence: 5-word shingles would miss reworded copies
    d.memory_mb = 8;
    return d;
  }

  std::string state_path() const { return opts_.run_dir + "/state.json"; }
  std::string out_path(const char* name) const { return opts_.run_dir + "/" + name; }

  // Keeps the lines of a previous run whose key is finished (a line written after the last state
  // flush belongs to a key that will run again).
  Status load_lines(const char* name, std::vector<std::string>& lines, bool index_questions) {
    std::string path = out_path(name);
    if (!env_.file_exists(path)) return ok_status();
    auto text = FRAGUA_TRY(read_file(path, env_));
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      std::string line = text.substr(pos, end - pos);
      pos = end + 1;
      auto j = parse_json(line, path);
      if (!j.ok() || !j->is_object()) continue;
      const nlohmann::json& meta = j->contains("meta") ? (*j)["meta"] : *j;
      if (!meta.is_object() || !meta.contains("leaf") || !meta["leaf"].is_string() || !meta.contains("index") ||
          !meta["index"].is_number_unsigned())
        continue;
      if (!done_.count(sdg_key_name(meta["leaf"].get<std::string>(), meta["index"].get<size_t>()))) continue;
      if (index_questions && j->contains("messages") && (*j)["messages"].is_array()) {
        for (const auto& m : (*j)["messages"])
          if (m.is_object() && m.value("role", "") == "user" && m.contains("content") && m["content"].is_string())
            (void)dedup_.check_and_insert(data::dedup_key(m["content"].get<std::string>(), dedup_options()));
      }
      lines.push_back(std::move(line));
    }
    return ok_status();
  }

  Status load_state() {
    if (!env_.file_exists(state_path())) return ok_status();
    auto text = FRAGUA_TRY(read_file(state_path(), env_));
    auto j = FRAGUA_TRY(parse_json(text, state_path()));
    if (!j.is_object() || j.value("format", "") != kSdgStateFormat)
      return corruption_error("{}: not an SDG state file (format '{}')", state_path(), kSdgStateFormat);
    if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<int>() != kSdgStateVersion)
      return unsupported_error("{}: state version {} is not supported (this build reads {})", state_path(),
                               j.contains("version") ? j["version"].dump() : "?", kSdgStateVersion);
    if (!j.contains("done") || !j["done"].is_array())
      return corruption_error("{}: field 'done' must be a list of keys", state_path());
    for (const auto& k : j["done"])
      if (k.is_string()) done_.insert(k.get<std::string>());
    FRAGUA_TRY(load_lines("sft.jsonl", sft_, true));
    FRAGUA_TRY(load_lines("dpo.jsonl", dpo_, false));
    FRAGUA_TRY(load_lines("rejected.jsonl", rejected_, false));
    return ok_status();
  }

  Status flush_locked() {
    auto join = [](const std::vector<std::string>& lines) {
      std::string s;
      for (const auto& l : lines) s += l + "\n";
      return s;
    };
    // Outputs first, then the state: a crash between the two leaves lines of unfinished keys,
    // which load_lines drops.
    FRAGUA_TRY(write_file_atomic(out_path("sft.jsonl"), join(sft_), env_));
    FRAGUA_TRY(write_file_atomic(out_path("dpo.jsonl"), join(dpo_), env_));
    FRAGUA_TRY(write_file_atomic(out_path("rejected.jsonl"), join(rejected_), env_));
    nlohmann::ordered_json st;
    st["format"] = kSdgStateFormat;
    st["version"] = kSdgStateVersion;
    st["teacher"] = teacher_.name();
    st["seed"] = opts_.seed;
    st["done"] = std::vector<std::string>(done_.begin(), done_.end());
    FRAGUA_TRY(write_file_atomic(state_path(), st.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", env_));
    last_flush_ = std::chrono::steady_clock::now();
    return ok_status();
  }

  const QnA* other_seed_answer(const Leaf& leaf, const std::string& question, uint64_t seed) const {
    std::vector<const QnA*> all;
    for (const auto& ex : leaf.seeds)
      for (const auto& qa : ex.qnas)
        if (qa.question != question) all.push_back(&qa);
    return all.empty() ? nullptr : all[seed % all.size()];
  }

  SdgOutcome process(const SdgWork& w) {
    const Leaf& leaf = *w.leaf;
    const PromptSet& ps = prompts_.at(leaf.language);
    const bool knowledge = leaf.kind == LeafKind::knowledge;
    const PromptTemplate& gen_t = knowledge ? ps.knowledge : ps.skill;
    const uint64_t seed = sdg_key_seed(opts_.seed, leaf.id, w.index);
    SdgOutcome out;
    std::vector<const QnA*> examples;
    std::string source;  // what the judge checks against
    std::map<std::string, std::string> vars;
    if (knowledge) {
      const SeedExample& ex = leaf.seeds[w.index % leaf.seeds.size()];
      for (const auto& qa : ex.qnas) examples.push_back(&qa);
      source = ex.context;
      vars = {{"document_outline", leaf.document_outline}, {"context", ex.context}};
    } else {
      size_t n = leaf.seeds.size();
      std::string contexts;
      for (size_t k = 0; k < std::min<size_t>(3, n); ++k) {
        const SeedExample& ex = leaf.seeds[(w.index + k) % n];
        examples.push_back(&ex.qnas[0]);
        if (!ex.context.empty()) contexts += ex.context + "\n";
      }
      vars = {{"task_description", leaf.task_description}, {"context", contexts}};
      source = leaf.task_description + "\n\n" + render_examples(gen_t, examples);
    }
    vars["examples"] = render_examples(gen_t, examples);
    out.meta = {{"leaf", leaf.id},         {"language", leaf.language},  {"teacher", teacher_.name()},
                {"prompt_version", gen_t.id()}, {"seed", seed},       {"index", w.index},
                {"kind", knowledge ? "knowledge" : "skill"}};
    TeacherParams gp = opts_.generation;
    gp.seed = seed;
    ++out.requests;
    auto reply = teacher_.complete(prompt_messages(gen_t, vars), gp);
    if (!reply.ok()) {
      out.request_failed = true;
      out.error = reply.error().message();
      return out;
    }
    out.reply = *reply;
    auto pair = parse_labeled_pair(*reply, gen_t.header.at("question_label"), gen_t.header.at("answer_label"));
    if (!pair.ok()) {
      out.reject_reason = "format";
      out.reject_detail = pair.error().message();
      return out;
    }
    out.question = pair->first;
    out.answer = pair->second;
    if (opts_.langid) {
      data::LangGuess g = opts_.langid->identify(out.question + "\n" + out.answer);
      std::string base = leaf.language.substr(0, leaf.language.find('-'));
      if (g.lang != "und" && g.base_lang != base) {
        out.reject_reason = "language";
        out.reject_detail = fmt::format("reads as '{}' ({:.2f}), the leaf is '{}'", g.lang, g.confidence, leaf.language);
        return out;
      }
    }
    if (opts_.judge) {
      TeacherParams jp = opts_.judging;
      jp.seed = seed;
      ++out.requests;
      auto verdict = teacher_.complete(
          prompt_messages(ps.judge, {{"context", source}, {"question", out.question}, {"answer", out.answer}}), jp);
      if (!verdict.ok()) {
        out.request_failed = true;
        out.error = verdict.error().message();
        return out;
      }
      auto score = parse_judge_score(*verdict, ps.judge.header.at("score_label"));
      if (!score.ok() || *score < opts_.min_judge_score) {
        out.reject_reason = "judge";
        out.reject_detail = score.ok() ? fmt::format("score {} < {}", *score, opts_.min_judge_score)
                                       : "unreadable verdict: " + score.error().message();
        return out;
      }
      out.meta["judge_score"] = *score;
      out.meta["judge_prompt_version"] = ps.judge.id();
    }
    if (opts_.dpo) {
      std::string rejected, how;
      if (opts_.student) {
        TeacherParams sp = opts_.generation;
        sp.seed = seed;
        ++out.requests;
        auto s = opts_.student->complete({{"user", out.question}}, sp);
        if (s.ok() && !s->empty() && *s != out.answer) {
          rejected = *s;
          how = "student";
        }
      }
      if (rejected.empty()) {
        const QnA* other = other_seed_answer(leaf, out.question, seed);
        rejected = corrupt_answer(out.answer, source, other ? other->answer : "", seed, how);
      }
      if (!rejected.empty()) {
        nlohmann::json m = out.meta;
        m["rejected_from"] = how;
        out.dpo = nlohmann::json{{"prompt", out.question}, {"chosen", out.answer}, {"rejected", rejected}, {"meta", m}};
      }
    }
    return out;
  }

  void record(const SdgWork& w, SdgOutcome out) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopped_.load()) return;  // as if killed: the key's work is lost and runs again
    stats_.requests += out.requests;
    if (out.request_failed) {
      ++stats_.rejected["request"];
      if (stats_.first_error.empty())
        stats_.first_error = fmt::format("{} index {}: {}", w.leaf->id, w.index, out.error);
      return;  // not done: a resumed run asks again
    }
    if (out.reject_reason.empty()) {
      auto verdict = dedup_.check_and_insert(data::dedup_key(out.question, dedup_options()));
      if (verdict != data::DedupVerdict::unique) {
        out.reject_reason = "duplicate";
        out.reject_detail = verdict == data::DedupVerdict::exact_duplicate ? "same question" : "near-duplicate question";
      }
    }
    if (out.reject_reason.empty()) {
      nlohmann::json sft = {{"messages", nlohmann::json::array({{{"role", "user"}, {"content", out.question}},
                                                                {{"role", "assistant"}, {"content", out.answer}}})},
                            {"meta", out.meta}};
      sft_.push_back(sdg_json_line(sft));
      ++stats_.accepted;
      if (out.dpo) {
        dpo_.push_back(sdg_json_line(*out.dpo));
        ++stats_.dpo_pairs;
      }
    } else {
      ++stats_.rejected[out.reject_reason];
      nlohmann::json r = {{"leaf", w.leaf->id},
                          {"index", w.index},
                          {"reason", out.reject_reason},
                          {"detail", out.reject_detail},
                          {"reply", out.reply}};
      rejected_.push_back(sdg_json_line(r));
    }
    done_.insert(sdg_key_name(w.leaf->id, w.index));
    ++stats_.keys_done;
    bool stop_now = opts_.stop_after > 0 && stats_.keys_done >= opts_.stop_after;
    double since = std::chrono::duration<double>(std::chrono::steady_clock::now() - last_flush_).count();
    if (stop_now || since >= opts_.flush_every_s) {
      Status s = flush_locked();
      if (!s.ok() && flush_status_.ok()) flush_status_ = s;
    }
    if (stop_now) stopped_.store(true);
  }

  const std::vector<Leaf>& leaves_;
  Teacher& teacher_;
  const SdgOptions& opts_;
  Env& env_;
  std::map<std::string, PromptSet> prompts_;
  std::mutex mutex_;
  data::DedupIndex dedup_;
  std::set<std::string> done_;
  std::vector<std::string> sft_, dpo_, rejected_;
  SdgStats stats_;
  Status flush_status_;
  std::atomic<bool> stopped_{false};
  std::chrono::steady_clock::time_point last_flush_;
};

}  // namespace

Result<SdgStats> run_sdg(const std::vector<Leaf>& leaves, Teacher& teacher, const SdgOptions& options) {
  SdgRun run(leaves, teacher, options);
  return run.run();
}

}  // namespace fragua::community
