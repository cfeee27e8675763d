// SPDX-License-Identifier: Apache-2.0
// `fragua imatrix MODEL.gguf [-f CALIB.txt ...] -o imatrix.dat`: flags only; the work is
// model::compute_imatrix.
#include <fmt/format.h>

#include "cli/command.h"
#include "fragua/base/utf8.h"
#include "fragua/model/imatrix.h"

namespace fragua::cli {
namespace FRAGUA_CMD_NS {

struct Opts {
  std::string model, out = "imatrix.dat";
  std::vector<std::string> files;
  int64_t n_ctx = 512, chunks = 0;
  int threads = 0;
  bool process_output = false, quiet = false;
};

void run(const Opts& o) {
  const model::CalibrationText calib = check(model::read_calibration_text(o.files));
  model::ImatrixOptions opts;
  opts.n_ctx = o.n_ctx;
  opts.max_chunks = o.chunks;
  opts.n_threads = o.threads;
  opts.include_output = o.process_output;
  opts.progress = !o.quiet;
  opts.dataset = calib.name;
  const model::ImatrixReport r = check(model::compute_imatrix(o.model, calib.text, opts));
  // Running perplexity after each chunk, in llama.cpp's imatrix/perplexity layout.
  std::string line;
  for (size_t i = 0; i < r.chunk_ppl.size(); ++i) line += fmt::format("[{}]{:.4f},", i + 1, r.chunk_ppl[i]);
  fmt::print("{}\nFinal estimate: PPL = {:.4f} +/- {:.5f}\n", line, r.ppl, r.ppl_error);
  check(model::write_imatrix(o.out, r.imatrix));
  fmt::print("{}: {} entries from {} chunks of {} tokens ({} tokens of text) in {:.1f} s\n", terminal_safe(o.out),
             r.imatrix.entries.size(), r.imatrix.n_chunks, r.imatrix.chunk_size, r.n_tokens, r.seconds);
}

void setup(CLI::App& root) {
  auto* cmd = root.add_subcommand(
      "imatrix",
      "Importance matrix for `quantize --imatrix` (llama.cpp's imatrix.dat): mean squared activations per input "
      "column of every weight matrix, over a calibration text");
  auto o = std::make_shared<Opts>();
  cmd->add_option("model", o->model, "GGUF model (or org/name[:FILE] from the hub)")->required();
  cmd->add_option("-f,--file", o->files,
                  "Calibration text (repeatable; default: the bundled es/ca/eu/gl text, data/calibration/)");
  cmd->add_option("-o,--output", o->out, "imatrix.dat to write (atomically)")->capture_default_str();
  cmd->add_option("-c,--ctx", o->n_ctx, "Tokens per chunk (the KV cache is cleared between chunks)")
      ->capture_default_str();
  cmd->add_option("--chunks", o->chunks, "At most this many chunks (default: all of the text)");
  cmd->add_flag("--process-output", o->process_output, "Also collect output.weight (off, as in llama.cpp)");
  cmd->add_flag("-q,--quiet", o->quiet, "No progress bar");
  add_threads_flag(*cmd, o->threads);
  cmd->callback([o] { run(*o); });
}

Registrar reg(setup);

}  // namespace
}  // namespace fragua::cli
