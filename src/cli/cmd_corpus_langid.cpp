// `fragua corpus langid` (stdin), `... langid train`, `... langid eval`.
#include <iostream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "fragua/base/file.h"
#include "fragua/base/json.h"
#include "fragua/base/log.h"
#include "fragua/data/langid.h"

namespace fragua::cli {
// Named, not FRAGUA_CMD_NS: setup_corpus_* below is called from cmd_corpus.cpp, so it lives
// outside and reaches these names through a using-directive of its own.
namespace corpus_langid_cmd {

struct LangIdOpts {
  std::string model;
  bool sentences = false, json = false;
};
struct TrainOpts {
  std::vector<std::string> inputs;
  std::string out, heldout_out;
  double heldout = 0.1;
  int bits = 18, epochs = 3, clean_passes = 1;
  double clean_confidence = 0.9;
};
struct EvalOpts {
  std::string model, input, report;
  size_t min_words = 5;
  int show_errors = 0;
};

Result<data::LangIdModel> load_model(const std::string& path) {
  return path.empty() ? data::LangIdModel::load_default() : data::LangIdModel::load(path);
}

Status run_identify(const LangIdOpts& o) {
  auto model = FRAGUA_TRY(load_model(o.model));
  std::string in((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  auto d = model.identify_document(in, o.sentences);
  if (o.json) {
    nlohmann::json j = {{"lang", d.guess.lang}, {"confidence", d.guess.confidence}, {"second", d.guess.second}};
    for (const auto& s : d.sentences)
      j["sentences"].push_back(
          {{"offset", s.offset}, {"length", s.length}, {"lang", s.guess.lang}, {"confidence", s.guess.confidence}});
    std::cout << j.dump() << "\n";
    return ok_status();
  }
  for (const auto& s : d.sentences)
    std::cout << fmt::format("{}\t{:.3f}\t{}\n", s.guess.lang, s.guess.confidence, in.substr(s.offset, s.length));
  std::cout << fmt::format("{}{}\t{:.3f}\n", o.sentences ? "document\t" : "", d.guess.lang, d.guess.confidence);
  return ok_status();
}

Status run_train(const TrainOpts& o) {
  auto split = FRAGUA_TRY(data::prepare_langid_data(o.inputs, o.heldout));
  data::LangIdTrainOptions to;
  to.n_buckets_log2 = o.bits;
  to.perceptron_epochs = o.epochs;
  to.clean_passes = o.clean_passes;
  to.clean_confidence = o.clean_confidence;
  std::string inputs;
  for (const auto& i : o.inputs) inputs += (inputs.empty() ? "" : " ") + i;
  to.provenance = "inputs: " + inputs;
  auto model = FRAGUA_TRY(data::LangIdModel::train(split.train, to));
  FRAGUA_TRY(model.save(o.out));
  if (!o.heldout_out.empty()) {
    auto f = FRAGUA_TRY(AtomicFile::create(o.heldout_out));
    for (const auto& s : split.heldout)
      FRAGUA_TRY(f.append(nlohmann::json({{"text", s.text}, {"lang", s.lang}}).dump() + "\n"));
    FRAGUA_TRY(f.commit());
  }
  auto e = data::evaluate_langid(model, split.heldout, 5);
  std::cout << data::format_langid_eval(e);
  return ok_status();
}

Status run_eval(const EvalOpts& o) {
  auto model = FRAGUA_TRY(load_model(o.model));
  auto text = FRAGUA_TRY(read_file(o.input));
  std::vector<data::LabeledText> items;
  size_t pos = 0, line = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    ++line;
    auto parsed = parse_json(std::string_view(text).substr(pos, nl - pos), fmt::format("{}: line {}", o.input, line));
    pos = nl + 1;
    if (!parsed.ok()) return std::move(parsed).error();
    const nlohmann::json& j = *parsed;
    if (!j.is_object() || !j.contains("text") || !j.contains("lang") || !j["text"].is_string() ||
        !j["lang"].is_string())
      return corruption_error("{}: line {}: expected {{\"text\", \"lang\"}}", o.input, line);
    items.push_back({j["text"].get<std::string>(), j["lang"].get<std::string>()});
  }
  auto e = data::evaluate_langid(model, items, o.min_words);
  std::string table = data::format_langid_eval(e);
  std::cout << table;
  for (int i = 0; i < o.show_errors && i < static_cast<int>(e.errors.size()); ++i)
    std::cout << e.errors[static_cast<size_t>(i)] << "\n";
  if (!o.report.empty()) FRAGUA_TRY(write_file_atomic(o.report, table));
  return ok_status();
}

}  // namespace corpus_langid_cmd

void setup_corpus_langid(CLI::App& corpus) {
  using namespace corpus_langid_cmd;
  auto* cmd = corpus.add_subcommand("langid", "Identify the language of stdin (sentence and document level)");
  cmd->require_subcommand(0, 1);
  auto o = std::make_shared<LangIdOpts>();
  cmd->add_option("--model", o->model, "Model file (default: data/langid/model.bin)");
  cmd->add_flag("-s,--sentences", o->sentences, "Also one line per sentence");
  cmd->add_flag("--json", o->json, "JSON output");

  auto* train = cmd->add_subcommand("train", "Train the model on corpus JSONL (e.g. from `corpus fetch debian`)");
  auto t = std::make_shared<TrainOpts>();
  train->add_option("inputs", t->inputs, "Corpus JSONL files with text and lang")->required();
  train->add_option("-o,--out", t->out, "Model file to write")->required();
  train->add_option("--heldout-out", t->heldout_out, "Write the held-out sentences here (JSONL)");
  train->add_option("--heldout", t->heldout, "Fraction of documents held out")->capture_default_str();
  train->add_option("--bits", t->bits, "log2 of the number of hash buckets")->capture_default_str();
  train->add_option("--epochs", t->epochs, "Perceptron passes")->capture_default_str();
  train->add_option("--clean-passes", t->clean_passes, "Label-noise cleaning passes")->capture_default_str();
  train
      ->add_option("--clean-confidence", t->clean_confidence,
                   "Drop training sentences read as another language with this confidence")
      ->capture_default_str();
  train->callback([t] { check(run_train(*t)); });

  auto* eval = cmd->add_subcommand("eval", "Evaluate on labelled sentences (JSONL text, lang)");
  auto e = std::make_shared<EvalOpts>();
  eval->add_option("--model", e->model, "Model file (default: data/langid/model.bin)");
  eval->add_option("input", e->input, "JSONL of {text, lang}")->required();
  eval->add_option("--min-words", e->min_words, "Only sentences with at least this many words")->capture_default_str();
  eval->add_option("--report", e->report, "Also write the table here");
  eval->add_option("--errors", e->show_errors, "Print the first N misclassified sentences");
  eval->callback([e] { check(run_eval(*e)); });

  cmd->callback([cmd, o] {
    if (cmd->get_subcommands().empty()) check(run_identify(*o));
  });
}

}  // namespace fragua::cli
