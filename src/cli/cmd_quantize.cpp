// SPDX-License-Identifier: Apache-2.0
// `fragua quantize IN.gguf OUT.gguf TYPE`: flags only; the work is model::quantize_model.
#include <fmt/format.h>

#include "cli/command.h"
#include "fragua/base/progress.h"
#include "fragua/base/utf8.h"
#include "fragua/model/quantize.h"

namespace fragua::cli {
namespace FRAGUA_CMD_NS {

struct Opts {
  std::string in, out, type, output_type, embd_type, imatrix;
  int threads = 0;
  bool quiet = false;
};

DType parse_dtype(const std::string& flag, const std::string& name) {
  auto t = dtype_from_name(name);
  if (!t || dtype_traits(*t) == nullptr || dtype_traits(*t)->from_float_ref == nullptr || *t == DType::q8_k)
    throw Failure{
        invalid_argument_error("{} '{}': not a type Fragua quantizes to (f32, f16, bf16, q8_0, q4_0, q4_1, "
                               "q5_0, q5_1, q2_k, q3_k, q4_k, q5_k, q6_k)",
                               flag, name)};
  return *t;
}

void run(const Opts& o) {
  model::QuantizeOptions opts{.type = check(model::find_quantize_type(o.type))};
  if (!o.output_type.empty()) opts.output_type = parse_dtype("--output-type", o.output_type);
  if (!o.embd_type.empty()) opts.embd_type = parse_dtype("--embd-type", o.embd_type);
  model::ImportanceMatrix imatrix;
  if (!o.imatrix.empty()) {
    imatrix = check(model::read_imatrix(o.imatrix));
    opts.imatrix = &imatrix;
  }
  opts.n_threads = o.threads;
  opts.progress = !o.quiet;
  const auto r = check(model::quantize_model(o.in, o.out, opts));
  fmt::print("{}: {} ({} of {} tensors quantized{}), {} -> {} in {:.1f} s\n", terminal_safe(o.out), opts.type.name,
             r.n_quantized, r.n_tensors,
             opts.imatrix != nullptr ? fmt::format(", {} with the importance matrix", r.n_imatrix) : "",
             format_bytes(static_cast<double>(r.bytes_in)), format_bytes(static_cast<double>(r.bytes_out)), r.seconds);
}

void setup(CLI::App& root) {
  auto* cmd = root.add_subcommand("quantize", "Quantize a GGUF model (llama.cpp's types and k-quant mixes)");
  auto o = std::make_shared<Opts>();
  cmd->add_option("input", o->in, "GGUF model (f32/f16/bf16 weights)")->required();
  cmd->add_option("output", o->out, "GGUF file to write (atomically)")->required();
  cmd->add_option("type", o->type,
                  "F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K_S, Q3_K_M, Q3_K_L, Q4_K_S, Q4_K_M, "
                  "Q5_K_S, Q5_K_M, Q6_K")
      ->required();
  cmd->add_option("--output-type", o->output_type, "Type of output.weight (e.g. q8_0, f16)");
  cmd->add_option("--embd-type", o->embd_type, "Type of token_embd.weight");
  cmd->add_option("--imatrix", o->imatrix,
                  "Importance matrix (imatrix.dat from `fragua imatrix` or llama.cpp) for Q4_0..Q5_1 and the k-quants");
  cmd->add_flag("-q,--quiet", o->quiet, "No progress bar");
  add_threads_flag(*cmd, o->threads);
  cmd->callback([o] { run(*o); });
}

Registrar reg(setup);

}  // namespace
}  // namespace fragua::cli
