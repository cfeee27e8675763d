// SPDX-License-Identifier: Apache-2.0
// `fragua imatrix`: llama.cpp's importance matrix (tools/imatrix/imatrix.cpp). The model runs over
// a calibration text in chunks of n_ctx tokens; for every weight matrix that a matmul reads
// (attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down of each layer, and
// output.weight on request) it sums, per input column j, x_j^2 over every token row that matmul
// read. `fragua quantize --imatrix` weighs each column's rounding error by the mean of those sums
// (read_imatrix in quantize.h; the weighted quantizers in tensor/quantize.h).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/base/file.h"
#include "fragua/model/model.h"

namespace fragua::model {

struct ImatrixEntry {
  std::vector<float> sums;  // per input column, the sum over token rows of x_j^2 (f32, as llama.cpp)
  int64_t count = 0;        // token rows summed
};

struct Imatrix {
  std::map<std::string, ImatrixEntry> entries;  // by GGUF tensor name
  int64_t chunk_size = 0;                       // tokens per chunk (n_ctx)
  int32_t n_chunks = 0;                         // chunks run
  std::string dataset;                          // the calibration text's name, stored in the file
};

// llama.cpp's legacy imatrix.dat (save_imatrix_legacy), the format read_imatrix reads: i32
// n_entries; per entry in name order i32 name length, name, i32 ncall = ceil(count / chunk_size),
// i32 n_values, f32 values sums / count * ncall; then i32 n_chunks, i32 length and the dataset name.
std::string serialize_imatrix(const Imatrix& m);
// serialize_imatrix written atomically: on any error nothing is left at `path`.
Status write_imatrix(const std::string& path, const Imatrix& m, Env& env = Env::posix());

// Collects an Imatrix from the steps the forward pass reports (ContextParams::eval_callback): a
// matmul's input is the step before it in llama.cpp's graph names: attn_norm (read by attn_q,
// attn_k, attn_v), kqv_out (attn_output), ffn_norm (ffn_gate, ffn_up), ffn_swiglu (ffn_down),
// and for output.weight the output norm of the last layer's l_out.
class ImatrixCollector {
 public:
  // include_output: also output.weight (llama.cpp's --process-output; off by default there).
  ImatrixCollector(const Model& model, bool include_output);

  // The EvalCallback signature; steps that feed no matmul are ignored.
  void observe(const char* step, int layer, const float* x, int64_t n_tokens, int64_t n);
  // invalid_argument naming the tensor at the first non-finite activation (llama.cpp stops there).
  const Status& status() const { return status_; }
  // The sums so far, by tensor name (chunk_size, n_chunks and dataset left for the caller).
  Imatrix take();

 private:
  struct Input {                     // one matmul input, shared by the tensors that read it
    std::vector<std::string> names;  // GGUF names of those tensors
    ImatrixEntry acc;
  };
  void accumulate(Input& in, const float* x, int64_t n_tokens, int64_t n);
  Input* input(const char* step, int layer);

  const Model& model_;
  bool include_output_;
  std::map<std::pair<std::string, int>, Input> inputs_;
  std::vector<float> norm_;  // scratch: the output norm of the last layer's rows
  Status status_;
};

// Per chunk: its index (1-based), the number of chunks, and the perplexity of the text so far,
// over the second half of each chunk as llama.cpp's imatrix and perplexity tools count it.
struct ImatrixChunk {
  int64_t chunk = 0, n_chunks = 0;
  double ppl = 0, chunk_ppl = 0;
};

struct ImatrixOptions {
  int64_t n_ctx = 512;          // tokens per chunk (--ctx-size); the KV cache is cleared between chunks
  int64_t max_chunks = 0;       // 0: every whole chunk of the text
  int n_threads = 0;            // 0: runtime default
  bool include_output = false;  // output.weight too
  bool progress = true;         // a bar with tokens/s, ETA and the running perplexity
  std::string dataset;          // stored in the file
  std::function<void(const ImatrixChunk&)> on_chunk;  // optional
};

struct ImatrixReport {
  Imatrix imatrix;
  int64_t n_tokens = 0;           // of the whole text
  double ppl = 0;                 // over every chunk (second halves)
  double ppl_error = 0;           // llama.cpp's +/- estimate
  std::vector<double> chunk_ppl;  // running perplexity after each chunk
  double seconds = 0;
};

// The calibration text: the files at `paths` joined by blank lines, or with no path the bundled
// text in the four languages (data/calibration/{es,ca,eu,gl}.txt, found by find_data_file). `name`
// lists the files, for Imatrix::dataset. Errors: a file that cannot be read, bundled data not found.
struct CalibrationText {
  std::string text, name;
};
Result<CalibrationText> read_calibration_text(const std::vector<std::string>& paths, Env& env = Env::posix());
inline constexpr const char* kCalibrationLanguages[] = {"es", "ca", "eu", "gl"};

// Tokenizes `text` with the model's tokenizer (BOS as the model asks), cuts whole chunks of n_ctx
// tokens (a chunk's first token becomes BOS when the model adds one, as llama.cpp does), runs each
// with every token's logits and collects the importance matrix. Errors: a model without a
// tokenizer, n_ctx below 16 (one longer than the trained context is only warned about), a text of
// fewer than 2 n_ctx tokens (llama.cpp's minimum), a non-finite activation.
Result<ImatrixReport> compute_imatrix(const std::string& model_path, std::string_view text,
                                      const ImatrixOptions& options);

}  // namespace fragua::model
