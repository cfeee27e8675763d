// SPDX-License-Identifier: Apache-2.0
// The endpoints that do not generate: /health, /v1/models, /tokenize, /detokenize.
#include <chrono>

#include <fmt/format.h>

#include "fragua/base/utf8.h"
#include "serve/server_impl.h"

namespace fragua::serve {

using nlohmann::ordered_json;

void Server::Impl::handle_health(httplib::Response& res) const {
  const char* status = stopping.load() ? "shutting down" : ready.load(std::memory_order_acquire) ? "ok" : "loading";
  res.status = std::string_view(status) == "ok" ? 200 : 503;
  res.set_content(ordered_json{{"status", status}}.dump(), "application/json");
}

void Server::Impl::handle_models(httplib::Response& res) const {
  ordered_json m;
  m["id"] = model_id();
  m["object"] = "model";
  // The model file's modification time would be a guess at its creation; 0 says "unknown".
  m["created"] = 0;
  m["owned_by"] = "fragua";
  m["meta"]["n_vocab"] = model->model->config().n_vocab;
  m["meta"]["n_ctx_per_slot"] = scheduler->params().n_ctx_per_seq;
  m["meta"]["n_slots"] = scheduler->params().n_slots;
  ordered_json body;
  body["object"] = "list";
  body["data"] = ordered_json::array({m});
  res.set_content(body.dump(), "application/json");
}

void Server::Impl::handle_tokenize(const httplib::Request& req, httplib::Response& res) const {
  RequestFault fault;
  auto r = parse_tokenize_request(req.body, &fault);
  if (!r.ok()) return reply_error(res, api_error(r.error(), fault));
  auto ids = model->tokenizer->try_encode(r->content, r->add_special, /*parse_special=*/true);
  if (!ids.ok()) return reply_error(res, api_error(ids.error(), {"content", "invalid_value"}));
  ordered_json tokens = ordered_json::array();
  for (int32_t id : *ids) {
    if (!r->with_pieces) {
      tokens.push_back(id);
      continue;
    }
    // A piece that is part of a character travels as its bytes (llama.cpp's server does the same).
    const std::string piece = model->tokenizer->token_piece(id);
    ordered_json p;
    p["id"] = id;
    if (utf8::is_valid(piece)) {
      p["piece"] = piece;
    } else {
      p["piece"] = ordered_json::array();
      for (unsigned char c : piece) p["piece"].push_back(static_cast<int>(c));
    }
    tokens.push_back(std::move(p));
  }
  res.set_content(ordered_json{{"tokens", std::move(tokens)}}.dump(), "application/json");
}

void Server::Impl::handle_detokenize(const httplib::Request& req, httplib::Response& res) const {
  RequestFault fault;
  auto r = parse_detokenize_request(req.body, &fault);
  if (!r.ok()) return reply_error(res, api_error(r.error(), fault));
  const int32_t n_vocab = model->tokenizer->n_vocab();
  for (size_t i = 0; i < r->tokens.size(); ++i)
    if (r->tokens[i] >= n_vocab)
      return reply_error(
          res, {400, fmt::format("'tokens[{}]' is {}, outside the vocabulary of {} tokens", i, r->tokens[i], n_vocab),
                "invalid_request_error", "invalid_value", fmt::format("tokens[{}]", i)});
  const std::string text = utf8::sanitize(model->tokenizer->decode(r->tokens));
  res.set_content(ordered_json{{"content", text}}.dump(), "application/json");
}

}  // namespace fragua::serve
