// SPDX-License-Identifier: Apache-2.0
// `fragua corpus langid` (stdin, one answer per line or --document), `... langid train`,
// `... langid calibrate`, `... langid eval`.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "fragua/base/file.h"
#include "fragua/base/json.h"
#include "fragua/base/log.h"
#include "fragua/base/svg.h"
#include "fragua/data/langid.h"

namespace fragua::cli {
// Named, not FRAGUA_CMD_NS: setup_corpus_* below is called from cmd_corpus.cpp, so it lives
// outside and reaches these names through a using-directive of its own.
namespace corpus_langid_cmd {

struct LangIdOpts {
  std::string model;
  bool sentences = false, json = false, document = false;
};
struct TrainOpts {
  std::vector<std::string> inputs;
  std::string out, heldout_out, calibration_out;
  double heldout = 0.1;
  int bits = 18, epochs = 3, clean_passes = 1;
  double clean_confidence = 0.9;
};
struct CalibrateOpts {
  std::string model, input, out;
};
struct EvalOpts {
  std::string model, input, report, svg;
  size_t min_words = 5;
  int show_errors = 0;
};

Result<data::LangIdModel> load_model(const std::string& path) {
  return path.empty() ? data::LangIdModel::load_default() : data::LangIdModel::load(path);
}

// Standard input in 1 MiB reads (a per-character istream was the CLI's bottleneck), each
// complete line handed to `on_line` as it arrives; a last line without '\n' too.
Status read_stdin_lines(const std::function<void(std::string_view)>& on_line) {
  std::string buf;
  std::vector<char> chunk(size_t{1} << 20);
  size_t done = 0;  // bytes of buf already handed out
  for (;;) {
    ssize_t n = ::read(STDIN_FILENO, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("standard input: {}", std::strerror(errno));
    if (n == 0) break;
    buf.erase(0, done);
    done = 0;
    buf.append(chunk.data(), static_cast<size_t>(n));
    for (size_t nl; (nl = buf.find('\n', done)) != std::string::npos; done = nl + 1)
      on_line(std::string_view(buf).substr(done, nl - done));
  }
  if (done < buf.size()) on_line(std::string_view(buf).substr(done));
  return ok_status();
}

Status read_stdin_all(std::string& out) {
  return read_stdin_lines([&out](std::string_view line) {
    out.append(line);
    out.push_back('\n');
  });
}

Status run_identify(const LangIdOpts& o) {
  auto model = FRAGUA_TRY(load_model(o.model));
  std::string out;
  auto flush = [&out] {
    std::fwrite(out.data(), 1, out.size(), stdout);
    out.clear();
  };
  if (!o.document && !o.sentences) {
    // One answer per input line, as fastText's `predict` and langid.py's line mode answer.
    FRAGUA_TRY(read_stdin_lines([&](std::string_view line) {
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      auto g = model.identify(line);
      if (o.json)
        out += nlohmann::json({{"lang", g.lang}, {"confidence", g.confidence}, {"second", g.second}}).dump() + "\n";
      else
        fmt::format_to(std::back_inserter(out), "{}\t{:.3f}\n", g.lang, g.confidence);
      if (out.size() > (size_t{1} << 16)) flush();
    }));
    flush();
    return ok_status();
  }
  std::string in;
  FRAGUA_TRY(read_stdin_all(in));
  if (!in.empty()) in.pop_back();  // the '\n' read_stdin_all added after the last line
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

// Held-out JSONL ({text, lang, domain?}) as written by `langid train --heldout-out`.
Result<std::vector<data::LabeledText>> read_labeled_jsonl(const std::string& path) {
  auto text = FRAGUA_TRY(read_file(path));
  std::vector<data::LabeledText> items;
  size_t pos = 0, line = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    ++line;
    auto parsed = parse_json(std::string_view(text).substr(pos, nl - pos), fmt::format("{}: line {}", path, line));
    pos = nl + 1;
    if (!parsed.ok()) return std::move(parsed).error();
    const nlohmann::json& j = *parsed;
    if (!j.is_object() || !j.contains("text") || !j.contains("lang") || !j["text"].is_string() ||
        !j["lang"].is_string())
      return corruption_error("{}: line {}: expected {{\"text\", \"lang\"}}", path, line);
    std::string domain;
    if (auto d = j.find("domain"); d != j.end() && d->is_string()) domain = d->get<std::string>();
    items.push_back({j["text"].get<std::string>(), j["lang"].get<std::string>(), std::move(domain)});
  }
  return items;
}

Status write_labeled_jsonl(const std::string& path, const std::vector<data::LabeledText>& items) {
  auto f = FRAGUA_TRY(AtomicFile::create(path));
  for (const auto& s : items)
    FRAGUA_TRY(f.append(nlohmann::json({{"text", s.text}, {"lang", s.lang}, {"domain", s.domain}}).dump() + "\n"));
  return f.commit();
}

// The confusion matrix as a heat map: rows gold, columns predicted, each cell shaded by its
// share of the row (recall along the diagonal), the count written in it.
std::string confusion_svg(const data::LangIdEval& e) {
  const double cell = 44, left = 70, top = 70;
  const double n = static_cast<double>(e.langs.size());
  svg::Canvas c(left + cell * n + 20, top + cell * n + 40, "fragua corpus langid eval confusion v1");
  c.text(left + cell * n / 2, 24, "predicted", "text-anchor=\"middle\" font-size=\"14\"");
  c.text(18, top + cell * n / 2, "gold",
         fmt::format("text-anchor=\"middle\" font-size=\"14\" transform=\"rotate(-90 18 {})\"", top + cell * n / 2));
  for (size_t i = 0; i < e.langs.size(); ++i) {
    c.text(left + cell * (static_cast<double>(i) + 0.5), top - 10, e.langs[i], "text-anchor=\"middle\"");
    c.text(left - 8, top + cell * (static_cast<double>(i) + 0.5) + 4, e.langs[i], "text-anchor=\"end\"");
    uint64_t row = 0;
    for (auto v : e.confusion[i]) row += v;
    for (size_t k = 0; k < e.langs.size(); ++k) {
      const uint64_t v = e.confusion[i][k];
      const double share = row ? static_cast<double>(v) / static_cast<double>(row) : 0;
      // White to dark blue; a non-zero off-diagonal cell at least faintly visible.
      const double t = v ? std::max(share, 0.06) : 0;
      const auto ch = [t](int full) { return static_cast<int>(255 - t * (255 - full)); };
      const std::string fill = fmt::format("#{:02x}{:02x}{:02x}", ch(21), ch(101), ch(192));
      const double x = left + cell * static_cast<double>(k), y = top + cell * static_cast<double>(i);
      c.rect(x, y, cell, cell, fill, fmt::format("{} read as {}: {} ({:.1f}%)", e.langs[i], e.langs[k], v, 100 * share),
             "stroke=\"#ccc\"");
      if (v)
        c.text(x + cell / 2, y + cell / 2 + 4, std::to_string(v),
               fmt::format("text-anchor=\"middle\" font-size=\"11\" fill=\"{}\"", share > 0.5 ? "#fff" : "#000"));
    }
  }
  return c.finish();
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
  // Calibrated on its own slice of held-out documents, not the evaluation's.
  if (!split.calibration.empty()) model.set_calibration(data::fit_langid_calibration(model, split.calibration));
  FRAGUA_TRY(model.save(o.out));
  if (!o.heldout_out.empty()) FRAGUA_TRY(write_labeled_jsonl(o.heldout_out, split.heldout));
  if (!o.calibration_out.empty()) FRAGUA_TRY(write_labeled_jsonl(o.calibration_out, split.calibration));
  auto e = data::evaluate_langid(model, split.heldout, 5);
  std::cout << data::format_langid_eval(e);
  return ok_status();
}

Status run_calibrate(const CalibrateOpts& o) {
  auto model = FRAGUA_TRY(load_model(o.model));
  auto items = FRAGUA_TRY(read_labeled_jsonl(o.input));
  auto c = data::fit_langid_calibration(model, items);
  // A model from before calibration answers every text; a calibrated one says "und" when unsure.
  c.unknown_below = data::LangIdCalibration{}.unknown_below;
  model.set_calibration(c);
  FRAGUA_TRY(model.save(o.out));
  std::string scales;
  for (const auto& b : c.buckets)
    scales += b.max_words ? fmt::format(" <={}:{:.3f}", b.max_words, b.scale) : fmt::format(" more:{:.3f}", b.scale);
  std::cout << fmt::format(
      "temperature ({:.4f} + {:.5f} per feature) x the length bucket's scale (words:scale{}), unknown below {:.2f}\n",
      c.t0, c.t_per_feature, scales, c.unknown_below);
  return ok_status();
}

Status run_eval(const EvalOpts& o) {
  auto model = FRAGUA_TRY(load_model(o.model));
  auto items = FRAGUA_TRY(read_labeled_jsonl(o.input));
  auto e = data::evaluate_langid(model, items, o.min_words);
  std::string table = data::format_langid_eval(e);
  std::cout << table;
  for (int i = 0; i < o.show_errors && i < static_cast<int>(e.errors.size()); ++i)
    std::cout << e.errors[static_cast<size_t>(i)] << "\n";
  if (!o.report.empty()) FRAGUA_TRY(write_file_atomic(o.report, table));
  if (!o.svg.empty()) FRAGUA_TRY(write_file_atomic(o.svg, confusion_svg(e)));
  return ok_status();
}

}  // namespace corpus_langid_cmd

void setup_corpus_langid(CLI::App& corpus) {
  using namespace corpus_langid_cmd;
  auto* cmd = corpus.add_subcommand(
      "langid", "Identify the language of each line of stdin (tab-separated language and confidence; \"und\": unsure)");
  cmd->require_subcommand(0, 1);
  auto o = std::make_shared<LangIdOpts>();
  cmd->add_option("--model", o->model, "Model file (default: data/langid/model.bin)");
  cmd->add_flag("--document", o->document, "One answer for the whole input instead of one per line");
  cmd->add_flag("-s,--sentences", o->sentences, "Whole input: one line per sentence, then the document");
  cmd->add_flag("--json", o->json, "JSON output");

  auto* train = cmd->add_subcommand("train", "Train the model on corpus JSONL (e.g. from `corpus fetch debian`)");
  auto t = std::make_shared<TrainOpts>();
  train->add_option("inputs", t->inputs, "Corpus JSONL files with text and lang")->required();
  add_output_flag(*train, t->out, "Model file to write (required)");
  train->add_option("--heldout-out", t->heldout_out, "Write the held-out sentences here (JSONL)");
  train->add_option("--calibration-out", t->calibration_out,
                    "Write the calibration slice (as many documents again, also unseen) here (JSONL)");
  train->add_option("--heldout", t->heldout, "Fraction of documents held out")->capture_default_str();
  train->add_option("--bits", t->bits, "log2 of the number of hash buckets")->capture_default_str();
  train->add_option("--epochs", t->epochs, "Perceptron passes")->capture_default_str();
  train->add_option("--clean-passes", t->clean_passes, "Label-noise cleaning passes")->capture_default_str();
  train
      ->add_option("--clean-confidence", t->clean_confidence,
                   "Drop training sentences read as another language with this confidence")
      ->capture_default_str();
  train->callback([t] {
    require_output(t->out);
    check(run_train(*t));
  });

  auto* cal = cmd->add_subcommand("calibrate", "Fit the confidence temperature on held-out labelled sentences");
  auto co = std::make_shared<CalibrateOpts>();
  cal->add_option("--model", co->model, "Model file (default: data/langid/model.bin)");
  cal->add_option("input", co->input, "JSONL of {text, lang} from documents the model was not trained on")->required();
  add_output_flag(*cal, co->out, "Calibrated model file to write (required)");
  cal->callback([co] {
    require_output(co->out);
    check(run_calibrate(*co));
  });

  auto* eval = cmd->add_subcommand("eval", "Evaluate on labelled sentences (JSONL text, lang)");
  auto e = std::make_shared<EvalOpts>();
  eval->add_option("--model", e->model, "Model file (default: data/langid/model.bin)");
  eval->add_option("input", e->input, "JSONL of {text, lang}")->required();
  eval->add_option("--min-words", e->min_words, "Only sentences with at least this many words")->capture_default_str();
  eval->add_option("--report", e->report, "Also write the table here");
  eval->add_option("--svg", e->svg, "Also write the confusion matrix as an SVG heat map here");
  eval->add_option("--errors", e->show_errors, "Print the first N misclassified sentences");
  eval->callback([e] { check(run_eval(*e)); });

  cmd->callback([cmd, o] {
    if (cmd->get_subcommands().empty()) check(run_identify(*o));
  });
}

}  // namespace fragua::cli
