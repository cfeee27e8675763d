// SPDX-License-Identifier: Apache-2.0
#include "fragua/eval/task.h"

#include <charconv>
#include <set>

#include <yaml-cpp/yaml.h>

#include "fragua/tokenize/tokenizer.h"

namespace fragua::eval {

namespace {

constexpr int kMaxIncludeDepth = 8;

std::string dir_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

std::string resolve(const std::string& base_file, const std::string& rel) {
  return rel.starts_with('/') ? rel : dir_of(base_file) + rel;
}

// A value the harness computes in Python (`!function utils.process_docs`), met by `fragua eval
// convert`: where it was (the file and the key path inside it) and what it named.
struct TaggedYamlValue {
  std::string file, key, tag, value;
};

// YAML -> JSON: plain scalars that read as integers, floats or booleans become those; quoted
// scalars stay strings. A tag other than the standard ones (the harness's `!function`) is refused,
// or with `tagged` recorded there and read as null.
Result<nlohmann::ordered_json> to_json(const YAML::Node& n, const std::string& where,
                                       std::vector<TaggedYamlValue>* tagged = nullptr, const std::string& file = {}) {
  const std::string& tag = n.Tag();
  if (!tag.empty() && tag != "?" && tag != "!" && !tag.starts_with("tag:yaml.org,2002:")) {
    if (!tagged)
      return invalid_argument_error("{}: the tag {} is not supported (Python code cannot be carried)", where, tag);
    tagged->push_back({file, where.substr(std::min(where.size(), file.size() + 1)), tag,
                       n.IsScalar() ? n.Scalar() : std::string()});
    return nlohmann::ordered_json();
  }
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nlohmann::ordered_json();
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (tag == "!") return nlohmann::ordered_json(s);
      int64_t i = 0;
      if (!s.empty() && std::from_chars(s.data(), s.data() + s.size(), i).ptr == s.data() + s.size())
        return nlohmann::ordered_json(i);
      if (s == "true" || s == "True") return nlohmann::ordered_json(true);
      if (s == "false" || s == "False") return nlohmann::ordered_json(false);
      double d = 0;
      if (!s.empty() && std::from_chars(s.data(), s.data() + s.size(), d).ptr == s.data() + s.size())
        return nlohmann::ordered_json(d);
      return nlohmann::ordered_json(s);
    }
    case YAML::NodeType::Sequence: {
      auto out = nlohmann::ordered_json::array();
      for (size_t i = 0; i < n.size(); ++i)
        out.push_back(FRAGUA_TRY(to_json(n[i], fmt::format("{}[{}]", where, i), tagged, file)));
      return out;
    }
    case YAML::NodeType::Map: {
      auto out = nlohmann::ordered_json::object();
      for (const auto& kv : n) {
        if (!kv.first.IsScalar()) return invalid_argument_error("{}: a key that is not a string", where);
        const std::string key = kv.first.Scalar();
        out[key] = FRAGUA_TRY(to_json(kv.second, where + "." + key, tagged, file));
      }
      return out;
    }
  }
  return nlohmann::ordered_json();
}

Result<nlohmann::ordered_json> yaml_to_json(std::string_view yaml, const std::string& path,
                                            std::vector<TaggedYamlValue>* tagged = nullptr) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return invalid_argument_error("{}:{}:{}: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg);
  }
  auto j = FRAGUA_TRY(to_json(root, path, tagged, path));
  if (!j.is_object()) return invalid_argument_error("{}: expected a mapping of task keys", path);
  return j;
}

Result<std::string> string_key(const nlohmann::ordered_json& j, const char* key, const std::string& path) {
  if (!j.contains(key) || j[key].is_null()) return std::string();
  if (!j[key].is_string()) return invalid_argument_error("{}: {} must be a string", path, key);
  return j[key].get<std::string>();
}

std::vector<std::string> fmt_split_metrics(std::string_view list) {
  std::vector<std::string> out;
  for (size_t pos = 0; pos < list.size();) {
    const size_t comma = std::min(list.find(", ", pos), list.size());
    out.emplace_back(list.substr(pos, comma - pos));
    pos = comma + 2;
  }
  return out;
}

Result<TaskConfig> from_json(nlohmann::ordered_json j, const std::string& path) {
  static const std::set<std::string> kKnown = {
      "task",          "dataset_path",      "dataset_name",   "dataset_kwargs",   "test_split",
      "validation_split", "training_split", "fewshot_split",  "doc_to_text",      "doc_to_target",
      "doc_to_choice", "target_delimiter",  "fewshot_delimiter", "description",   "num_fewshot",
      "output_type",   "metric_list",       "metadata",       "tag",              "group",
      "should_decontaminate", "doc_to_decontamination_query", "include", "generation_kwargs"};
  for (const auto& [key, v] : j.items())
    if (!kKnown.count(key))
      return invalid_argument_error("{}: the key '{}' is not supported by Fragua's task format (docs/eval.md)", path,
                                    key);
  TaskConfig t;
  t.path = path;
  t.config = j;
  t.task = FRAGUA_TRY(string_key(j, "task", path));
  if (t.task.empty()) return invalid_argument_error("{}: task: a name is required", path);
  t.test_split = FRAGUA_TRY(string_key(j, "test_split", path));
  t.validation_split = FRAGUA_TRY(string_key(j, "validation_split", path));
  t.training_split = FRAGUA_TRY(string_key(j, "training_split", path));
  t.fewshot_split = FRAGUA_TRY(string_key(j, "fewshot_split", path));
  if (t.eval_split().empty()) return invalid_argument_error("{}: neither test_split nor validation_split", path);
  if (j.contains("dataset_name") && !j["dataset_name"].is_null())
    return invalid_argument_error("{}: dataset_name (a hub configuration) cannot be carried: name the files", path);
  const std::string dataset = FRAGUA_TRY(string_key(j, "dataset_path", path));
  for (const std::string& split : {t.test_split, t.validation_split, t.training_split, t.fewshot_split})
    if (!split.empty() && !dataset.empty()) t.split_files[split] = resolve(path, dataset + "/" + split + ".jsonl");
  if (j.contains("dataset_kwargs") && j["dataset_kwargs"].is_object() && j["dataset_kwargs"].contains("data_files")) {
    const auto& files = j["dataset_kwargs"]["data_files"];
    if (!files.is_object()) return invalid_argument_error("{}: dataset_kwargs.data_files must map splits to files", path);
    for (const auto& [split, f] : files.items()) {
      if (!f.is_string())
        return invalid_argument_error("{}: dataset_kwargs.data_files.{} must be one file", path, split);
      t.split_files[split] = resolve(path, f.get<std::string>());
    }
  }
  if (t.split_files.empty()) return invalid_argument_error("{}: no data: set dataset_path or dataset_kwargs.data_files", path);
  if (j.contains("output_type")) t.output_type = FRAGUA_TRY(string_key(j, "output_type", path));
  if (t.output_type != "multiple_choice" && t.output_type != "generate_until" &&
      t.output_type != "loglikelihood_rolling")
    return invalid_argument_error(
        "{}: output_type '{}' is not supported (multiple_choice, generate_until, loglikelihood_rolling)", path,
        t.output_type);
  const bool mc = t.output_type == "multiple_choice";
  for (const char* key : {"doc_to_text", "doc_to_target", "doc_to_choice"}) {
    const std::string_view k = key;
    if (!j.contains(key) || j[key].is_null()) {
      // doc_to_choice is only for multiple choice; a rolling task reads doc_to_target alone.
      if (k == "doc_to_choice" && !mc) continue;
      if (k == "doc_to_text" && t.output_type == "loglikelihood_rolling") continue;
      return invalid_argument_error("{}: {} is required", path, key);
    }
    const auto& v = j[key];
    if (!v.is_string() && !v.is_number_integer() && !v.is_array())
      return invalid_argument_error("{}: {} must be a field name, a template, a list or an integer", path, key);
  }
  t.doc_to_text = j.value("doc_to_text", nlohmann::ordered_json());
  t.doc_to_target = j["doc_to_target"];
  t.doc_to_choice = j.value("doc_to_choice", nlohmann::ordered_json());
  if (j.contains("target_delimiter")) t.target_delimiter = FRAGUA_TRY(string_key(j, "target_delimiter", path));
  if (j.contains("fewshot_delimiter")) t.fewshot_delimiter = FRAGUA_TRY(string_key(j, "fewshot_delimiter", path));
  t.description = FRAGUA_TRY(string_key(j, "description", path));
  if (j.contains("num_fewshot") && !j["num_fewshot"].is_null()) {
    if (!j["num_fewshot"].is_number_integer() || j["num_fewshot"].get<int64_t>() < 0 ||
        j["num_fewshot"].get<int64_t>() > 1000)
      return invalid_argument_error("{}: num_fewshot must be an integer in [0, 1000]", path);
    t.num_fewshot = j["num_fewshot"].get<int>();
  }
  if (t.output_type == "generate_until") {
    t.metrics = {"exact_match"};
    t.until = {t.fewshot_delimiter};
  } else if (t.output_type == "loglikelihood_rolling") {
    t.metrics = {"word_perplexity", "byte_perplexity", "bits_per_byte"};
    if (t.num_fewshot > 0)
      return invalid_argument_error("{}: a loglikelihood_rolling task scores its text alone: num_fewshot must be 0",
                                    path);
  }
  if (j.contains("generation_kwargs") && !j["generation_kwargs"].is_null()) {
    const auto& g = j["generation_kwargs"];
    if (!g.is_object() || t.output_type != "generate_until")
      return invalid_argument_error("{}: generation_kwargs must be a mapping, in a generate_until task", path);
    for (const auto& [key, v] : g.items()) {
      if (key == "until") {
        t.until.clear();
        if (v.is_string()) {
          t.until.push_back(v.get<std::string>());
        } else if (v.is_array()) {
          for (const auto& u : v) {
            if (!u.is_string()) return invalid_argument_error("{}: generation_kwargs.until: strings only", path);
            t.until.push_back(u.get<std::string>());
          }
        } else {
          return invalid_argument_error("{}: generation_kwargs.until must be a string or a list", path);
        }
      } else if (key == "max_gen_toks") {
        if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > 65536)
          return invalid_argument_error("{}: generation_kwargs.max_gen_toks must be an integer in [1, 65536]", path);
        t.max_gen_toks = v.get<int>();
      } else if (key == "do_sample") {
        if (!v.is_boolean() || v.get<bool>())
          return invalid_argument_error("{}: generation_kwargs.do_sample: only greedy decoding (false) is scored",
                                        path);
      } else if (key == "temperature") {
        if (!v.is_number() || v.get<double>() != 0)
          return invalid_argument_error("{}: generation_kwargs.temperature: only 0 (greedy) is scored", path);
      } else {
        return invalid_argument_error("{}: generation_kwargs.{} is not supported (until, max_gen_toks, do_sample, "
                                      "temperature)",
                                      path, key);
      }
    }
  }
  if (j.contains("metric_list") && !j["metric_list"].is_null()) {
    if (!j["metric_list"].is_array()) return invalid_argument_error("{}: metric_list must be a list", path);
    t.metrics.clear();
    for (const auto& m : j["metric_list"]) {
      if (!m.is_object() || !m.contains("metric") || !m["metric"].is_string())
        return invalid_argument_error("{}: metric_list: each entry needs a metric name", path);
      const std::string name = m["metric"].get<std::string>();
      const char* allowed = mc ? "acc, acc_norm"
                            : t.output_type == "generate_until" ? "exact_match, chrf, bleu"
                                                                : "word_perplexity, byte_perplexity, bits_per_byte";
      bool ok = false;
      for (const auto& a : fmt_split_metrics(allowed)) ok = ok || a == name;
      if (!ok)
        return invalid_argument_error("{}: metric '{}' is not supported for {} ({})", path, name, t.output_type,
                                      allowed);
      t.metrics.push_back(name);
    }
  }
  if (j.contains("metadata") && j["metadata"].is_object()) {
    const auto& md = j["metadata"];
    if (md.contains("version") && md["version"].is_number()) t.version = md["version"].get<double>();
    if (md.contains("language") && md["language"].is_string()) t.language = md["language"].get<std::string>();
  }
  return t;
}

Result<nlohmann::ordered_json> load_with_includes(const std::string& path, Env& env, int depth,
                                                  std::vector<TaggedYamlValue>* tagged = nullptr) {
  if (depth > kMaxIncludeDepth) return invalid_argument_error("{}: include nested deeper than {}", path, kMaxIncludeDepth);
  const std::string text = FRAGUA_TRY(read_file(path, env));
  auto j = FRAGUA_TRY(yaml_to_json(text, path, tagged));
  if (!j.contains("include")) return j;
  if (!j["include"].is_string()) return invalid_argument_error("{}: include must be a file name", path);
  // The harness's include: the included file's keys, overridden by this file's.
  auto base = FRAGUA_TRY(load_with_includes(resolve(path, j["include"].get<std::string>()), env, depth + 1, tagged));
  j.erase("include");
  for (const auto& [k, v] : j.items()) base[k] = v;
  return base;
}

}  // namespace

std::string TaskConfig::shot_split() const {
  if (!fewshot_split.empty()) return fewshot_split;
  if (!training_split.empty()) return training_split;
  return validation_split;
}

Result<TaskConfig> parse_task(std::string_view yaml, const std::string& path) {
  auto j = FRAGUA_TRY(yaml_to_json(yaml, path));
  if (j.contains("include")) return invalid_argument_error("{}: include needs the file's folder: use load_task", path);
  return from_json(std::move(j), path);
}

Result<TaskConfig> load_task(const std::string& path, Env& env) {
  return from_json(FRAGUA_TRY(load_with_includes(path, env, 0)), path);
}

Result<std::vector<nlohmann::ordered_json>> parse_docs(std::string_view data, const std::string& path) {
  std::vector<nlohmann::ordered_json> docs;
  size_t line = 0;
  for (size_t pos = 0; pos < data.size();) {
    const size_t nl = std::min(data.find('\n', pos), data.size());
    const std::string_view text = data.substr(pos, nl - pos);
    pos = nl + 1;
    ++line;
    if (text.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    auto j = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object())
      return invalid_argument_error("{}:{}: expected one JSON object per line", path, line);
    docs.push_back(std::move(j));
  }
  return docs;
}

Result<std::vector<nlohmann::ordered_json>> load_split(const TaskConfig& task, const std::string& split, Env& env) {
  const auto it = task.split_files.find(split);
  if (it == task.split_files.end()) return not_found_error("{}: no file for the split '{}'", task.path, split);
  const std::string data = FRAGUA_TRY(read_file(it->second, env));
  return parse_docs(data, it->second);
}

namespace {

bool is_template(std::string_view s) {
  return s.find("{{") != std::string_view::npos || s.find("{%") != std::string_view::npos;
}

std::string scalar_text(const nlohmann::ordered_json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// A template is rendered by the chat-template interpreter with the document's fields as its
// variables and no messages (tokenize::render_chat_json), so that one Jinja implementation serves
// both.
Result<std::string> render_template(const std::string& tmpl, const nlohmann::ordered_json& doc) {
  tokenize::ChatContext ctx;
  ctx.variables = doc;
  auto r = tokenize::render_chat_json(tmpl, nlohmann::ordered_json::array(), false, ctx);
  if (!r.ok()) return std::move(r).error().with_context("template '" + tmpl.substr(0, 60) + "'");
  return std::move(r->text);
}

}  // namespace

Result<std::string> render_field(const nlohmann::ordered_json& spec, const nlohmann::ordered_json& doc) {
  if (spec.is_number_integer()) return std::to_string(spec.get<int64_t>());
  if (!spec.is_string()) return invalid_argument_error("expected a field name or a template, got {}", spec.dump());
  const std::string s = spec.get<std::string>();
  if (!is_template(s)) {
    if (doc.contains(s)) return scalar_text(doc[s]);
    return s;  // literal text, as Jinja renders text without tags
  }
  return render_template(s, doc);
}

Result<std::vector<std::string>> render_choices(const TaskConfig& task, const nlohmann::ordered_json& doc) {
  const auto& spec = task.doc_to_choice;
  std::vector<std::string> out;
  if (spec.is_array()) {
    for (const auto& c : spec) out.push_back(FRAGUA_TRY(render_field(c, doc)));
  } else if (spec.is_string() && !is_template(spec.get<std::string>())) {
    const std::string field = spec.get<std::string>();
    if (!doc.contains(field) || !doc[field].is_array())
      return invalid_argument_error("doc_to_choice: the field '{}' is not a list", field);
    for (const auto& c : doc[field]) out.push_back(scalar_text(c));
  } else {
    out = FRAGUA_TRY(parse_python_string_list(FRAGUA_TRY(render_field(spec, doc))));
  }
  if (out.empty()) return invalid_argument_error("doc_to_choice: no choices");
  return out;
}

Result<size_t> render_target(const TaskConfig& task, const nlohmann::ordered_json& doc,
                             const std::vector<std::string>& choices) {
  const auto& spec = task.doc_to_target;
  std::string text;
  if (spec.is_string() && !is_template(spec.get<std::string>()) && doc.contains(spec.get<std::string>()) &&
      doc[spec.get<std::string>()].is_number_integer()) {
    const int64_t i = doc[spec.get<std::string>()].get<int64_t>();
    if (i < 0 || static_cast<size_t>(i) >= choices.size())
      return invalid_argument_error("doc_to_target: {} is not the index of one of {} choices", i, choices.size());
    return static_cast<size_t>(i);
  }
  text = FRAGUA_TRY(render_field(spec, doc));
  size_t i = 0;
  if (!text.empty() && std::from_chars(text.data(), text.data() + text.size(), i).ptr == text.data() + text.size()) {
    if (i >= choices.size())
      return invalid_argument_error("doc_to_target: {} is not the index of one of {} choices", i, choices.size());
    return i;
  }
  for (size_t c = 0; c < choices.size(); ++c)
    if (choices[c] == text) return c;
  return invalid_argument_error("doc_to_target: '{}' is neither an index nor one of the choices", text.substr(0, 80));
}

Result<std::string> render_gold_text(const TaskConfig& task, const nlohmann::ordered_json& doc) {
  if (task.doc_to_choice.is_null()) return render_field(task.doc_to_target, doc);
  const auto choices = FRAGUA_TRY(render_choices(task, doc));
  return choices[FRAGUA_TRY(render_target(task, doc, choices))];
}

Result<McQuestion> build_question(const TaskConfig& task, const nlohmann::ordered_json& doc,
                                  const std::vector<const nlohmann::ordered_json*>& shots) {
  McQuestion q;
  if (task.output_type == "loglikelihood_rolling") {
    q.target = FRAGUA_TRY(render_field(task.doc_to_target, doc));
    return q;
  }
  q.context = task.description;
  for (const auto* shot : shots)
    q.context += FRAGUA_TRY(render_field(task.doc_to_text, *shot)) + task.target_delimiter +
                 FRAGUA_TRY(render_gold_text(task, *shot)) + task.fewshot_delimiter;
  q.context += FRAGUA_TRY(render_field(task.doc_to_text, doc));
  if (task.output_type == "generate_until") {
    q.target = FRAGUA_TRY(render_gold_text(task, doc));
    return q;
  }
  q.choices = FRAGUA_TRY(render_choices(task, doc));
  q.gold = FRAGUA_TRY(render_target(task, doc, q.choices));
  return q;
}

Result<std::vector<std::string>> parse_python_string_list(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  auto skip = [&] {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r')) ++i;
  };
  skip();
  if (i >= s.size() || s[i] != '[') return invalid_argument_error("expected a list literal, got '{}'", s.substr(0, 80));
  ++i;
  skip();
  if (i < s.size() && s[i] == ']') return out;
  while (true) {
    skip();
    if (i >= s.size() || (s[i] != '\'' && s[i] != '"'))
      return invalid_argument_error("list literal: expected a quoted string at offset {}", i);
    const char q = s[i++];
    std::string item;
    while (i < s.size() && s[i] != q) {
      char c = s[i++];
      if (c == '\\' && i < s.size()) {
        const char e = s[i++];
        c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
      }
      item += c;
    }
    if (i >= s.size()) return invalid_argument_error("list literal: unterminated string");
    ++i;
    out.push_back(std::move(item));
    skip();
    if (i < s.size() && s[i] == ',') {
      ++i;
      skip();
      if (i < s.size() && s[i] == ']') break;
      continue;
    }
    if (i < s.size() && s[i] == ']') break;
    return invalid_argument_error("list literal: expected ',' or ']' at offset {}", i);
  }
  ++i;
  skip();
  if (i != s.size()) return invalid_argument_error("list literal: text after the list at offset {}", i);
  return out;
}

namespace {

// YAML text of a converted task: each key on its line, its value in JSON's flow syntax (a subset
// of YAML 1.2 that yaml-cpp reads), so that templates keep every character.
std::string converted_task_yaml(const nlohmann::ordered_json& j, const std::vector<ConvertNote>& dropped,
                                const std::string& source) {
  std::string out = "# Converted by `fragua eval convert` from " + source + " (lm-evaluation-harness).\n";
  for (const auto& d : dropped) out += "# not carried: " + d.key + ": " + d.reason + "\n";
  for (const auto& [k, v] : j.items()) out += k + ": " + v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return out;
}

}  // namespace

Result<ConvertedTask> convert_harness_task(const std::string& harness_yaml, const std::string& out_path,
                                           const ConvertOptions& o, Env& env) {
  std::vector<TaggedYamlValue> tagged;
  auto src = FRAGUA_TRY(load_with_includes(harness_yaml, env, 0, &tagged));
  ConvertedTask r;
  auto drop = [&](std::string key, std::string reason) { r.dropped.push_back({std::move(key), std::move(reason)}); };
  auto tag_of = [&](const std::string& key) -> const TaggedYamlValue* {
    for (const auto& t : tagged)
      if (t.key == key) return &t;
    return nullptr;
  };
  auto& out = r.config;
  out = nlohmann::ordered_json::object();
  std::string output_type = "multiple_choice";
  if (src.contains("output_type") && src["output_type"].is_string()) output_type = src["output_type"].get<std::string>();
  for (const auto& [key, v] : src.items()) {
    if (v.is_null()) {
      if (const auto* t = tag_of(key)) drop(key, fmt::format("{} {}: Python code cannot be carried", t->tag, t->value));
      continue;
    }
    if (key == "task" || key == "test_split" || key == "validation_split" || key == "training_split" ||
        key == "fewshot_split" || key == "doc_to_text" || key == "doc_to_target" || key == "doc_to_choice" ||
        key == "target_delimiter" || key == "fewshot_delimiter" || key == "description" || key == "num_fewshot" ||
        key == "tag" || key == "group" || key == "should_decontaminate" || key == "doc_to_decontamination_query") {
      out[key] = v;
    } else if (key == "output_type") {
      if (v == "multiple_choice" || v == "generate_until" || v == "loglikelihood_rolling") {
        out[key] = v;
      } else {
        drop(key, fmt::format("{} is not scored here (multiple_choice, generate_until, loglikelihood_rolling)", v.dump()));
      }
    } else if (key == "dataset_path" || key == "dataset_name" || key == "dataset_kwargs") {
      // Replaced by the local files below.
    } else if (key == "metric_list" && v.is_array()) {
      const std::set<std::string> ok = output_type == "multiple_choice"  ? std::set<std::string>{"acc", "acc_norm"}
                                       : output_type == "generate_until" ? std::set<std::string>{"exact_match", "chrf", "bleu"}
                                                                         : std::set<std::string>{"word_perplexity", "byte_perplexity", "bits_per_byte"};
      auto kept = nlohmann::ordered_json::array();
      for (size_t i = 0; i < v.size(); ++i) {
        const auto& m = v[i];
        const std::string name = m.is_object() && m.contains("metric") && m["metric"].is_string() ? m["metric"].get<std::string>() : "";
        if (!ok.count(name)) {
          drop(fmt::format("metric_list[{}]", i),
               name.empty() ? "a metric computed in Python" : fmt::format("the metric '{}' is not computed here", name));
          continue;
        }
        kept.push_back({{"metric", name}});
        for (const char* sub : {"aggregation", "higher_is_better", "ignore_case", "ignore_punctuation"})
          if (m.contains(sub) && !(std::string_view(sub) == "aggregation" && m[sub] == "mean") &&
              !(std::string_view(sub) == "higher_is_better" && m[sub] == true))
            drop(fmt::format("metric_list[{}].{}", i, sub), "only the harness's default for this metric is computed");
      }
      if (!kept.empty()) out[key] = kept;
    } else if (key == "generation_kwargs" && v.is_object()) {
      auto kept = nlohmann::ordered_json::object();
      for (const auto& [gk, gv] : v.items()) {
        if (gk == "until" || gk == "max_gen_toks" || (gk == "do_sample" && gv == false) ||
            (gk == "temperature" && gv.is_number() && gv.get<double>() == 0)) {
          kept[gk] = gv;
        } else {
          drop("generation_kwargs." + gk, "only greedy decoding with until and max_gen_toks is run");
        }
      }
      if (!kept.empty()) out[key] = kept;
    } else if (key == "metadata" && v.is_object()) {
      out[key] = nlohmann::ordered_json::object();
      if (v.contains("version")) out[key]["version"] = v["version"];
      if (v.contains("language")) out[key]["language"] = v["language"];
    } else if (key == "process_docs" || key == "process_results") {
      drop(key, "a Python hook: apply it to the JSON lines once and template over its fields");
    } else if (key == "filter_list") {
      drop(key, "answer extraction filters are not run: write the target so that the plain generation matches");
    } else if (key == "fewshot_config") {
      drop(key, "few-shot examples are drawn by the harness's default sampler (seeded random) only");
    } else {
      drop(key, "not part of Fragua's task format");
    }
  }
  for (const auto& t : tagged)
    if (t.key.find_first_of(".[") != std::string::npos)
      drop(t.key, fmt::format("{} {}: Python code cannot be carried", t.tag, t.value));
  if (!o.language.empty()) {
    if (!out.contains("metadata")) out["metadata"] = nlohmann::ordered_json::object();
    out["metadata"]["language"] = o.language;
  }
  const std::string hub = src.value("dataset_path", std::string()) +
                          (src.contains("dataset_name") && src["dataset_name"].is_string()
                               ? " (" + src["dataset_name"].get<std::string>() + ")"
                               : std::string());
  if (!o.data_files.empty()) {
    out["dataset_kwargs"] = {{"data_files", o.data_files}};
  } else if (!o.data_dir.empty()) {
    out["dataset_path"] = o.data_dir;
  } else {
    r.blocking = fmt::format("no local data for the hub dataset {}: name its splits' JSON lines (--data SPLIT=FILE) "
                             "or their folder (--data-dir)",
                             hub.empty() ? "(none named)" : hub);
  }
  r.yaml = converted_task_yaml(out, r.dropped, harness_yaml);
  if (r.blocking.empty()) {
    auto check = parse_task(r.yaml, out_path);
    if (!check.ok()) r.blocking = check.error().message();
  }
  return r;
}

}  // namespace fragua::eval
