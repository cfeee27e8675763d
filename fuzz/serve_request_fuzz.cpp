// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: request bodies of `fragua serve` (serve/openai.h). The first byte picks the
// endpoint (0 chat, 1 completions, 2 tokenize, 3 detokenize, 4 embeddings); the rest is the
// body. Accepted requests must hold only in-range values; refused ones must give an error body
// that is valid JSON with a 4xx status. The body is also streamed through TextStream in uneven pieces with a
// stop string taken from its start: what comes out must be valid UTF-8 and must not contain the
// stop string.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fragua/base/utf8.h"
#include "fragua/serve/openai.h"
#include "fragua/serve/sse.h"
#include "fragua/serve/text_stream.h"

using namespace fragua::serve;

namespace {

// Completions take max_tokens 0 (with echo: the prompt scored, nothing generated).
void check_sampling(const SamplingRequest& s, bool chat) {
  if (s.n < 1 || s.n > kMaxChoices || s.stop.size() > static_cast<size_t>(kMaxStops)) std::abort();
  if (!(s.temperature >= 0 && s.temperature <= 2) || !(s.top_p >= 0 && s.top_p <= 1)) std::abort();
  if (!(s.presence_penalty >= -2 && s.presence_penalty <= 2)) std::abort();
  if (!(s.frequency_penalty >= -2 && s.frequency_penalty <= 2)) std::abort();
  if (s.top_logprobs < 0 || s.top_logprobs > kMaxTopLogprobs) std::abort();
  if (s.max_tokens && *s.max_tokens < (chat ? 1 : 0)) std::abort();
  for (const auto& x : s.stop)
    if (x.empty()) std::abort();
}

template <typename T>
void check_error(const fragua::Result<T>& r, const RequestFault& fault) {
  if (r.ok()) return;
  const ApiError e = api_error(r.error(), fault);
  if (e.status < 400 || e.status >= 500) std::abort();
  auto body = nlohmann::json::parse(error_body(e), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body["error"]["message"].is_string()) std::abort();
}

void check_stream(std::string_view text) {
  const size_t stop_len = text.empty() ? 0 : 1 + static_cast<unsigned char>(text[0]) % 4;
  const std::string stop(text.substr(0, std::min(stop_len, text.size())));
  const std::string_view rest = text.substr(stop.size());
  TextStream ts(stop.empty() ? std::vector<std::string>{} : std::vector<std::string>{stop});
  std::string out;
  size_t pos = 0, step = 1;
  while (pos < rest.size() && !ts.stopped()) {
    out += ts.push(rest.substr(pos, step));
    pos += step;
    step = step % 5 + 1;
  }
  out += ts.finish();
  if (!fragua::utf8::is_valid(out)) std::abort();
  // (A stop string holding U+FFFD may match the replacement of an invalid byte: not a leak.)
  if (!stop.empty() && fragua::utf8::is_valid(stop) && stop.find("\xEF\xBF\xBD") == std::string::npos &&
      out.find(stop) != std::string::npos)
    std::abort();
  const std::string ev = sse_event(out);
  if (ev.size() < 8 || ev.compare(0, 6, "data: ") != 0 || ev.compare(ev.size() - 2, 2, "\n\n") != 0) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  RequestFault fault;
  switch (data[0] % 5) {
    case 0: {
      auto r = parse_chat_request(body, &fault);
      check_error(r, fault);
      if (r.ok()) {
        check_sampling(r->sampling, /*chat=*/true);
        if (!r->messages.is_array() || r->messages.empty()) std::abort();
        for (const auto& m : r->messages)
          if (!m["content"].is_string()) std::abort();
      }
      break;
    }
    case 1: {
      auto r = parse_completion_request(body, &fault);
      check_error(r, fault);
      if (r.ok()) {
        check_sampling(r->sampling, /*chat=*/false);
        if (r->prompts.empty() || r->prompts.size() * static_cast<size_t>(r->sampling.n) > kMaxChoices) std::abort();
        if (r->sampling.top_logprobs > kMaxCompletionLogprobs) std::abort();
      }
      break;
    }
    case 2:
      check_error(parse_tokenize_request(body, &fault), fault);
      break;
    case 4: {
      auto r = parse_embeddings_request(body, &fault);
      check_error(r, fault);
      if (r.ok() && (r->inputs.empty() || r->inputs.size() > static_cast<size_t>(kMaxEmbeddingInputs))) std::abort();
      break;
    }
    default: {
      auto r = parse_detokenize_request(body, &fault);
      check_error(r, fault);
      if (r.ok())
        for (int32_t id : r->tokens)
          if (id < 0) std::abort();
    }
  }
  check_stream(body);
  return 0;
}
