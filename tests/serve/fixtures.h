// SPDX-License-Identifier: Apache-2.0
// A tiny random model and a character-level tokenizer for the server tests, a server on
// 127.0.0.1 around them, and small HTTP helpers.
#pragma once

#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fragua/model/loaded_model.h"
#include "fragua/model/random_model.h"
#include "fragua/serve/server.h"
#include "fragua/tokenize/tokenizer.h"
#include "byte_chatml_vocab.h"
#include "test_util.h"

namespace fragua::serve::test {

// SentencePiece-style, one piece per character, no byte tokens: every generated token is a whole
// character, so a generated text is plain UTF-8 and a stop string can be cut from it. ChatML's
// markers are control tokens; </s> and <|im_end|> end a generation.
inline tokenize::VocabSpec char_vocab() {
  std::vector<std::pair<std::string, tokenize::TokenType>> rest = {{"<|im_start|>", tokenize::TokenType::control},
                                                                  {"<|im_end|>", tokenize::TokenType::control}};
  std::vector<std::string> chars = {"\xE2\x96\x81", "\n", ".", ",", "!", "?", ":", "\xC3\xB1", "\xC3\xA9", "\xC3\xA7"};
  for (char c = 'a'; c <= 'z'; ++c) chars.emplace_back(1, c);
  for (char c = 'A'; c <= 'Z'; ++c) chars.emplace_back(1, c);
  for (char c = '0'; c <= '9'; ++c) chars.emplace_back(1, c);
  for (const auto& c : chars) rest.emplace_back(c, tokenize::TokenType::normal);
  return fragua::test::spm_test_vocab(rest);
}

struct ModelFiles {
  fragua::test::TempDir dir;
  std::string model = dir.file("tiny.gguf"), tokenizer = dir.file("tok.gguf");
  int64_t n_vocab = 0;
};

// A tiny random model (32 wide, one layer) over the vocabulary `vocab`, with its tokenizer.
inline std::unique_ptr<ModelFiles> write_model_files(const tokenize::VocabSpec& vocab, int64_t n_ctx) {
  auto f = std::make_unique<ModelFiles>();
  auto tok = tokenize::Tokenizer::from_spec(vocab);
  EXPECT_TRUE(tok.ok()) << tok.error().to_string();
  EXPECT_TRUE(tok->save_gguf(f->tokenizer).ok());
  model::RandomModelSpec spec;
  spec.n_vocab = tok->n_vocab();
  spec.n_embd = 32;
  spec.n_layer = 1;
  spec.n_head = 2;
  spec.n_head_kv = 1;
  spec.n_ff = 64;
  spec.n_ctx = n_ctx;
  spec.plain_init = true;
  f->n_vocab = spec.n_vocab;
  EXPECT_TRUE(model::write_random_model(spec, f->model).ok());
  return f;
}

inline std::unique_ptr<ModelFiles> write_model_files(int64_t n_ctx) { return write_model_files(char_vocab(), n_ctx); }

inline std::unique_ptr<model::LoadedModel> open_tiny(const ModelFiles& f) {
  model::OpenOptions o;
  o.tokenizer_path = f.tokenizer;
  o.context.n_ctx = 16;
  o.context.n_threads = 1;
  auto m = model::open_model(f.model, o);
  EXPECT_TRUE(m.ok()) << m.error().to_string();
  return std::make_unique<model::LoadedModel>(std::move(*m));
}

inline ServerOptions tiny_options() {
  ServerOptions o;
  o.port = 0;
  o.model_name = "tiny";
  o.chat_template = "chatml";
  o.scheduler.n_slots = 2;
  o.scheduler.n_ctx_per_seq = 256;
  o.scheduler.n_threads = 1;
  o.scheduler.max_queue = 16;
  return o;
}

// Sends `request` (a whole HTTP/1.1 request) on a new connection and returns the socket, or -1.
inline int send_raw(int port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  return fd;
}

inline std::string post_request(const std::string& path, const std::string& body) {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// Reads from `fd` until `needle` has arrived (or the peer closed); returns what was read.
inline std::string read_until(int fd, const std::string& needle) {
  std::string got;
  char buf[4096];
  while (got.find(needle) == std::string::npos) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

// The JSON payloads of a server-sent event stream, "[DONE]" included as a string.
inline std::vector<std::string> sse_payloads(const std::string& body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find("\n\n", pos);
    if (end == std::string::npos) break;
    std::string ev = body.substr(pos, end - pos);
    EXPECT_EQ(ev.rfind("data: ", 0), 0u) << ev;
    out.push_back(ev.substr(6));
    pos = end + 2;
  }
  EXPECT_EQ(pos, body.size()) << "bytes after the last event";
  return out;
}

// The value of an unlabelled or labelled Prometheus sample line ("name{labels} value"), or -1.
inline double metric(const std::string& text, const std::string& name_and_labels) {
  size_t at = 0;
  while ((at = text.find(name_and_labels + " ", at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') return std::stod(text.substr(at + name_and_labels.size() + 1));
    ++at;
  }
  return -1;
}

}  // namespace fragua::serve::test
