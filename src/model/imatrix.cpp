// SPDX-License-Identifier: Apache-2.0
// The importance matrix (imatrix.h): collection from the forward pass's steps, chunked runs over
// a calibration text, and llama.cpp's legacy imatrix.dat. Semantics follow llama.cpp's
// tools/imatrix/imatrix.cpp (IMatrixCollector::collect_imatrix, save_imatrix_legacy,
// compute_imatrix): per matmul call, f32 sums of x_j^2 over the rows of its input and a count of
// those rows; the file stores sums / count * ncall with ncall = ceil(count / chunk_size), so that
// the reader's division by ncall gives the mean over token rows.
#include "fragua/model/imatrix.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "fragua/base/data_files.h"
#include "fragua/base/log.h"
#include "fragua/base/progress.h"
#include "fragua/model/loaded_model.h"
#include "model/arch.h"

namespace fragua::model {
namespace {

using format::TensorRole;

// The matmuls that read each step's output, in llama.cpp's graph names (model.h, EvalCallback).
struct StepReaders {
  const char* step;
  std::vector<TensorRole> roles;
};
const std::vector<StepReaders>& step_readers() {
  static const std::vector<StepReaders> table = {
      {"attn_norm", {TensorRole::attn_q, TensorRole::attn_k, TensorRole::attn_v}},
      {"kqv_out", {TensorRole::attn_output}},
      {"ffn_norm", {TensorRole::ffn_gate, TensorRole::ffn_up}},
      {"ffn_swiglu", {TensorRole::ffn_down}},
  };
  return table;
}

std::string tensor_name(const Model& model, TensorRole role, int layer) {
  const Architecture* arch = find_architecture(model.config().arch);
  if (arch != nullptr)
    for (const auto& spec : arch->tensors)
      if (spec.role == role) return spec.gguf_name(layer);
  return {};
}

void put_i32(std::string& out, int64_t v) {
  const auto x = static_cast<int32_t>(v);
  out.append(reinterpret_cast<const char*>(&x), 4);
}

// -log p(target) from one row of logits: f32 exponentials summed in double, as llama.cpp's log_softmax.
double nll(const float* logits, int64_t n_vocab, int32_t target) {
  const float max = *std::max_element(logits, logits + n_vocab);
  double sum = 0;
  for (int64_t i = 0; i < n_vocab; ++i) sum += std::exp(logits[i] - max);
  return -(static_cast<double>(logits[target] - max) - std::log(sum));
}

}  // namespace

ImatrixCollector::ImatrixCollector(const Model& model, bool include_output)
    : model_(model), include_output_(include_output && model.gguf().find_tensor("output.weight") != nullptr) {}

ImatrixCollector::Input* ImatrixCollector::input(const char* step, int layer) {
  const auto key = std::pair<std::string, int>(step, layer);
  if (auto it = inputs_.find(key); it != inputs_.end()) return &it->second;
  Input in;
  for (const auto& r : step_readers())
    if (std::strcmp(r.step, step) == 0)
      for (TensorRole role : r.roles) in.names.push_back(tensor_name(model_, role, layer));
  if (std::strcmp(step, "result_norm") == 0) in.names.push_back("output.weight");
  if (in.names.empty()) return nullptr;
  return &inputs_.emplace(key, std::move(in)).first->second;
}

void ImatrixCollector::accumulate(Input& in, const float* x, int64_t n_tokens, int64_t n) {
  if (in.acc.sums.empty()) in.acc.sums.assign(static_cast<size_t>(n), 0.0f);
  float* acc = in.acc.sums.data();
  // Row by row in f32, as collect_imatrix adds x[j] * x[j] into its f32 sums.
  for (int64_t t = 0; t < n_tokens; ++t) {
    const float* row = x + t * n;
    for (int64_t j = 0; j < n; ++j) acc[j] += row[j] * row[j];
  }
  in.acc.count += n_tokens;
  if (status_.ok())
    for (int64_t j = 0; j < n; ++j)
      if (!std::isfinite(acc[j])) {
        status_ = invalid_argument_error("imatrix: non-finite activations reach '{}' (column {})", in.names.front(), j);
        break;
      }
}

void ImatrixCollector::observe(const char* step, int layer, const float* x, int64_t n_tokens, int64_t n) {
  const ModelConfig& c = model_.config();
  if (include_output_ && layer == c.n_layer - 1 && std::strcmp(step, "l_out") == 0) {
    // output.weight reads the output norm of the final residual stream (output_head in graph.h).
    norm_.resize(static_cast<size_t>(n_tokens * n));
    backend::ref::rmsnorm(x, model_.weights().output_norm.f32(), n_tokens, n, c.rms_eps, norm_.data());
    if (Input* in = input("result_norm", -1)) accumulate(*in, norm_.data(), n_tokens, n);
    return;
  }
  if (Input* in = input(step, layer)) accumulate(*in, x, n_tokens, n);
}

Imatrix ImatrixCollector::take() {
  Imatrix m;
  for (auto& [key, in] : inputs_)
    for (const std::string& name : in.names) m.entries[name] = in.acc;
  inputs_.clear();
  return m;
}

std::string serialize_imatrix(const Imatrix& m) {
  std::string out;
  int64_t n_entries = 0;
  for (const auto& [name, e] : m.entries) n_entries += e.count > 0 ? 1 : 0;
  put_i32(out, n_entries);
  const int64_t chunk = std::max<int64_t>(1, m.chunk_size);
  for (const auto& [name, e] : m.entries) {
    if (e.count == 0) continue;  // llama.cpp skips entries without data
    put_i32(out, static_cast<int64_t>(name.size()));
    out += name;
    const int64_t ncall = (e.count + chunk - 1) / chunk;
    put_i32(out, ncall);
    put_i32(out, static_cast<int64_t>(e.sums.size()));
    for (float s : e.sums) {
      const float v = s / static_cast<float>(e.count) * static_cast<float>(ncall);
      out.append(reinterpret_cast<const char*>(&v), 4);
    }
  }
  put_i32(out, m.n_chunks);
  put_i32(out, static_cast<int64_t>(m.dataset.size()));
  out += m.dataset;
  return out;
}

Status write_imatrix(const std::string& path, const Imatrix& m, Env& env) {
  return write_file_atomic(path, serialize_imatrix(m), env);
}

Result<CalibrationText> read_calibration_text(const std::vector<std::string>& paths, Env& env) {
  std::vector<std::string> files = paths;
  if (files.empty())
    for (const char* lang : kCalibrationLanguages)
      files.push_back(FRAGUA_TRY(find_data_file(fmt::format("calibration/{}.txt", lang))));
  CalibrationText out;
  for (const std::string& f : files) {
    std::string text = FRAGUA_TRY(env.read_file(f));
    if (!out.text.empty()) out.text += "\n\n";
    out.text += text;
    out.name += (out.name.empty() ? "" : ",") + f;
  }
  return out;
}

Result<ImatrixReport> compute_imatrix(const std::string& model_path, std::string_view text,
                                      const ImatrixOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t n_ctx = options.n_ctx;
  if (n_ctx < 16)
    return invalid_argument_error(
        "imatrix: a chunk of {} tokens is too short (at least 16: llama.cpp collects no "
        "matmul over fewer rows)",
        n_ctx);
  OpenOptions open;
  open.context.n_ctx = n_ctx;
  open.context.n_batch = n_ctx;
  open.context.n_threads = options.n_threads;
  LoadedModel m = FRAGUA_TRY(open_model(model_path, open));
  if (!m.tokenizer) return invalid_argument_error("imatrix: {} has no tokenizer", m.path);
  const ModelConfig& c = m.model->config();
  if (c.n_ctx_train > 0 && n_ctx > c.n_ctx_train)
    log_warn("imatrix: {} was trained on {} tokens of context, the chunks have {}", m.path, c.n_ctx_train, n_ctx);

  // The context that feeds the collector replaces the one open_model made (same sizes).
  ImatrixCollector collector(*m.model, options.include_output);
  ContextParams params = open.context;
  params.eval_callback = [&collector](const char* step, int layer, const float* x, int64_t n_tokens, int64_t n) {
    collector.observe(step, layer, x, n_tokens, n);
  };
  m.context.reset();
  m.context = FRAGUA_TRY(Context::create(*m.model, params));

  const tokenize::Tokenizer& tok = *m.tokenizer;
  const std::vector<int32_t> tokens = FRAGUA_TRY(tok.try_encode(text, true, false));
  const auto n_tokens = static_cast<int64_t>(tokens.size());
  if (n_tokens < 2 * n_ctx)
    return invalid_argument_error("imatrix: the text gives {} tokens; chunks of {} need at least {}", n_tokens, n_ctx,
                                  2 * n_ctx);
  int64_t n_chunks = n_tokens / n_ctx;
  if (options.max_chunks > 0) n_chunks = std::min(n_chunks, options.max_chunks);
  const bool add_bos = tok.spec().add_bos && tok.bos_id() >= 0;

  ImatrixReport report;
  report.n_tokens = n_tokens;
  std::optional<ProgressBar> bar;
  if (options.progress) bar.emplace("imatrix", static_cast<uint64_t>(n_chunks * n_ctx), "tok");
  // Perplexity over the second half of each chunk (tokens with at least n_ctx / 2 of context),
  // predicting token i + 1 from the logits of token i, as llama.cpp's compute_imatrix.
  const int64_t first = n_ctx / 2, V = c.n_vocab;
  double sum_nll = 0, sum_nll2 = 0;
  int64_t count = 0;
  std::vector<int32_t> chunk(static_cast<size_t>(n_ctx));
  for (int64_t i = 0; i < n_chunks; ++i) {
    const int32_t* src = tokens.data() + i * n_ctx;
    std::copy(src, src + n_ctx, chunk.begin());
    if (add_bos) chunk[0] = tok.bos_id();
    m.context->truncate(0);
    const std::span<const float> logits = FRAGUA_TRY(m.context->decode(chunk, true));
    if (!collector.status().ok()) return collector.status().error();
    double chunk_nll = 0;
    for (int64_t t = first; t < n_ctx - 1; ++t) {
      const double v = nll(logits.data() + t * V, V, src[t + 1]);
      chunk_nll += v;
      sum_nll += v;
      sum_nll2 += v * v;
      ++count;
    }
    ImatrixChunk info;
    info.chunk = i + 1;
    info.n_chunks = n_chunks;
    info.ppl = std::exp(sum_nll / static_cast<double>(count));
    info.chunk_ppl = std::exp(chunk_nll / static_cast<double>(n_ctx - 1 - first));
    report.chunk_ppl.push_back(info.ppl);
    if (bar) {
      bar->set_postfix(fmt::format("ppl {:.4f}", info.ppl));
      bar->add(static_cast<uint64_t>(n_ctx));
    }
    if (options.on_chunk) options.on_chunk(info);
  }
  if (bar) bar->finish();
  // llama.cpp's estimate of the error of exp(mean nll): the standard error of the mean nll times ppl.
  const double mean = sum_nll / static_cast<double>(count);
  const double var = sum_nll2 / static_cast<double>(count) - mean * mean;
  report.ppl = std::exp(mean);
  report.ppl_error = var > 0 && count > 1 ? std::sqrt(var / static_cast<double>(count - 1)) * report.ppl : 0.0;

  report.imatrix = collector.take();
  report.imatrix.chunk_size = n_ctx;
  report.imatrix.n_chunks = static_cast<int32_t>(n_chunks);
  report.imatrix.dataset = options.dataset;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace fragua::model
