// SPDX-License-Identifier: Apache-2.0
// Greedy decoding from token ids with llama.cpp's C API, for bench/engine.py's agreement check
// and bench/lora_llama_cpp.sh (with a LoRA adapter, as `--lora FILE[:scale]` applies one:
// llama_adapter_lora_init + llama_set_adapters_lora).
// Usage: llama-simple-ids MODEL.gguf N_GEN ID,ID,... [LORA.gguf[:SCALE]]
//   -> prints the generated ids, comma-separated.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ggml-backend.h"
#include "ggml.h"
#include "llama.h"

// TRACE_DIR: each named f32 result of the first forward pass as NAME.bin (the last write of a
// name wins, so Qcur/Kcur are after RoPE), for bench/engine.py --trace.
static bool trace(ggml_tensor* t, bool ask, void* dir) {
  const std::string name = t->name;
  const bool want = t->type == GGML_TYPE_F32 && name.find('-') != std::string::npos;
  if (ask || !want) return ask ? want : true;
  std::vector<float> buf(static_cast<size_t>(ggml_nelements(t)));
  ggml_backend_tensor_get(t, buf.data(), 0, buf.size() * sizeof(float));
  if (FILE* f = std::fopen((std::string(static_cast<const char*>(dir)) + "/" + name + ".bin").c_str(), "wb")) {
    std::fwrite(buf.data(), sizeof(float), buf.size(), f);
    std::fclose(f);
  }
  return true;
}

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: %s MODEL N_GEN IDS [LORA[:SCALE]]\n", argv[0]);
    return 2;
  }
  std::vector<llama_token> prompt;
  for (char* p = std::strtok(argv[3], ","); p; p = std::strtok(nullptr, ",")) prompt.push_back(std::atoi(p));
  const int n_gen = std::atoi(argv[2]);
  llama_backend_init();
  llama_model_params mp = llama_model_default_params();
  llama_model* model = llama_model_load_from_file(argv[1], mp);
  if (!model) return 1;
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = static_cast<uint32_t>(prompt.size() + n_gen + 8);
  cp.n_threads = cp.n_threads_batch = 1;
  if (const char* dir = std::getenv("TRACE_DIR")) {
    cp.cb_eval = trace;
    cp.cb_eval_user_data = const_cast<char*>(dir);
  }
  llama_context* ctx = llama_init_from_model(model, cp);
  if (!ctx) return 1;
  if (argc == 5) {
    std::string path = argv[4];
    float scale = 1.0f;
    const size_t colon = path.rfind(':');
    if (colon != std::string::npos && colon + 1 < path.size() && path.find('/', colon) == std::string::npos) {
      scale = std::strtof(path.c_str() + colon + 1, nullptr);
      path.resize(colon);
    }
    llama_adapter_lora* adapter = llama_adapter_lora_init(model, path.c_str());
    if (!adapter) {
      std::fprintf(stderr, "%s: llama.cpp did not load the adapter\n", path.c_str());
      return 1;
    }
    if (llama_set_adapters_lora(ctx, &adapter, 1, &scale) != 0) return 1;
  }
  const llama_vocab* vocab = llama_model_get_vocab(model);
  const int n_vocab = llama_vocab_n_tokens(vocab);
  llama_batch batch = llama_batch_get_one(prompt.data(), static_cast<int32_t>(prompt.size()));
  std::string out;
  llama_token tok;
  for (int i = 0; i < n_gen; ++i) {
    if (llama_decode(ctx, batch) != 0) return 1;
    const float* logits = llama_get_logits_ith(ctx, -1);
    if (i == 0 && std::getenv("DUMP_LOGITS")) {  // first-step logits, for bench/engine.py --explain
      FILE* f = std::fopen(std::getenv("DUMP_LOGITS"), "wb");
      std::fwrite(logits, sizeof(float), static_cast<size_t>(n_vocab), f);
      std::fclose(f);
    }
    tok = 0;
    for (int v = 1; v < n_vocab; ++v)
      if (logits[v] > logits[tok]) tok = v;
    out += (i ? "," : "") + std::to_string(tok);
    batch = llama_batch_get_one(&tok, 1);
  }
  std::printf("%s\n", out.c_str());
  llama_free(ctx);
  llama_model_free(model);
  return 0;
}
