// SPDX-License-Identifier: Apache-2.0
// `fragua serve MODEL`: the OpenAI-compatible HTTP server (serve/server.h, docs/serve.md).
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <thread>

#include <unistd.h>

#include "cli/command.h"
#include "cli/lora_flag.h"
#include "fragua/base/log.h"
#include "fragua/serve/server.h"
#include "fragua/tokenize/tokenizer.h"

namespace fragua::cli {
namespace FRAGUA_CMD_NS {

struct Opts {
  std::string model, config, tokenizer, chat_template, chat_template_file, model_name;
  std::string host = "127.0.0.1";
  int port = 8080;
  int32_t parallel = 4;
  int64_t n_ctx = 0;
  int threads = 0;
  size_t max_queue = 64;
  double timeout_s = 600;
  size_t max_body_bytes = 8u << 20;
  std::vector<std::string> api_keys;
  std::vector<std::string> lora;  // --lora FILE[:scale]
  bool embeddings = false;
  std::string redact = "none", redact_kinds = "all", audit_log;
  uint64_t audit_max_bytes = 100ull << 20;
  int audit_keep = 5;
  double rate_limit_rpm = 0, rate_limit_tpm = 0;
  std::vector<std::string> cors_origins;
  bool no_web = false;
};

// serve.yaml first, then each flag given on the command line over it.
serve::ServerOptions options(const Opts& o, const CLI::App& cmd) {
  serve::ServerOptions s;
  s.scheduler.n_slots = o.parallel;
  s.scheduler.max_queue = o.max_queue;
  if (!o.config.empty()) check(serve::read_server_config(o.config, s));
  auto given = [&](const char* flag) { return cmd.count(flag) > 0; };
  if (given("--host")) s.host = o.host;
  if (given("--port")) s.port = o.port;
  if (given("--parallel")) s.scheduler.n_slots = o.parallel;
  if (given("--ctx-size") || given("--ctx")) s.scheduler.n_ctx_per_seq = o.n_ctx;
  if (given("--threads")) s.scheduler.n_threads = o.threads;
  if (given("--max-queue")) s.scheduler.max_queue = o.max_queue;
  if (given("--timeout")) s.request_timeout_s = o.timeout_s;
  if (given("--max-body-bytes")) s.max_body_bytes = o.max_body_bytes;
  if (given("--api-key")) s.api_keys = o.api_keys;
  if (given("--embeddings")) s.scheduler.embeddings = true;
  if (given("--no-web")) s.web = false;
  if (given("--model-name")) s.model_name = o.model_name;
  if (given("--redact")) s.redact = check(serve::parse_redact_mode(o.redact));
  if (given("--redact-kinds")) s.redact_kinds = check(serve::parse_pii_kinds(o.redact_kinds));
  if (given("--audit-log")) s.audit_log = o.audit_log;
  if (given("--audit-max-bytes")) s.audit_max_bytes = o.audit_max_bytes;
  if (given("--audit-keep")) s.audit_keep = o.audit_keep;
  if (given("--rate-limit-rpm")) s.rate_limit_rpm = o.rate_limit_rpm;
  if (given("--rate-limit-tpm")) s.rate_limit_tpm = o.rate_limit_tpm;
  if (given("--cors-origin")) s.cors_origins = o.cors_origins;
  if (given("--template")) s.chat_template = o.chat_template;
  if (given("--chat-template-file")) s.chat_template = check(tokenize::read_chat_template_file(o.chat_template_file));
  return s;
}

// SIGINT and SIGTERM write their number into a pipe (async-signal-safe) that one thread reads:
// stopping the server is not work for a signal handler. A handler, unlike a blocked mask, also
// works for threads that exist before the server's (the sanitizers', a runtime's).
int g_signal_pipe[2] = {-1, -1};

extern "C" void on_stop_signal(int sig) {
  const char c = static_cast<char>(sig);
  [[maybe_unused]] ssize_t n = write(g_signal_pipe[1], &c, 1);
}

void run(const Opts& o, const CLI::App& cmd) {
  if (o.model.empty()) throw Failure{invalid_argument_error("expected a model: fragua serve MODEL or -m MODEL"), 2};
  if (!o.chat_template.empty() && !o.chat_template_file.empty())
    throw Failure{invalid_argument_error("give --template or --chat-template-file, not both")};
  serve::ServerOptions so = options(o, cmd);
  if (pipe(g_signal_pipe) != 0) throw Failure{io_error("cannot create a pipe for signals")};
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a client gone mid-write is an error return, not the end

  auto server = check(serve::Server::create(so));
  check(server->start());
  std::thread waiter([&] {
    char c = 0;
    while (read(g_signal_pipe[0], &c, 1) < 0 && errno == EINTR) {}
    if (c != 0) log_info("fragua serve: signal {}: stopping (running requests are cancelled)", static_cast<int>(c));
    server->stop(serve::Scheduler::ShutdownMode::cancel);
  });
  std::fprintf(stderr, "fragua serve: listening on http://%s:%d (loading %s)\n", so.host.c_str(), server->port(),
               o.model.c_str());

  model::OpenOptions open;
  open.tokenizer_path = o.tokenizer;
  open.lora = lora_specs(o.lora);
  // The scheduler has its own batched context; the loaded model's single context stays minimal.
  open.context.n_ctx = 16;
  open.context.n_threads = 1;
  auto loaded = model::open_model(o.model, open);
  Status st = loaded.ok() ? server->set_model(std::make_unique<model::LoadedModel>(std::move(*loaded)))
                          : Status(std::move(loaded).error());
  if (st.ok()) {
    std::fprintf(stderr, "fragua serve: ready\n");
  } else {
    const char wake = 0;  // no signal: the model could not be served
    [[maybe_unused]] ssize_t n = write(g_signal_pipe[1], &wake, 1);
  }
  waiter.join();
  server->wait();
  check(st);
}

void setup(CLI::App& root) {
  auto* cmd = root.add_subcommand("serve", "Serve a model over an OpenAI-compatible HTTP API (docs/serve.md)");
  auto o = std::make_shared<Opts>();
  cmd->add_option("model", o->model, "GGUF model file, or org/name[:FILE] from the Hugging Face hub (or -m)");
  cmd->add_option("-m,--model", o->model, "The model, as llama-server spells it");
  add_lora_flag(*cmd, o->lora);
  cmd->add_option("--host", o->host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", o->port, "Port (0: a free one)")->capture_default_str()->check(CLI::Range(0, 65535));
  cmd->add_option("--parallel", o->parallel, "Requests decoded together (slots)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  cmd->add_option("-c,--ctx-size", o->n_ctx, "Context per slot (default: min(training context, 4096))");
  cmd->add_option("--ctx", o->n_ctx, "")->group("");  // the old spelling, kept for scripts
  add_threads_flag(*cmd, o->threads);
  cmd->add_option("--api-key", o->api_keys, "Accepted Bearer key (repeatable; none: open)");
  cmd->add_flag("--embeddings", o->embeddings,
                "Serve /v1/embeddings (each slot keeps n_embd floats per position for it)");
  cmd->add_flag("--no-web", o->no_web, "Do not serve the chat page at GET / (the API only)");
  cmd->add_option("--redact", o->redact, "Replace personal data with placeholders in: none, requests, responses, both")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "requests", "responses", "both"}));
  cmd->add_option("--redact-kinds", o->redact_kinds,
                  "Kinds to redact, comma-separated: email,phone,dni,nie,nif,iban,card,ip (or all)")
      ->capture_default_str();
  cmd->add_option("--audit-log", o->audit_log, "Append an audit line (JSON) per request to this file (default: off)");
  cmd->add_option("--audit-max-bytes", o->audit_max_bytes, "Rotate the audit log past this size")
      ->capture_default_str();
  cmd->add_option("--audit-keep", o->audit_keep, "Rotated audit logs kept (FILE.1 ... FILE.N)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  cmd->add_option("--rate-limit-rpm", o->rate_limit_rpm,
                  "Requests per minute per API key (per client address without keys); 0: none")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--rate-limit-tpm", o->rate_limit_tpm, "Tokens (prompt + generated) per minute per key; 0: none")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--cors-origin", o->cors_origins,
                  "Origin whose web pages may call the API (repeatable; * for any; none: same origin only)");
  cmd->add_option("--config", o->config, "serve.yaml with these options; flags override it");
  cmd->add_option("--tokenizer", o->tokenizer, "Tokenizer (GGUF or tokenizer.json) when the model has none");
  cmd->add_option("--template", o->chat_template, "Chat template name or Jinja text (default: the model's)");
  cmd->add_option("--chat-template-file", o->chat_template_file,
                  "Chat template from a file: Jinja text or a tokenizer_config.json");
  cmd->add_option("--model-name", o->model_name, "Model id reported by /v1/models (default: the file name)");
  cmd->add_option("--max-queue", o->max_queue, "Requests waiting beyond the slots; more get 503")
      ->capture_default_str();
  cmd->add_option("--timeout", o->timeout_s, "Seconds a generation request may take, queued or running (0: none)")
      ->capture_default_str();
  cmd->add_option("--max-body-bytes", o->max_body_bytes, "Largest request body; larger ones get 413")
      ->capture_default_str();
  cmd->callback([o, cmd] { run(*o, *cmd); });
}

Registrar reg(setup);

}  // namespace
}  // namespace fragua::cli
