// The server's state, shared by its lifecycle (server.cpp), the plain endpoints (endpoints.cpp)
// and the generation endpoints (generation.cpp).
#pragma once

#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "fragua/serve/openai.h"
#include "fragua/serve/server.h"
#include "serve/prometheus.h"

namespace fragua::serve {

struct Server::Impl {
  ServerOptions opt;
  httplib::Server http;
  int port = 0;
  std::thread thread;
  // Set once by set_model() before `ready`; read by handlers only after they see `ready`.
  std::unique_ptr<model::LoadedModel> model;
  std::unique_ptr<Scheduler> scheduler;
  std::string chat_template;  // resolved: the option, else the tokenizer's ("" : none)
  std::mutex model_mu;        // set_model() against stop()
  std::atomic<bool> ready{false};
  std::atomic<bool> stopping{false};
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopped = false;
  ServerMetrics metrics;
  std::atomic<uint64_t> next_id{0};

  void routes();
  // Answers an error in OpenAI's body.
  static void reply_error(httplib::Response& res, const ApiError& e);
  // 503 while the model loads or the server stops; true when the request may proceed.
  bool check_ready(httplib::Response& res) const;
  // A request naming another model than the served one: 404. True when it may proceed.
  bool check_model(const std::string& name, httplib::Response& res) const;
  std::string model_id() const;

  void handle_health(httplib::Response& res) const;
  void handle_models(httplib::Response& res) const;
  void handle_tokenize(const httplib::Request& req, httplib::Response& res) const;
  void handle_detokenize(const httplib::Request& req, httplib::Response& res) const;
  void handle_chat(const httplib::Request& req, httplib::Response& res);
  void handle_completion(const httplib::Request& req, httplib::Response& res);
  void handle_embeddings(const httplib::Request& req, httplib::Response& res);
};

}  // namespace fragua::serve
