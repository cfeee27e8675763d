// SPDX-License-Identifier: Apache-2.0
// /v1/chat/completions and /v1/completions: a request becomes one scheduler request per choice;
// the scheduler's worker turns tokens into text (TextStream: stop strings and split characters
// held back) and hands it to the HTTP thread, which writes one JSON body or a stream of events.
#include <chrono>
#include <deque>
#include <random>

#include <fmt/format.h>

#include "fragua/eval/multiple_choice.h"
#include "fragua/model/model.h"
#include "fragua/serve/response.h"
#include "fragua/serve/sse.h"
#include "fragua/serve/text_stream.h"
#include "serve/connection.h"
#include "serve/constrained_output.h"
#include "serve/server_impl.h"

namespace fragua::serve {
namespace {

using nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

// What one event added to a choice. `finish` is "stop" or "length", or for a request that ended
// without an answer "cancelled", "timeout" or "error" (then `error` says why).
struct Delta {
  int32_t choice = 0;
  std::string text;
  std::vector<PositionLogprobs> logprobs;
  std::string finish;
  std::string error;
  // A tool call (constrained output, SamplingRequest::tool_call): its name once known, and the
  // next fragment of its arguments.
  std::optional<std::string> tool_name;
  std::string tool_args;
};

// One HTTP request's generations. The scheduler's worker writes `choices` (its own) and appends
// deltas; the HTTP thread drains them. `closed` is set when the client is gone: the next event
// of each choice then returns false, which frees its slot.
struct Job {
  struct ChoiceState {
    TextStream text;
    std::vector<PositionLogprobs> held_logprobs;  // of tokens whose text is still held back
    int64_t n_tokens = 0;
    std::shared_ptr<ChoiceConstraint> constraint;  // response_format or a forced tool call
    std::optional<ToolCallText> tool;             // the output is a tool call, not text
  };
  Job(const tokenize::Tokenizer& t, int32_t n, const std::vector<std::string>& stop, bool logprobs)
      : tok(&t),
        want_logprobs(logprobs),
        n_open(n),
        n_cached(static_cast<size_t>(n), 0),
        n_tokens(static_cast<size_t>(n), 0) {
    for (int32_t i = 0; i < n; ++i) choices.push_back({TextStream(stop), {}, 0});
  }

  const tokenize::Tokenizer* tok;
  bool want_logprobs;
  std::vector<ChoiceState> choices;
  std::shared_ptr<std::atomic<bool>> cancel = std::make_shared<std::atomic<bool>>(false);
  std::atomic<bool> closed{false};
  std::shared_ptr<RequestGuard> guard;  // redaction of the answer, the audit line

  std::mutex mu;
  std::condition_variable cv;
  std::deque<Delta> deltas;
  int32_t n_open;
  bool started = false;
  std::vector<int64_t> n_cached, n_tokens;

  void close() {
    closed = true;
    cancel->store(true);
  }
};

PositionLogprobs position(const Job& job, const TokenEvent& e, std::string piece) {
  PositionLogprobs p;
  p.sampled = {std::move(piece), e.logprob};
  for (const auto& t : e.top) p.top.push_back({job.tok->token_piece(t.token), t.logprob});
  return p;
}

// On the scheduler's worker thread.
EventReply on_event(Job& job, int32_t i, const TokenEvent& e) {
  auto& c = job.choices[static_cast<size_t>(i)];
  Delta d;
  d.choice = i;
  FinishReason finish = e.finish;
  auto tool_part = [&d](ToolCallText::Part p) {
    if (p.name) d.tool_name = std::move(p.name);
    d.tool_args += p.arguments;
  };
  // With `stop` the token is the end-of-generation token: no text.
  if (e.token >= 0 && e.finish != FinishReason::stop) {
    ++c.n_tokens;
    std::string piece = job.tok->token_piece(e.token);
    // A constrained document that nothing can follow ends the choice here (finish stop).
    if (c.constraint && c.constraint->accept(piece) && finish == FinishReason::none) finish = FinishReason::stop;
    if (c.tool)
      tool_part(c.tool->push(piece));
    else
      d.text = c.text.push(piece);
    if (job.want_logprobs) c.held_logprobs.push_back(position(job, e, std::move(piece)));
    if (c.text.stopped()) d.finish = "stop";
  }
  if (d.finish.empty() && finish != FinishReason::none) {
    if (finish == FinishReason::stop || finish == FinishReason::length) {
      if (c.tool)
        tool_part(c.tool->finish());
      else
        d.text += c.text.finish();
    }
    d.finish = finish_reason_name(finish);
    d.error = e.error;
    if (c.tool && finish == FinishReason::stop) d.finish = "tool_calls";
  }
  // Personal data in the answer: the text that may be sent now, the redactor's tail at the end.
  if (job.guard) {
    d.text = job.guard->text(static_cast<size_t>(i), std::move(d.text));
    if (!d.finish.empty()) d.text += job.guard->end(static_cast<size_t>(i));
  }
  // Log-probabilities travel with the text their tokens produced (with a stop string: up to the
  // token that completed it).
  if (!d.text.empty() || !d.finish.empty() || !d.tool_args.empty()) d.logprobs.swap(c.held_logprobs);
  const bool last = !d.finish.empty();
  {
    std::lock_guard lock(job.mu);
    job.started = true;
    job.n_cached[static_cast<size_t>(i)] = e.n_cached;
    job.n_tokens[static_cast<size_t>(i)] = c.n_tokens;
    if (!d.text.empty() || last || d.tool_name || !d.tool_args.empty()) job.deltas.push_back(std::move(d));
    if (last) --job.n_open;
  }
  job.cv.notify_all();
  if (job.closed.load()) return EventReply::cancel;
  // A stop string or a closed document ended the choice before the model did: counted as stop.
  return last ? EventReply::stop : EventReply::next;
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t random_u64() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

// An answer that ended without text because of the server: its HTTP error.
ApiError finish_error(const Delta& d) {
  if (d.finish == "timeout") return {504, "the request timed out (--timeout)", "server_error", "timeout", ""};
  if (d.finish == "cancelled") return {503, "the server is shutting down", "server_error", "shutting_down", ""};
  return {500, fmt::format("generation failed: {}", d.error), "server_error", "internal_error", ""};
}

bool is_answer(const std::string& finish) {
  return finish == "stop" || finish == "length" || finish == "tool_calls";
}

// Waits until `done` (checked under job.mu), looking at the client's connection every 100 ms
// while nothing has been written to it: false when the client has gone, with the job closed so
// that its requests leave the scheduler's queue or their slots at once.
template <class Done>
bool wait_watching(Job& job, const httplib::Request& req, Done done) {
  std::unique_lock lock(job.mu);
  while (!job.cv.wait_for(lock, std::chrono::milliseconds(100), done)) {
    lock.unlock();
    const bool gone = client_closed(req);
    lock.lock();
    if (gone) {
      job.close();
      return false;
    }
  }
  return true;
}

// Writes what the HTTP thread receives from a job: the body of one response, or its events.
class Writer {
 public:
  Writer(std::shared_ptr<Job> job, ResponseHeader header, bool chat, const SamplingRequest& s, Usage usage,
         size_t n_prompts)
      : job_(std::move(job)),
        h_(std::move(header)),
        chat_(chat),
        stream_(s.stream),
        include_usage_(s.include_usage),
        logprobs_(s.logprobs),
        usage_(usage),
        choices_(n_prompts * static_cast<size_t>(s.n)),
        sent_role_(choices_.size(), false),
        offset_(choices_.size(), 0),
        n_prompts_(n_prompts),
        n_per_prompt_(static_cast<size_t>(s.n)) {
    const auto n_choices = static_cast<int32_t>(choices_.size());
    for (int32_t i = 0; i < n_choices; ++i) {
      choices_[static_cast<size_t>(i)].index = i;
      if (logprobs_) choices_[static_cast<size_t>(i)].logprobs.emplace();
    }
  }

  // A non-streamed response once every choice has ended: the body, or the error of a choice that
  // ended without an answer with its own status (nothing has been sent yet).
  void answer(httplib::Response& res) {
    std::deque<Delta> batch;
    {
      std::lock_guard lock(job_->mu);
      batch.swap(job_->deltas);
      take_usage();
    }
    for (Delta& d : batch) gather(d);
    if (failure_) return Server::Impl::reply_error(res, finish_error(*failure_));  // audited by the server
    audit(200);
    ordered_json body = chat_ ? chat_completion_json(h_, choices_, usage_) : completion_json(h_, choices_, usage_);
    // The guardrails' report, a documented extension field (docs/serve.md, "Personal data").
    if (const ordered_json ext = extension(); !ext.is_null()) body["fragua"] = ext;
    res.set_content(body.dump(-1, ' ', false, ordered_json::error_handler_t::replace), "application/json");
  }

  // The chunked content provider of a stream: runs until the job ends or the client leaves.
  bool provide(httplib::DataSink& sink) {
    while (true) {
      std::deque<Delta> batch;
      bool done = false;
      {
        std::unique_lock lock(job_->mu);
        job_->cv.wait_for(lock, std::chrono::milliseconds(50),
                          [&] { return !job_->deltas.empty() || job_->n_open == 0; });
        batch.swap(job_->deltas);
        done = job_->n_open == 0;
        if (done) take_usage();
      }
      // A client that left shows as a failed write, or, while nothing is written, as a socket no
      // longer writable (cpp-httplib peeks at it).
      if (batch.empty() && !done && !sink.is_writable()) return gone();
      for (Delta& d : batch)
        if (!consume(d, sink)) return gone();
      if (done) return finish(sink);
    }
  }

 private:
  bool gone() {
    job_->close();
    // 499: the client closed the connection (nginx's code); the answer so far is logged.
    audit(499, "the client closed the connection");
    return false;
  }

  ordered_json extension() const { return job_->guard ? job_->guard->extension() : ordered_json(); }

  void audit(int status, const std::string& error = "") {
    if (!job_->guard) return;
    std::vector<std::string> reasons;
    for (const auto& c : choices_) reasons.push_back(c.finish_reason);
    job_->guard->finish(status, h_.id, usage_.prompt_tokens, usage_.completion_tokens, reasons,
                        error.empty() && failure_ ? failure_->finish : error);
  }

  // Under job_->mu, once every choice has ended.
  void take_usage() {
    usage_.completion_tokens = 0;
    for (int64_t n : job_->n_tokens) usage_.completion_tokens += n;
    // Prompt tokens a slot already held, counted once per prompt as prompt_tokens is.
    usage_.cached_tokens = 0;
    for (size_t p = 0; p < n_prompts_; ++p) usage_.cached_tokens += job_->n_cached[p * n_per_prompt_];
  }

  // What every delta does first: a choice that ended without an answer is kept (the response
  // ends with its error), and a non-streamed choice gathers its text. True when the delta needs
  // nothing more.
  bool gather(Delta& d) {
    auto& c = choices_[static_cast<size_t>(d.choice)];
    if (!d.finish.empty() && !is_answer(d.finish)) {
      failure_ = d;
      return true;
    }
    if (!d.finish.empty()) c.finish_reason = d.finish;
    if ((d.tool_name || !d.tool_args.empty()) && !c.tool_call) c.tool_call = ToolCall{new_tool_call_id(), "", ""};
    if (stream_) return false;
    if (d.tool_name) c.tool_call->name = *d.tool_name;
    if (c.tool_call) c.tool_call->arguments += d.tool_args;
    c.text += d.text;
    if (c.logprobs) c.logprobs->insert(c.logprobs->end(), d.logprobs.begin(), d.logprobs.end());
    return true;
  }

  bool consume(Delta& d, httplib::DataSink& sink) {
    if (gather(d)) return true;
    ChunkDelta cd;
    cd.index = d.choice;
    const size_t i = static_cast<size_t>(d.choice);
    if (chat_ && !sent_role_[i]) {
      cd.role = true;
      sent_role_[i] = true;
    }
    if (d.tool_name || !d.tool_args.empty()) {
      const ToolCall& call = *choices_[i].tool_call;
      cd.tool_call = ChunkDelta::ToolCallDelta{d.tool_name.has_value(), call.id, d.tool_name.value_or(""), d.tool_args};
    }
    if (!d.text.empty() || cd.role || !d.logprobs.empty() || cd.tool_call) {
      if (!cd.tool_call) cd.content = d.text;
      if (logprobs_) cd.logprobs = std::move(d.logprobs);
      cd.text_offset = offset_[i];
      offset_[i] += static_cast<int64_t>(d.text.size());
      if (!write(sink, chunk(cd))) return false;
    }
    if (!d.finish.empty()) {
      ChunkDelta end;
      end.index = d.choice;
      end.finish_reason = d.finish;
      if (!chat_) end.content = "";
      if (!write(sink, chunk(end))) return false;
    }
    return true;
  }

  bool finish(httplib::DataSink& sink) {
    audit(failure_ ? finish_error(*failure_).status : 200);
    if (failure_) {
      if (!write(sink, sse_event(error_body(finish_error(*failure_))))) return false;
    } else {
      // The guardrails' report rides on the usage chunk, or on a last chunk without choices
      // shaped like it (docs/serve.md, "Personal data").
      const ordered_json ext = extension();
      if (include_usage_ || !ext.is_null()) {
        ordered_json last = usage_chunk_json(h_, chat_, usage_);
        if (!include_usage_) last.erase("usage");
        if (!ext.is_null()) last["fragua"] = ext;
        if (!write(sink, sse_json(last))) return false;
      }
      if (!write(sink, std::string(kSseDone))) return false;
    }
    sink.done();
    return true;
  }

  std::string chunk(const ChunkDelta& d) const {
    return sse_json(chat_ ? chat_chunk_json(h_, d, include_usage_) : completion_chunk_json(h_, d, include_usage_));
  }

  static bool write(httplib::DataSink& sink, const std::string& s) { return sink.write(s.data(), s.size()); }

  std::shared_ptr<Job> job_;
  ResponseHeader h_;
  bool chat_, stream_, include_usage_, logprobs_;
  Usage usage_;
  std::vector<Choice> choices_;
  std::vector<bool> sent_role_;
  std::vector<int64_t> offset_;
  std::optional<Delta> failure_;
  size_t n_prompts_, n_per_prompt_;
};

// Log-probabilities carry the tokens' own bytes, which would show what redaction hides.
bool check_guard(const RequestGuard& g, const SamplingRequest& sr, httplib::Response& res) {
  if (!g.redacts_responses() || !sr.logprobs) return true;
  Server::Impl::reply_error(res, {400,
                                  "logprobs are not available on this server: it redacts personal data from answers, "
                                  "and the tokens' log-probabilities would show it",
                                  "invalid_request_error", "not_supported", "logprobs"});
  return false;
}

}  // namespace

// Shared by both endpoints once the prompts are tokens. `param` names the request field the
// prompts came from, for errors.
static void run_generation(Server::Impl& s, const httplib::Request& req, httplib::Response& res,
                           std::vector<std::vector<int32_t>> prompts, const SamplingRequest& sr, bool chat,
                           const char* param, std::shared_ptr<RequestGuard> guard) {
  const int64_t n_ctx = s.scheduler->params().n_ctx_per_seq;
  for (size_t p = 0; p < prompts.size(); ++p) {
    if (prompts[p].empty())
      return Server::Impl::reply_error(
          res, {400, fmt::format("'{}' encodes to no tokens", param), "invalid_request_error", "invalid_value", param});
    if (static_cast<int64_t>(prompts[p].size()) >= n_ctx)
      return Server::Impl::reply_error(
          res, {400,
                fmt::format("the prompt is {} tokens, and a slot's context holds {} (--ctx): at least one token "
                            "must be left for the answer",
                            prompts[p].size(), n_ctx),
                "invalid_request_error", "context_length_exceeded", param});
  }
  const int32_t n = sr.n;
  const int32_t n_choices = n * static_cast<int32_t>(prompts.size());
  auto job = std::make_shared<Job>(*s.model->tokenizer, n_choices, sr.stop, sr.logprobs);
  guard->set_choices(static_cast<size_t>(n_choices));
  job->guard = std::move(guard);
  const uint64_t base_seed = sr.seed ? *sr.seed : random_u64();
  std::optional<Clock::time_point> deadline;
  if (s.opt.request_timeout_s > 0)
    deadline = Clock::now() +
               std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s.opt.request_timeout_s));
  Usage usage;
  for (size_t p = 0; p < prompts.size(); ++p) {
    usage.prompt_tokens += static_cast<int64_t>(prompts[p].size());
    for (int32_t j = 0; j < n; ++j) {
      const int32_t i = static_cast<int32_t>(p) * n + j;
      GenerationRequest g;
      g.prompt = prompts[p];
      g.sampler.temperature = sr.temperature;
      // OpenAI's top_p = 0 keeps only the most likely token; the sampler wants a positive value.
      g.sampler.top_p = std::max(sr.top_p, 1e-6f);
      g.sampler.top_k = 0;
      g.sampler.min_p = 0.0f;
      g.sampler.presence_penalty = sr.presence_penalty;
      g.sampler.frequency_penalty = sr.frequency_penalty;
      // Choice i of a seeded request is reproducible, and choice 0 matches n = 1.
      g.sampler.seed = i == 0 ? base_seed : splitmix64(base_seed + static_cast<uint64_t>(i));
      const int64_t room = n_ctx - static_cast<int64_t>(prompts[p].size());
      g.max_tokens = static_cast<int32_t>(std::min<int64_t>(sr.max_tokens.value_or(room), room));
      g.logprobs = sr.logprobs;
      g.n_logprobs = sr.logprobs ? sr.top_logprobs : 0;
      g.cancel = job->cancel;
      g.deadline = deadline;
      if (sr.constraint) {
        auto& c = job->choices[static_cast<size_t>(i)];
        c.constraint = std::make_shared<ChoiceConstraint>(sr.constraint, s.constraint_tokens());
        if (sr.tool_call) c.tool.emplace();
        g.logits_filter = constraint_filter(c.constraint);
      }
      auto id = s.scheduler->submit(std::move(g), [job, i](const TokenEvent& e) { return on_event(*job, i, e); });
      if (!id.ok()) {
        job->close();
        ApiError e = api_error(id.error(), {param, ""});
        if (e.status == 503) {
          res.set_header("Retry-After", "1");
          e.code = "queue_full";
          e.param.clear();
        }
        return Server::Impl::reply_error(res, e);
      }
    }
  }

  // A stream's status is decided once the first event has come (or every choice ended without
  // one), so that a request the server could not start gets an HTTP error rather than a 200 with
  // one; a non-streamed response's once every choice has ended. Until then nothing is written, so
  // a client that leaves is seen only by looking at its connection.
  const auto answered = [&] { return (sr.stream && job->started) || job->n_open == 0; };
  if (!wait_watching(*job, req, answered))
    return Server::Impl::reply_error(res, {499, "the client closed the connection", "invalid_request_error",
                                           "client_closed", ""});
  if (sr.stream) {
    std::unique_lock lock(job->mu);
    if (job->n_open == 0 || !job->deltas.empty()) {
      for (const Delta& d : job->deltas)
        if (!d.finish.empty() && !is_answer(d.finish)) {
          job->closed = true;
          job->cancel->store(true);
          return Server::Impl::reply_error(res, finish_error(d));
        }
    }
  }

  const uint64_t serial = s.next_id.fetch_add(1);
  ResponseHeader h;
  h.id = fmt::format("{}-{:016x}{:x}", chat ? "chatcmpl" : "cmpl", random_u64(), serial);
  h.created =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  h.model = s.model_id();
  auto writer = std::make_shared<Writer>(job, std::move(h), chat, sr, usage, prompts.size());
  if (!sr.stream) return writer->answer(res);
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");  // nginx: pass events through unbuffered
  res.set_chunked_content_provider(
      "text/event-stream",
      [writer](size_t, httplib::DataSink& sink) { return writer->provide(sink); },
      [job](bool success) {
        if (!success) job->close();
      });
}

void Server::Impl::handle_chat(const httplib::Request& req, httplib::Response& res) {
  RequestFault fault;
  auto r = parse_chat_request(req.body, &fault);
  if (!r.ok()) return reply_error(res, api_error(r.error(), fault));
  if (!check_model(r->sampling.model, res)) return;
  auto g = guard(req);
  if (!check_guard(*g, r->sampling, res)) return;
  g->parameters(r->sampling);
  g->prompt_messages(r->messages);
  if (chat_template.empty())
    return reply_error(res, {400,
                             fmt::format("{} has no chat template: start the server with --chat-template, or use "
                                         "/v1/completions",
                                         model->path),
                             "invalid_request_error", "no_chat_template", "messages"});
  tokenize::ChatContext context;
  context.tools = r->tools;
  auto ids = tokenize::encode_chat_json(*model->tokenizer, chat_template, r->messages, /*add_generation_prompt=*/true,
                                        std::move(context));
  if (!ids.ok())
    return reply_error(res,
                       {400, fmt::format("the chat template cannot render these messages: {}", ids.error().message()),
                        "invalid_request_error", "invalid_value", "messages"});
  std::vector<std::vector<int32_t>> prompts;
  prompts.push_back(std::move(*ids));
  run_generation(*this, req, res, std::move(prompts), r->sampling, /*chat=*/true, "messages", std::move(g));
}

// echo: the prompt's own log-probabilities from one pass with every position's logits, with
// max_tokens 0 (what fragua eval's remote model sends) or 1: the greedy next token after them
// (what lm-evaluation-harness's local-completions sends, with temperature 0; its parse_logprobs
// sums token_logprobs[ctxlen:-1], so the generated token must be the last entry).
// The scheduler's slots report sampled tokens only, so the pass runs on this HTTP thread in a
// context of its own over the shared weights (a backend of its own: the scheduler's runs one call
// at a time), one such pass at a time. A BOS the tokenizer added is read, not echoed: the text's
// first token then has a log-probability.
static void answer_echo(Server::Impl& s, httplib::Response& res, const CompletionRequest& r,
                        const std::vector<std::vector<int32_t>>& prompts, const std::vector<std::string>& texts) {
  const SamplingRequest& sr = r.sampling;
  const int64_t n_gen = sr.max_tokens.value_or(-1);
  if (n_gen != 0 && (n_gen != 1 || sr.temperature != 0.0f))
    return Server::Impl::reply_error(
        res, {400, "'echo' is served with 'max_tokens': 0 (the prompt scored) or 1 with 'temperature': 0 (and the "
                   "greedy next token)",
              "invalid_request_error", "not_supported", "echo"});
  if (sr.stream || sr.n != 1)
    return Server::Impl::reply_error(res, {400, "'echo' is served without 'stream' and with 'n': 1 only",
                                           "invalid_request_error", "not_supported", "echo"});
  static std::mutex echo_mu;
  std::lock_guard lock(echo_mu);
  const tokenize::Tokenizer& tok = *s.model->tokenizer;
  const int64_t n_ctx = s.scheduler->params().n_ctx_per_seq;
  std::vector<Choice> choices;
  std::vector<std::vector<int64_t>> offsets;
  std::vector<bool> first_has_none;
  Usage usage;
  for (size_t p = 0; p < prompts.size(); ++p) {
    const auto& ids = prompts[p];
    if (ids.empty() || static_cast<int64_t>(ids.size()) > n_ctx)
      return Server::Impl::reply_error(
          res, {400, fmt::format("the prompt is {} tokens; a slot's context holds {} (--ctx)", ids.size(), n_ctx),
                "invalid_request_error", "context_length_exceeded", "prompt"});
    usage.prompt_tokens += static_cast<int64_t>(ids.size());
    auto ctx = model::Context::create(*s.model->model, {.n_ctx = static_cast<int64_t>(ids.size()),
                                                        .n_threads = s.opt.scheduler.n_threads});
    if (!ctx.ok()) return Server::Impl::reply_error(res, api_error(ctx.error(), {"prompt", ""}));
    auto lps = eval::prompt_logprobs(**ctx, ids, sr.logprobs ? sr.top_logprobs : 0, /*greedy_next=*/n_gen == 1);
    if (!lps.ok()) return Server::Impl::reply_error(res, api_error(lps.error(), {"prompt", ""}));
    const size_t skip = ids[0] == tok.bos_id() && tok.token_piece(ids[0]).empty() ? 1 : 0;
    Choice c;
    c.index = static_cast<int32_t>(p);
    c.text = texts[p];
    c.finish_reason = "length";
    const size_t n_echo = ids.size() - skip;
    const std::string whole = tok.decode(std::span<const int32_t>(ids.data() + skip, n_echo));
    if (n_gen == 1) {
      // The generated token's text: what it adds to the decoded prompt (a piece alone may lack the
      // space SentencePiece spells as its first character).
      std::vector<int32_t> with(ids.begin() + static_cast<ptrdiff_t>(skip), ids.end());
      with.push_back(lps->back().token);
      const std::string both = tok.decode(with);
      c.text += both.starts_with(whole) ? both.substr(whole.size()) : tok.decode(std::span<const int32_t>(&with.back(), 1));
      usage.completion_tokens += 1;
    }
    std::vector<int64_t> offs;
    if (sr.logprobs) {
      c.logprobs.emplace();
      for (size_t i = skip; i < lps->size(); ++i) {
        PositionLogprobs pos;
        pos.sampled = {tok.token_piece((*lps)[i].token), static_cast<float>((*lps)[i].logprob.value_or(0.0))};
        for (const auto& [id, lp] : (*lps)[i].top) pos.top.push_back({tok.token_piece(id), static_cast<float>(lp)});
        c.logprobs->push_back(std::move(pos));
      }
      // A token's offset is the length of the text the tokens before it decode to: pieces alone
      // need not spell the text (byte-fallback tokens of one character, SentencePiece's "▁" and
      // its dummy prefix). A prefix that ends inside a character does not decode to a prefix of
      // the text; its token takes the offset of the next one that does (where that character
      // ends), so a character's byte tokens go with what follows them. A generated token starts
      // where the prompt ends.
      offs.assign(n_echo, 0);
      int64_t next = static_cast<int64_t>(whole.size());
      for (size_t k = n_echo; k-- > 0;) {
        const std::string before = tok.decode(std::span<const int32_t>(ids.data() + skip, k));
        if (std::string_view(whole).starts_with(before)) next = std::min<int64_t>(next, static_cast<int64_t>(before.size()));
        offs[k] = next;
      }
      if (n_gen == 1) offs.push_back(static_cast<int64_t>(whole.size()));
    }
    first_has_none.push_back(skip == 0);
    offsets.push_back(std::move(offs));
    choices.push_back(std::move(c));
  }
  ResponseHeader h;
  h.id = fmt::format("cmpl-{:016x}{:x}", random_u64(), s.next_id.fetch_add(1));
  h.created =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  h.model = s.model_id();
  auto body = completion_json(h, choices, usage);
  for (size_t p = 0; p < choices.size(); ++p) {
    auto& lp = body["choices"][p]["logprobs"];
    if (lp.is_null()) continue;
    lp["text_offset"] = offsets[p];
    if (first_has_none[p] && !lp["token_logprobs"].empty()) {
      lp["token_logprobs"][0] = nullptr;  // the first token of the context: nothing predicted it
      lp["top_logprobs"][0] = nullptr;
    }
  }
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

void Server::Impl::handle_completion(const httplib::Request& req, httplib::Response& res) {
  RequestFault fault;
  auto r = parse_completion_request(req.body, &fault);
  if (!r.ok()) return reply_error(res, api_error(r.error(), fault));
  if (!check_model(r->sampling.model, res)) return;
  auto g = guard(req);
  if (!check_guard(*g, r->sampling, res)) return;
  g->parameters(r->sampling);
  const int64_t n_vocab = model->model->config().n_vocab;
  std::vector<std::vector<int32_t>> prompts;
  std::vector<std::string> texts;  // echo: the prompts as text
  if (!r->echo && r->sampling.max_tokens == 0)
    return reply_error(res, {400, "'max_tokens' is 0: nothing to generate (0 is for 'echo': true)",
                             "invalid_request_error", "invalid_value", "max_tokens"});
  for (size_t p = 0; p < r->prompts.size(); ++p) {
    const CompletionPrompt& cp = r->prompts[p];
    if (cp.is_ids) {
      for (size_t k = 0; k < cp.ids.size(); ++k)
        if (cp.ids[k] >= n_vocab)
          return reply_error(
              res, {400, fmt::format("prompt token {} is {}, outside the vocabulary of {}", k, cp.ids[k], n_vocab),
                    "invalid_request_error", "invalid_value", "prompt"});
      g->prompt_ids(cp.ids);
      prompts.push_back(cp.ids);
      texts.push_back(model->tokenizer->decode(cp.ids));
      continue;
    }
    std::string text = cp.text;
    g->prompt_text(text);  // redacted before it is tokenized, when the deployment asks
    // The whole prompt is the client's: control tokens written in it are parsed, as in llama.cpp.
    auto ids = model->tokenizer->try_encode(text, /*add_special=*/true, /*parse_special=*/true);
    if (!ids.ok()) return reply_error(res, api_error(ids.error(), {"prompt", "invalid_value"}));
    prompts.push_back(std::move(*ids));
    texts.push_back(std::move(text));
  }
  if (r->echo) return answer_echo(*this, res, *r, prompts, texts);
  run_generation(*this, req, res, std::move(prompts), r->sampling, /*chat=*/false, "prompt", std::move(g));
}

}  // namespace fragua::serve
