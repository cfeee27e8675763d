// SPDX-License-Identifier: Apache-2.0
// POST /v1/embeddings: each input read in a scheduler slot, answered with the slot's mean-pooled,
// L2-normalised final hidden state (Scheduler, EmbeddingRequest). Needs --embeddings: the slots
// then keep n_embd floats per position.
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "serve/server_impl.h"

namespace fragua::serve {
namespace {

using nlohmann::ordered_json;

// RFC 4648 base64 of the vector's bytes (little-endian float32, as OpenAI's encoding_format
// "base64" carries them).
std::string base64_floats(const std::vector<float>& v) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string bytes(v.size() * sizeof(float), '\0');
  if (!v.empty()) std::memcpy(bytes.data(), v.data(), bytes.size());
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t w = 0;
    for (size_t k = 0; k < 3; ++k) w = (w << 8) | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
    for (size_t k = 0; k < 4; ++k) out += k <= n ? kAlphabet[(w >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

// The answers of one request's inputs, filled on the scheduler's worker.
struct Pending {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::optional<Result<std::vector<float>>>> out;
  size_t left = 0;
};

}  // namespace

void Server::Impl::handle_embeddings(const httplib::Request& req, httplib::Response& res) {
  RequestFault fault;
  auto r = parse_embeddings_request(req.body, &fault);
  if (!r.ok()) return reply_error(res, api_error(r.error(), fault));
  if (!check_model(r->model, res)) return;
  if (!scheduler->params().embeddings)
    return reply_error(res, {400, "embeddings are off on this server: start it with --embeddings",
                             "invalid_request_error", "not_supported", ""});
  const int64_t n_ctx = scheduler->params().n_ctx_per_seq;
  const int64_t n_vocab = model->model->config().n_vocab;
  std::vector<std::vector<int32_t>> inputs;
  int64_t n_tokens = 0;
  for (size_t i = 0; i < r->inputs.size(); ++i) {
    const std::string param = r->inputs.size() == 1 ? "input" : fmt::format("input[{}]", i);
    const CompletionPrompt& in = r->inputs[i];
    std::vector<int32_t> ids = in.ids;
    if (!in.is_ids) {
      // Text is data here: control tokens written in it are not parsed.
      auto enc = model->tokenizer->try_encode(in.text, /*add_special=*/true, /*parse_special=*/false);
      if (!enc.ok()) return reply_error(res, api_error(enc.error(), {param, "invalid_value"}));
      ids = std::move(*enc);
    }
    for (int32_t id : ids)
      if (id >= n_vocab)
        return reply_error(res,
                           {400, fmt::format("'{}' holds token {}, outside the vocabulary of {}", param, id, n_vocab),
                            "invalid_request_error", "invalid_value", param});
    if (ids.empty())
      return reply_error(
          res, {400, fmt::format("'{}' encodes to no tokens", param), "invalid_request_error", "invalid_value", param});
    if (static_cast<int64_t>(ids.size()) > n_ctx)
      return reply_error(
          res, {400, fmt::format("'{}' is {} tokens, and a slot's context holds {} (--ctx)", param, ids.size(), n_ctx),
                "invalid_request_error", "context_length_exceeded", param});
    n_tokens += static_cast<int64_t>(ids.size());
    inputs.push_back(std::move(ids));
  }

  auto pending = std::make_shared<Pending>();
  pending->out.resize(inputs.size());
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (opt.request_timeout_s > 0)
    deadline = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                      std::chrono::duration<double>(opt.request_timeout_s));
  for (size_t i = 0; i < inputs.size(); ++i) {
    {
      std::lock_guard lock(pending->mu);
      ++pending->left;
    }
    EmbeddingRequest e{std::move(inputs[i]), cancel, deadline};
    Status st = scheduler->submit(std::move(e), [pending, i](Result<std::vector<float>> v) {
      {
        std::lock_guard lock(pending->mu);
        pending->out[i] = std::move(v);
        --pending->left;
      }
      pending->cv.notify_all();
    });
    if (!st.ok()) {
      cancel->store(true);  // the inputs already queued end at once; their answers are dropped
      ApiError e = api_error(st.error(), {"input", ""});
      if (e.status == 503) {
        res.set_header("Retry-After", "1");
        e.code = "queue_full";
        e.param.clear();
      }
      return reply_error(res, e);
    }
  }
  std::unique_lock lock(pending->mu);
  pending->cv.wait(lock, [&] { return pending->left == 0; });

  ordered_json data = ordered_json::array();
  for (size_t i = 0; i < pending->out.size(); ++i) {
    const auto& v = *pending->out[i];
    if (!v.ok()) {
      const bool timed_out = v.error().message().find("timed out") != std::string::npos;
      return reply_error(res, timed_out ? ApiError{504, v.error().message(), "server_error", "timeout", ""}
                                        : ApiError{503, v.error().message(), "server_error", "shutting_down", ""});
    }
    ordered_json item;
    item["object"] = "embedding";
    item["index"] = i;
    if (r->base64)
      item["embedding"] = base64_floats(*v);
    else
      item["embedding"] = *v;
    data.push_back(std::move(item));
  }
  ordered_json body;
  body["object"] = "list";
  body["data"] = std::move(data);
  body["model"] = model_id();
  body["usage"]["prompt_tokens"] = n_tokens;
  body["usage"]["total_tokens"] = n_tokens;
  res.set_content(body.dump(), "application/json");
}

}  // namespace fragua::serve
