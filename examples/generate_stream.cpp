// SPDX-License-Identifier: Apache-2.0
// Load a GGUF model, tokenize a prompt and stream a continuation to stdout: the library calls
// behind `fragua generate`, in a program of one's own.
//   fragua_example MODEL.gguf "PROMPT" [MAX_TOKENS]
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fragua/model/generate.h"
#include "fragua/model/loaded_model.h"
#include "fragua/tokenize/tokenizer.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL.gguf PROMPT [MAX_TOKENS]\n", argv[0]);
    return 2;
  }
  auto loaded = fragua::model::open_model(argv[1]);
  if (!loaded.ok()) {
    std::fprintf(stderr, "error: %s\n", loaded.error().to_string().c_str());
    return 1;
  }
  fragua::model::LoadedModel& m = *loaded;
  if (!m.tokenizer) {
    std::fprintf(stderr, "error: %s has no tokenizer\n", argv[1]);
    return 1;
  }
  const fragua::tokenize::Tokenizer& tok = *m.tokenizer;

  // BOS added, control tokens such as <|im_start|> parsed: what `fragua generate -p` does.
  auto prompt = tok.try_encode(argv[2], /*add_special=*/true, /*parse_special=*/true);
  if (!prompt.ok()) {
    std::fprintf(stderr, "error: %s\n", prompt.error().to_string().c_str());
    return 1;
  }
  std::fprintf(stderr, "prompt: %zu tokens\n", prompt->size());

  fragua::model::GenerateParams params;
  params.max_tokens = argc > 3 ? std::atoi(argv[3]) : 32;
  params.sampler.temperature = 0;  // greedy: the same text on every run
  params.eog_ids = m.eog_ids;
  auto piece = [&tok](int32_t id) { return tok.token_piece(id); };
  auto on_text = [](std::string_view text) {  // called as soon as each piece of text is final
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return true;  // false stops the generation
  };
  auto result = fragua::model::generate(*m.context, *prompt, params, piece, on_text);
  if (!result.ok()) {
    std::fprintf(stderr, "\nerror: %s\n", result.error().to_string().c_str());
    return 1;
  }
  std::printf("\n");
  std::fprintf(stderr, "generated %zu tokens (stop: %s)\n", result->tokens.size(), result->stop_reason.c_str());
  return 0;
}
