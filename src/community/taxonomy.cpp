// SPDX-License-Identifier: Apache-2.0
// qna.yaml parsing and validation. Field names, required fields and minimum counts follow
// InstructLab's schema version 3 (instructlab/schema: v3/knowledge.json, v3/compositional_skills.json);
// `language` is Fragua's addition.
#include "fragua/community/taxonomy.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <set>

#include "fragua/base/utf8.h"
#include "fragua/data/langid.h"

namespace fragua::community {

const char* leaf_kind_name(LeafKind kind) { return kind == LeafKind::knowledge ? "knowledge" : "skill"; }

std::string Problem::to_string() const {
  if (pos.line <= 0) return fmt::format("{}: {}", file, message);
  return fmt::format("{}:{}:{}: {}", file, pos.line, pos.column, message);
}

size_t estimate_tokens(std::string_view text) {
  size_t words = data::count_words(text);
  return (words * 4 + 2) / 3;
}

Result<LeafKind> leaf_kind_of(std::string_view id_or_path) {
  auto slash = id_or_path.find('/');
  std::string_view first = id_or_path.substr(0, slash);
  if (first == "knowledge") return LeafKind::knowledge;
  if (first == "skills") return LeafKind::skill;
  return invalid_argument_error("{}: a leaf lies under knowledge/ or skills/ of the taxonomy root", id_or_path);
}

namespace {

SourcePos taxonomy_pos_of(const YAML::Node& n) {
  YAML::Mark m = n.Mark();
  if (m.is_null()) return {};
  return {m.line + 1, m.column + 1};
}

// Collects problems for one file, and reads typed fields from maps.
class QnaReader {
 public:
  QnaReader(const std::string& file, std::vector<Problem>& problems) : file_(file), problems_(problems) {}

  void add(SourcePos pos, std::string message) { problems_.push_back({file_, pos, std::move(message)}); }

  // Reports keys of `map` that are not in `allowed`.
  void check_keys(const YAML::Node& map, std::initializer_list<const char*> allowed, std::string_view where) {
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (!it->first.IsScalar()) {
        add(taxonomy_pos_of(it->first), fmt::format("{}: a key must be a plain name", where));
        continue;
      }
      const std::string key = it->first.Scalar();
      bool known = std::any_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; });
      if (!known) {
        std::string list;
        for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        add(taxonomy_pos_of(it->first),
            fmt::format("{}: unknown field '{}' (allowed: {})", where, terminal_safe(key), list));
      }
    }
  }

  // A required non-empty string; "" (and a problem) when absent or not a string.
  std::string string_field(const YAML::Node& map, const char* key, std::string_view where, SourcePos* pos = nullptr,
                           bool required = true) {
    YAML::Node v = map[key];
    if (!v.IsDefined() || v.IsNull()) {
      if (required) add(taxonomy_pos_of(map), fmt::format("{}: missing field '{}'", where, key));
      return {};
    }
    if (pos) *pos = taxonomy_pos_of(v);
    if (!v.IsScalar()) {
      add(taxonomy_pos_of(v), fmt::format("{}: field '{}' must be a string, not a {}", where, key, type_name(v)));
      return {};
    }
    std::string s = v.Scalar();
    if (!is_valid(s)) {
      add(taxonomy_pos_of(v), fmt::format("{}: field '{}' is not valid UTF-8", where, key));
      return {};
    }
    bool blank = std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c); });
    if (blank) {
      add(taxonomy_pos_of(v), fmt::format("{}: field '{}' is empty", where, key));
      return {};
    }
    return s;
  }

  static const char* type_name(const YAML::Node& n) {
    switch (n.Type()) {
      case YAML::NodeType::Sequence: return "list";
      case YAML::NodeType::Map: return "mapping";
      case YAML::NodeType::Scalar: return "string";
      default: return "null";
    }
  }

  static std::string terminal_safe(std::string_view s) { return fragua::terminal_safe(s); }
  static bool is_valid(std::string_view s) { return utf8::is_valid(s); }

 private:
  const std::string& file_;
  std::vector<Problem>& problems_;
};

// Questions compared case-insensitively (ASCII), ignoring punctuation and runs of spaces: "¿Qué
// es?" and "qué es" are the same question.
std::string normalize_question_text(std::string_view q) {
  std::string out;
  bool space = false;
  for (unsigned char c : q) {
    if (c < 0x80 && (std::ispunct(c) || std::isspace(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += static_cast<char>(c < 0x80 ? std::tolower(c) : c);
  }
  // Inverted marks (U+00BF, U+00A1) open Spanish and Galician questions.
  for (std::string_view mark : {"\xc2\xbf", "\xc2\xa1"}) {
    for (size_t p; (p = out.find(mark)) != std::string::npos;) out.erase(p, mark.size());
  }
  return out;
}

void parse_qna_pair(QnaReader& r, const YAML::Node& n, std::string_view where, QnA& qa) {
  if (!n.IsMap()) {
    r.add(taxonomy_pos_of(n), fmt::format("{}: must be a mapping with question and answer", where));
    return;
  }
  r.check_keys(n, {"question", "answer"}, where);
  qa.question = r.string_field(n, "question", where, &qa.question_pos);
  qa.answer = r.string_field(n, "answer", where, &qa.answer_pos);
  if (qa.question_pos.line == 0) qa.question_pos = taxonomy_pos_of(n);
}

void parse_knowledge_seeds(QnaReader& r, const YAML::Node& seeds, Leaf& leaf) {
  for (size_t i = 0; i < seeds.size(); ++i) {
    const YAML::Node s = seeds[i];
    std::string where = fmt::format("seed_examples[{}]", i);
    SeedExample ex;
    ex.pos = taxonomy_pos_of(s);
    if (!s.IsMap()) {
      r.add(ex.pos, where + ": must be a mapping with context and questions_and_answers");
      continue;
    }
    r.check_keys(s, {"context", "questions_and_answers"}, where);
    ex.context = r.string_field(s, "context", where, &ex.context_pos);
    YAML::Node qas = s["questions_and_answers"];
    if (!qas.IsDefined() || qas.IsNull()) {
      r.add(ex.pos, where + ": missing field 'questions_and_answers'");
    } else if (!qas.IsSequence()) {
      r.add(taxonomy_pos_of(qas), fmt::format("{}: field 'questions_and_answers' must be a list, not a {}", where,
                                              QnaReader::type_name(qas)));
    } else {
      for (size_t j = 0; j < qas.size(); ++j) {
        QnA qa;
        parse_qna_pair(r, qas[j], fmt::format("{}.questions_and_answers[{}]", where, j), qa);
        ex.qnas.push_back(std::move(qa));
      }
      if (ex.qnas.size() < kMinQnAPerContext)
        r.add(taxonomy_pos_of(qas), fmt::format("{}: {} question-answer pairs, at least {} are needed per context",
                                                where, ex.qnas.size(), kMinQnAPerContext));
    }
    leaf.seeds.push_back(std::move(ex));
  }
  if (leaf.seeds.size() < kMinKnowledgeContexts)
    r.add(taxonomy_pos_of(seeds), fmt::format("seed_examples: {} contexts, a knowledge leaf needs at least {}",
                                              leaf.seeds.size(), kMinKnowledgeContexts));
}

void parse_skill_seeds(QnaReader& r, const YAML::Node& seeds, Leaf& leaf) {
  for (size_t i = 0; i < seeds.size(); ++i) {
    const YAML::Node s = seeds[i];
    std::string where = fmt::format("seed_examples[{}]", i);
    SeedExample ex;
    ex.pos = taxonomy_pos_of(s);
    if (!s.IsMap()) {
      r.add(ex.pos, where + ": must be a mapping with question and answer (and an optional context)");
      continue;
    }
    r.check_keys(s, {"question", "answer", "context"}, where);
    QnA qa;
    qa.question = r.string_field(s, "question", where, &qa.question_pos);
    qa.answer = r.string_field(s, "answer", where, &qa.answer_pos);
    if (qa.question_pos.line == 0) qa.question_pos = ex.pos;
    ex.context = r.string_field(s, "context", where, &ex.context_pos, /*required=*/false);
    ex.qnas.push_back(std::move(qa));
    leaf.seeds.push_back(std::move(ex));
  }
  if (leaf.seeds.size() < kMinSkillExamples)
    r.add(taxonomy_pos_of(seeds), fmt::format("seed_examples: {} examples, a skill leaf needs at least {}",
                                              leaf.seeds.size(), kMinSkillExamples));
}

void parse_document_ref(QnaReader& r, const YAML::Node& top, Leaf& leaf) {
  YAML::Node doc = top["document"];
  if (!doc.IsDefined() || doc.IsNull()) {
    r.add(taxonomy_pos_of(top), "missing field 'document' (repo, commit and patterns of the source document)");
    return;
  }
  if (!doc.IsMap()) {
    r.add(taxonomy_pos_of(doc), fmt::format("field 'document' must be a mapping, not a {}", QnaReader::type_name(doc)));
    return;
  }
  r.check_keys(doc, {"repo", "commit", "patterns"}, "document");
  leaf.document.repo = r.string_field(doc, "repo", "document");
  leaf.document.commit = r.string_field(doc, "commit", "document");
  YAML::Node pats = doc["patterns"];
  if (!pats.IsDefined() || pats.IsNull()) {
    r.add(taxonomy_pos_of(doc), "document: missing field 'patterns'");
  } else if (!pats.IsSequence() || pats.size() == 0) {
    r.add(taxonomy_pos_of(pats), "document: field 'patterns' must be a non-empty list of file patterns");
  } else {
    for (size_t i = 0; i < pats.size(); ++i) {
      if (!pats[i].IsScalar() || pats[i].Scalar().empty())
        r.add(taxonomy_pos_of(pats[i]), fmt::format("document.patterns[{}]: must be a file pattern string", i));
      else
        leaf.document.patterns.push_back(pats[i].Scalar());
    }
  }
}

void check_duplicate_questions(QnaReader& r, const Leaf& leaf) {
  std::map<std::string, SourcePos> seen;
  for (const auto& ex : leaf.seeds) {
    for (const auto& qa : ex.qnas) {
      if (qa.question.empty()) continue;
      auto [it, fresh] = seen.emplace(normalize_question_text(qa.question), qa.question_pos);
      if (!fresh)
        r.add(qa.question_pos, fmt::format("duplicate question (first at line {}): {}", it->second.line,
                                           QnaReader::terminal_safe(qa.question.substr(0, 80))));
    }
  }
}

}  // namespace

Leaf parse_leaf(std::string_view yaml, const std::string& file, const std::string& id, LeafKind kind,
                std::vector<Problem>& problems) {
  QnaReader r(file, problems);
  Leaf leaf;
  leaf.file = file;
  leaf.id = id;
  leaf.kind = kind;
  YAML::Node top;
  try {
    top = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    r.add({e.mark.line + 1, e.mark.column + 1}, "YAML: " + e.msg);
    return leaf;
  }
  if (!top.IsMap()) {
    r.add(taxonomy_pos_of(top), "the file must be a YAML mapping of the qna.yaml fields");
    return leaf;
  }
  try {
    if (kind == LeafKind::knowledge)
      r.check_keys(top, {"version", "created_by", "domain", "document_outline", "seed_examples", "document", "language"},
                   "knowledge leaf");
    else
      r.check_keys(top, {"version", "created_by", "task_description", "seed_examples", "language"}, "skill leaf");

    SourcePos vpos;
    std::string version = r.string_field(top, "version", "leaf", &vpos);
    if (!version.empty()) {
      if (version != "3")
        r.add(vpos, fmt::format("version {} is not supported (this is schema version 3)",
                                QnaReader::terminal_safe(version)));
      else
        leaf.version = 3;
    }
    leaf.created_by = r.string_field(top, "created_by", "leaf");
    leaf.language = r.string_field(top, "language", "leaf", &leaf.language_pos);
    if (!leaf.language.empty()) {
      bool known = std::any_of(std::begin(kTaxonomyLanguages), std::end(kTaxonomyLanguages),
                               [&](const char* l) { return leaf.language == l; });
      if (!known) {
        r.add(leaf.language_pos, fmt::format("language '{}' is not one of es, ca, ca-valencia, eu, gl",
                                             QnaReader::terminal_safe(leaf.language)));
        leaf.language.clear();
      }
    }
    if (kind == LeafKind::knowledge) {
      leaf.domain = r.string_field(top, "domain", "leaf");
      leaf.document_outline = r.string_field(top, "document_outline", "leaf");
      parse_document_ref(r, top, leaf);
    } else {
      leaf.task_description = r.string_field(top, "task_description", "leaf");
    }
    YAML::Node seeds = top["seed_examples"];
    if (!seeds.IsDefined() || seeds.IsNull()) {
      r.add(taxonomy_pos_of(top), "missing field 'seed_examples'");
    } else if (!seeds.IsSequence()) {
      r.add(taxonomy_pos_of(seeds),
            fmt::format("field 'seed_examples' must be a list, not a {}", QnaReader::type_name(seeds)));
    } else if (kind == LeafKind::knowledge) {
      parse_knowledge_seeds(r, seeds, leaf);
    } else {
      parse_skill_seeds(r, seeds, leaf);
    }
    check_duplicate_questions(r, leaf);
  } catch (const YAML::Exception& e) {
    // Node access on a malformed tree (yaml-cpp throws rather than returning an invalid node).
    r.add({e.mark.line + 1, e.mark.column + 1}, "YAML: " + e.msg);
  }
  return leaf;
}

namespace {

void check_text_language(const data::LangIdModel& langid, double min_confidence, const Leaf& leaf,
                         std::string_view text, SourcePos pos, std::string_view what, std::vector<Problem>& problems) {
  data::LangGuess g = langid.identify(text);
  if (g.lang == "und" || g.confidence < min_confidence) return;
  std::string declared_base = leaf.language.substr(0, leaf.language.find('-'));
  // A Valencian text identified as central Catalan (or the reverse) is the same language: the
  // variant is the contributor's call, the identifier's variant split is not reliable on a passage.
  if (g.base_lang == declared_base) return;
  problems.push_back({leaf.file, pos,
                      fmt::format("{} reads as '{}' (confidence {:.2f}), but the leaf declares language '{}'", what,
                                  g.lang, g.confidence, leaf.language)});
}

}  // namespace

void check_leaf_content(const Leaf& leaf, const ValidateOptions& options, std::vector<Problem>& problems) {
  auto count = options.count_tokens ? options.count_tokens : [](std::string_view t) { return estimate_tokens(t); };
  for (size_t i = 0; i < leaf.seeds.size(); ++i) {
    const auto& ex = leaf.seeds[i];
    if (ex.context.empty()) continue;
    size_t n = count(ex.context);
    if (n > options.max_context_tokens)
      problems.push_back({leaf.file, ex.context_pos,
                          fmt::format("seed_examples[{}].context: {} tokens, over the limit of {}", i, n,
                                      options.max_context_tokens)});
  }
  if (!options.langid || leaf.language.empty()) return;
  // Each text long enough to identify on its own, then the leaf's text as a whole (which catches
  // a leaf of short answers in the wrong language).
  std::string all = leaf.task_description + "\n" + leaf.document_outline + "\n";
  auto check = [&](const std::string& text, SourcePos pos, std::string what) {
    if (text.empty()) return;
    all += text + "\n";
    if (data::count_words(text) >= options.langid_min_words)
      check_text_language(*options.langid, options.langid_min_confidence, leaf, text, pos, what, problems);
  };
  for (size_t i = 0; i < leaf.seeds.size(); ++i) {
    const auto& ex = leaf.seeds[i];
    check(ex.context, ex.context_pos, fmt::format("seed_examples[{}].context", i));
    for (size_t j = 0; j < ex.qnas.size(); ++j) {
      std::string where = leaf.kind == LeafKind::knowledge
                              ? fmt::format("seed_examples[{}].questions_and_answers[{}]", i, j)
                              : fmt::format("seed_examples[{}]", i);
      check(ex.qnas[j].question, ex.qnas[j].question_pos, where + ".question");
      check(ex.qnas[j].answer, ex.qnas[j].answer_pos, where + ".answer");
    }
  }
  check_text_language(*options.langid, options.langid_min_confidence, leaf, all, leaf.language_pos, "the leaf's text",
                      problems);
}

Result<std::vector<std::string>> find_leaf_files(const std::string& root, Env& env) {
  std::vector<std::string> out;
  // Only the two trees of leaves: a qna.yaml elsewhere (docs, examples) is no contribution.
  std::vector<std::string> stack;
  for (const char* top : {"knowledge", "skills"})
    if (env.is_directory(root + "/" + top)) stack.push_back(top);
  while (!stack.empty()) {
    std::string rel = stack.back();
    stack.pop_back();
    std::string dir = root + "/" + rel;
    auto entries = FRAGUA_TRY(env.list_dir(dir));
    for (const auto& e : entries) {
      if (e.name.empty() || e.name[0] == '.') continue;  // .git, editor files
      std::string child = rel + "/" + e.name;
      if (e.is_directory)
        stack.push_back(child);
      else if (e.is_regular && e.name == "qna.yaml")
        out.push_back(child);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<TaxonomyTarget> taxonomy_target(const std::vector<std::string>& paths, const std::string& root, Env& env) {
  TaxonomyTarget t;
  t.root = root;
  if (paths.empty()) {
    if (t.root.empty()) t.root = ".";
    return t;
  }
  if (paths.size() == 1 && env.is_directory(paths[0])) {
    if (!root.empty()) return invalid_argument_error("{}: give either a taxonomy root or --root, not both", paths[0]);
    t.root = paths[0];
    while (t.root.size() > 1 && t.root.back() == '/') t.root.pop_back();
    return t;
  }
  const bool given_root = !t.root.empty();
  for (const auto& p : paths) {
    if (given_root) {
      if (t.root == ".")
        t.files.push_back(p.compare(0, 2, "./") == 0 ? p.substr(2) : p);
      else if (p.size() > t.root.size() + 1 && p.compare(0, t.root.size(), t.root) == 0 && p[t.root.size()] == '/')
        t.files.push_back(p.substr(t.root.size() + 1));
      else
        return invalid_argument_error("{}: not under the taxonomy root {}", p, t.root);
      continue;
    }
    // The root is what precedes the first knowledge/ or skills/ component.
    size_t cut = std::string::npos;
    for (const char* top : {"knowledge/", "skills/"}) {
      if (p.compare(0, std::strlen(top), top) == 0) cut = 0;
      size_t f = p.find(std::string("/") + top);
      if (f != std::string::npos) cut = std::min(cut, f + 1);
    }
    if (cut == std::string::npos)
      return invalid_argument_error("{}: not under a knowledge/ or skills/ folder of a taxonomy (give --root)", p);
    std::string r = cut == 0 ? "." : p.substr(0, cut - 1);
    if (t.root.empty()) t.root = r;
    if (r != t.root) return invalid_argument_error("{}: not under the taxonomy root {} of {}", p, t.root, paths[0]);
    t.files.push_back(p.substr(cut));
  }
  return t;
}

Result<ValidationReport> validate_taxonomy(const std::string& root, const std::vector<std::string>& files,
                                           const ValidateOptions& options, Env& env) {
  ValidationReport report;
  std::vector<std::string> rels = files;
  if (rels.empty()) {
    rels = FRAGUA_TRY(find_leaf_files(root, env));
    if (rels.empty()) return not_found_error("{}: no qna.yaml under knowledge/ or skills/", root);
  }
  for (std::string rel : rels) {
    if (rel.empty()) continue;
    if (!root.empty() && rel.size() > root.size() + 1 && rel.compare(0, root.size(), root) == 0 &&
        rel[root.size()] == '/')
      rel = rel.substr(root.size() + 1);
    std::string path = rel[0] == '/' ? rel : root + "/" + rel;
    ++report.n_files;
    std::string_view name = rel;
    if (name.size() < 8 || name.substr(name.size() - 8) != "qna.yaml" ||
        (name.size() > 8 && name[name.size() - 9] != '/')) {
      report.problems.push_back({path, {}, "a leaf file is named qna.yaml"});
      continue;
    }
    auto kind = leaf_kind_of(rel);
    if (!kind.ok()) {
      report.problems.push_back({path, {}, "a leaf lies under knowledge/ or skills/ of the taxonomy root"});
      continue;
    }
    std::string id = rel.size() > 9 ? rel.substr(0, rel.size() - 9) : rel;
    auto text = read_file(path, env);
    if (!text.ok()) {
      report.problems.push_back({path, {}, text.error().message()});
      continue;
    }
    size_t before = report.problems.size();
    Leaf leaf = parse_leaf(*text, path, id, *kind, report.problems);
    if (report.problems.size() == before || !leaf.seeds.empty()) check_leaf_content(leaf, options, report.problems);
    report.leaves.push_back(std::move(leaf));
  }
  return report;
}

}  // namespace fragua::community
