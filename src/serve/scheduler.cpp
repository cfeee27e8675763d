// SPDX-License-Identifier: Apache-2.0
// The Scheduler's worker: admission into slots (longest cached prefix first), one forward pass
// per step over the decode tokens and prompt chunks of the running requests, sampling and events.
#include "fragua/serve/scheduler.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "fragua/model/batch.h"

namespace fragua::serve {

using Clock = std::chrono::steady_clock;

std::string_view finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::stop:
      return "stop";
    case FinishReason::length:
      return "length";
    case FinishReason::cancelled:
      return "cancelled";
    case FinishReason::timeout:
      return "timeout";
    case FinishReason::error:
      return "error";
    case FinishReason::none:
      break;
  }
  return "";
}

namespace {

// A request as submitted: a generation or an embedding.
struct Job {
  uint64_t id = 0;
  bool embedding = false;
  GenerationRequest gen;
  EventFn on_event;
  EmbeddingRequest emb;
  EmbeddingFn on_done;
  Clock::time_point submitted;

  const std::vector<int32_t>& tokens() const { return embedding ? emb.tokens : gen.prompt; }
  bool cancelled() const {
    const auto& flag = embedding ? emb.cancel : gen.cancel;
    return flag && flag->load(std::memory_order_relaxed);
  }
  bool expired(Clock::time_point now) const {
    const auto& d = embedding ? emb.deadline : gen.deadline;
    return d && now >= *d;
  }
};

// A job in a slot.
struct Running {
  Job job;
  std::optional<model::Sampler> sampler;
  int64_t done = 0;      // prompt tokens the slot holds
  int64_t n_cached = 0;  // of those, found in the slot at admission
  int64_t n_generated = 0;
  int32_t next_token = -1;  // sampled and not yet decoded; -1 while the prompt is read
  uint64_t order = 0;       // admission order: older prompts read first
  Clock::time_point last_event;
  std::vector<float> logits;  // the filtered copy the sampler reads (requests with a filter only)
  std::vector<TokenLogprob> top;  // the n_logprobs best (token, logit) so far, best first
};

}  // namespace

struct Scheduler::Impl {
  const model::Model& model;
  SchedulerParams params;
  std::unique_ptr<model::BatchContext> ctx;

  mutable std::mutex mu;  // guards what follows, up to the worker-only state
  std::condition_variable wake;
  std::deque<Job> queue;
  // Taken out of the queue (cancelled, past their deadline, or shutdown), already counted; the
  // worker delivers their final events.
  std::vector<std::pair<Job, FinishReason>> leaving;
  bool stopping = false;
  bool cancel_all = false;
  uint64_t next_id = 1;
  int64_t active = 0;
  SchedulerMetrics counters;
  LatencySamples samples;

  std::mutex join_mu;
  std::thread worker;

  // Worker-only state.
  std::vector<std::unique_ptr<Running>> slots;
  std::vector<uint64_t> last_used;  // step at which a slot last ended a request
  uint64_t n_admitted = 0, step = 0;
  std::vector<model::BatchItem> items;
  std::vector<int32_t> row_slot;  // the slot of each logits row of a step
  std::vector<int64_t> chunk;     // prompt tokens each slot reads this step

  Impl(const model::Model& m, SchedulerParams p) : model(m), params(std::move(p)) {}
  void run();
  bool admit(Clock::time_point now);
  void step_once();
  void sample(int32_t slot, std::span<const float> row);
  void finish(int32_t slot, FinishReason reason, const std::string& error = {});
  void drop_queued(Job& job, FinishReason reason);
  void record(std::vector<double> LatencySamples::*which, double seconds);
  void count_finish(FinishReason reason);
  void count_finish_locked(FinishReason reason);
  // Under `mu`: moves the queued requests that are cancelled or past their deadline (all of them
  // after shutdown(cancel)) to `leaving`, so that they leave the queue as soon as anyone looks at
  // it (submit, metrics, the worker between steps), not only when the worker is free to; a client
  // gone while its request waits neither holds a place in a full queue nor shows in queue_depth.
  // True when it moved any.
  bool sweep_locked(Clock::time_point now);
  // What both kinds of request check before they queue: token ids in the vocabulary, a length a
  // slot holds. `what` names the input in messages ("prompt", "input").
  Status check_tokens(std::span<const int32_t> t, std::string_view what) const;
  Result<uint64_t> enqueue(Job job);
};

namespace {

void push_sample(std::vector<double>& v, uint64_t& dropped, double x) {
  if (v.size() >= kMaxSamples)
    ++dropped;
  else
    v.push_back(x);
}

Result<std::vector<float>> ended(FinishReason reason) {
  if (reason == FinishReason::timeout) return resource_exhausted_error("the embedding request timed out");
  return resource_exhausted_error("the embedding request was cancelled");
}

}  // namespace

void Scheduler::Impl::record(std::vector<double> LatencySamples::*which, double seconds) {
  std::lock_guard lock(mu);
  push_sample(samples.*which, samples.dropped, seconds);
}

void Scheduler::Impl::count_finish(FinishReason reason) {
  std::lock_guard lock(mu);
  count_finish_locked(reason);
}

void Scheduler::Impl::count_finish_locked(FinishReason reason) {
  switch (reason) {
    case FinishReason::stop:
      ++counters.finished_stop;
      break;
    case FinishReason::length:
      ++counters.finished_length;
      break;
    case FinishReason::cancelled:
      ++counters.finished_cancelled;
      break;
    case FinishReason::timeout:
      ++counters.finished_timeout;
      break;
    case FinishReason::error:
      ++counters.finished_error;
      break;
    case FinishReason::none:
      break;
  }
}

bool Scheduler::Impl::sweep_locked(Clock::time_point now) {
  bool moved = false;
  for (auto it = queue.begin(); it != queue.end();) {
    if (cancel_all || it->cancelled() || it->expired(now)) {
      const FinishReason why = !cancel_all && it->expired(now) ? FinishReason::timeout : FinishReason::cancelled;
      if (!it->embedding) count_finish_locked(why);
      leaving.emplace_back(std::move(*it), why);
      it = queue.erase(it);
      moved = true;
    } else {
      ++it;
    }
  }
  counters.queue_depth = static_cast<int64_t>(queue.size());
  return moved;
}

// A queued job that never ran (counted by sweep_locked): its final event (or on_done) with the
// reason.
void Scheduler::Impl::drop_queued(Job& job, FinishReason reason) {
  if (job.embedding) {
    job.on_done(ended(reason));
    return;
  }
  TokenEvent e;
  e.request = job.id;
  e.finish = reason;
  e.n_prompt = static_cast<int64_t>(job.gen.prompt.size());
  job.on_event(e);
}

// Ends the request in `slot` with a final event (none after a cancel by on_event) and frees the
// slot; its tokens stay cached for a later prompt that shares them.
void Scheduler::Impl::finish(int32_t slot, FinishReason reason, const std::string& error) {
  std::unique_ptr<Running> r = std::move(slots[static_cast<size_t>(slot)]);
  last_used[static_cast<size_t>(slot)] = step;
  {
    std::lock_guard lock(mu);
    --active;
  }
  if (reason == FinishReason::error) (void)ctx->truncate(slot, 0);  // what it holds is unknown
  if (r->job.embedding) {
    if (reason == FinishReason::error)
      r->job.on_done(Error(ErrorCode::io, error));
    else
      r->job.on_done(ended(reason));
    return;
  }
  count_finish(reason);
  TokenEvent e;
  e.request = r->job.id;
  e.finish = reason;
  e.error = error;
  e.n_prompt = static_cast<int64_t>(r->job.gen.prompt.size());
  e.n_cached = r->n_cached;
  e.n_generated = r->n_generated;
  r->job.on_event(e);
}

// Moves queued jobs into free slots, oldest first, each into the free slot whose cached tokens
// share the longest prefix with its prompt (the least recently used among equals). Jobs
// cancelled or past their deadline leave the queue with their final event. Returns whether the
// worker should keep running.
bool Scheduler::Impl::admit(Clock::time_point now) {
  std::vector<std::pair<Job, FinishReason>> dropped;
  std::vector<Job> admitted;
  bool keep_running = true;
  {
    std::lock_guard lock(mu);
    sweep_locked(now);
    dropped.swap(leaving);
    int64_t free = static_cast<int64_t>(params.n_slots) - active;
    while (free > 0 && !queue.empty()) {
      admitted.push_back(std::move(queue.front()));
      queue.pop_front();
      --free;
      ++active;
    }
    counters.queue_depth = static_cast<int64_t>(queue.size());
    keep_running = !(stopping && queue.empty() && active == 0 && admitted.empty());
  }
  for (auto& [job, why] : dropped) drop_queued(job, why);
  for (Job& job : admitted) {
    const std::vector<int32_t>& prompt = job.tokens();
    int32_t best = -1;
    int64_t best_len = -1;
    for (int32_t s = 0; s < params.n_slots; ++s) {
      if (slots[static_cast<size_t>(s)]) continue;
      const auto held = ctx->tokens(s);
      const auto len = static_cast<int64_t>(
          std::mismatch(held.begin(), held.end(), prompt.begin(), prompt.end()).first - held.begin());
      if (len > best_len ||
          (len == best_len && last_used[static_cast<size_t>(s)] < last_used[static_cast<size_t>(best)])) {
        best = s;
        best_len = len;
      }
    }
    auto r = std::make_unique<Running>();
    auto reused = ctx->reuse_prefix(best, prompt);  // `best` is in range: never an error
    int64_t kept = reused.ok() ? *reused : 0;
    // A generation needs the logits of its last prompt token, so that token is evaluated again;
    // an embedding of tokens the slot holds whole needs no pass.
    if (!job.embedding && kept == static_cast<int64_t>(prompt.size())) {
      --kept;
      (void)ctx->truncate(best, kept);
      kept = ctx->n_past(best);  // a model with recurrent layers keeps all or nothing
    }
    r->done = r->n_cached = kept;
    r->order = ++n_admitted;
    r->last_event = now;
    if (!job.embedding) {
      r->sampler.emplace(job.gen.sampler);
      if (job.gen.logits_filter) r->logits.resize(static_cast<size_t>(model.config().n_vocab));
    }
    {
      std::lock_guard lock(mu);
      counters.prompt_tokens += prompt.size();
    }
    r->job = std::move(job);
    slots[static_cast<size_t>(best)] = std::move(r);
  }
  return keep_running;
}

// Samples the next token of the request in `slot` from its logits row and delivers its event.
void Scheduler::Impl::sample(int32_t slot, std::span<const float> row) {
  Running& r = *slots[static_cast<size_t>(slot)];
  const GenerationRequest& g = r.job.gen;
  // Per token, only what the request asked for touches the whole vocabulary besides the sampler
  // (at 256k entries each pass costs about a millisecond): the copy only for a logits filter, the
  // log-sum-exp only for log-probabilities, the top n by one scan.
  std::span<const float> sampled_from = row;
  if (g.logits_filter) {
    std::copy(row.begin(), row.end(), r.logits.begin());
    g.logits_filter(std::span<float>(r.logits));
    if (std::none_of(r.logits.begin(), r.logits.end(), [](float l) { return l > -INFINITY; })) {
      finish(slot, FinishReason::error, "the logits filter allowed no token");
      return;
    }
    sampled_from = r.logits;
  }
  const int32_t token = r.sampler->sample(sampled_from, ctx->tokens(slot));
  ++r.n_generated;
  TokenEvent e;
  e.request = r.job.id;
  e.token = token;
  if (g.logprobs || g.n_logprobs > 0) {
    // log p = logit - log(sum(exp(logits))), over the raw logits, in double.
    const float mx = *std::max_element(row.begin(), row.end());
    double sum = 0.0;
    for (float l : row) sum += std::exp(static_cast<double>(l) - mx);
    const double lse = mx + std::log(sum);
    e.logprob = static_cast<float>(row[static_cast<size_t>(token)] - lse);
    if (g.n_logprobs > 0) {
      // The n best in one scan: `top` stays sorted (higher logit first, the lower id first among
      // equals, which ascending ids give by entering only when strictly better than the last).
      const size_t k = std::min<size_t>(static_cast<size_t>(g.n_logprobs), row.size());
      r.top.clear();
      for (size_t i = 0; i < row.size(); ++i) {
        const float l = row[i];
        if (r.top.size() == k && !(l > r.top.back().logprob)) continue;
        auto at = std::upper_bound(r.top.begin(), r.top.end(), l,
                                   [](float v, const TokenLogprob& t) { return v > t.logprob; });
        if (r.top.size() == k) r.top.pop_back();
        r.top.insert(at, {static_cast<int32_t>(i), l});
      }
      for (const TokenLogprob& t : r.top) e.top.push_back({t.token, static_cast<float>(t.logprob - lse)});
    }
  }
  if (std::find(params.eog_ids.begin(), params.eog_ids.end(), token) != params.eog_ids.end())
    e.finish = FinishReason::stop;
  else if (r.n_generated >= g.max_tokens || ctx->n_past(slot) >= params.n_ctx_per_seq)
    e.finish = FinishReason::length;
  e.n_prompt = static_cast<int64_t>(g.prompt.size());
  e.n_cached = r.n_cached;
  e.n_generated = r.n_generated;
  const auto now = Clock::now();
  const double since =
      std::chrono::duration<double>(now - (r.n_generated == 1 ? r.job.submitted : r.last_event)).count();
  record(r.n_generated == 1 ? &LatencySamples::time_to_first_token : &LatencySamples::per_token, since);
  r.last_event = now;
  {
    std::lock_guard lock(mu);
    ++counters.generated_tokens;
  }
  const EventReply reply = r.job.on_event(e);
  if (e.finish != FinishReason::none || reply.kind != EventReply::next) {
    const FinishReason reason = e.finish != FinishReason::none ? e.finish
                                : reply.kind == EventReply::stop ? FinishReason::stop
                                                                 : FinishReason::cancelled;
    // The final event has been delivered (or the caller asked for none): free the slot quietly.
    slots[static_cast<size_t>(slot)].reset();
    last_used[static_cast<size_t>(slot)] = step;
    count_finish(reason);
    std::lock_guard lock(mu);
    --active;
    return;
  }
  r.next_token = token;
}

// One step: cancellations and deadlines, then one forward pass over every decode token and, in
// the remaining budget, one prompt chunk per request still reading its prompt (oldest first).
void Scheduler::Impl::step_once() {
  const auto now = Clock::now();
  bool cancel_now;
  {
    std::lock_guard lock(mu);
    cancel_now = cancel_all;
  }
  for (int32_t s = 0; s < params.n_slots; ++s) {
    const Running* r = slots[static_cast<size_t>(s)].get();
    if (!r) continue;
    if (cancel_now || r->job.cancelled())
      finish(s, FinishReason::cancelled);
    else if (r->job.expired(now))
      finish(s, FinishReason::timeout);
  }
  items.clear();
  row_slot.clear();
  chunk.assign(static_cast<size_t>(params.n_slots), 0);
  for (int32_t s = 0; s < params.n_slots; ++s) {
    const Running* r = slots[static_cast<size_t>(s)].get();
    if (r && r->next_token >= 0) {
      items.push_back({.token = r->next_token, .seq = s, .logits = true});
      row_slot.push_back(s);
    }
  }
  std::vector<int32_t> reading;
  for (int32_t s = 0; s < params.n_slots; ++s)
    if (const Running* r = slots[static_cast<size_t>(s)].get(); r && r->next_token < 0) reading.push_back(s);
  std::sort(reading.begin(), reading.end(), [&](int32_t a, int32_t b) {
    return slots[static_cast<size_t>(a)]->order < slots[static_cast<size_t>(b)]->order;
  });
  int64_t budget = ctx->n_batch() - static_cast<int64_t>(items.size());
  for (int32_t s : reading) {
    Running& r = *slots[static_cast<size_t>(s)];
    const auto& prompt = r.job.tokens();
    const int64_t n = std::min<int64_t>(static_cast<int64_t>(prompt.size()) - r.done, params.prefill_chunk);
    if (n > budget) break;  // a whole chunk or none: its boundaries must not depend on the others
    if (n == 0) continue;   // an embedding the slot held whole
    for (int64_t i = 0; i < n; ++i) {
      const bool last = r.done + i + 1 == static_cast<int64_t>(prompt.size());
      items.push_back({.token = prompt[static_cast<size_t>(r.done + i)], .seq = s, .logits = last && !r.job.embedding});
      if (last && !r.job.embedding) row_slot.push_back(s);
    }
    chunk[static_cast<size_t>(s)] = n;
    budget -= n;
  }
  if (!items.empty()) {
    auto logits = ctx->decode(items);
    {
      std::lock_guard lock(mu);
      ++counters.steps;
      for (int64_t n : chunk) counters.prompt_evaluated += static_cast<uint64_t>(n);
    }
    ++step;
    if (!logits.ok()) {
      for (int32_t s = 0; s < params.n_slots; ++s)
        if (slots[static_cast<size_t>(s)] &&
            (chunk[static_cast<size_t>(s)] > 0 || slots[static_cast<size_t>(s)]->next_token >= 0))
          finish(s, FinishReason::error, logits.error().message());
      return;
    }
    const auto V = static_cast<size_t>(model.config().n_vocab);
    size_t row = 0;
    for (int32_t s : row_slot) {
      Running& r = *slots[static_cast<size_t>(s)];
      r.done += chunk[static_cast<size_t>(s)];
      chunk[static_cast<size_t>(s)] = 0;
      sample(s, logits->subspan(row++ * V, V));
    }
    for (int32_t s = 0; s < params.n_slots; ++s) {
      if (chunk[static_cast<size_t>(s)] == 0) continue;
      Running& r = *slots[static_cast<size_t>(s)];
      r.done += chunk[static_cast<size_t>(s)];
    }
  }
  // Embeddings whose tokens the slot now holds whole.
  for (int32_t s = 0; s < params.n_slots; ++s) {
    Running* r = slots[static_cast<size_t>(s)].get();
    if (!r || !r->job.embedding || r->done < static_cast<int64_t>(r->job.emb.tokens.size())) continue;
    std::unique_ptr<Running> owned = std::move(slots[static_cast<size_t>(s)]);
    last_used[static_cast<size_t>(s)] = step;
    {
      std::lock_guard lock(mu);
      --active;
      ++counters.embeddings;
    }
    owned->job.on_done(ctx->embedding(s));
  }
}

void Scheduler::Impl::run() {
  for (;;) {
    {
      std::unique_lock lock(mu);
      wake.wait(lock, [&] { return stopping || !queue.empty() || active > 0 || !leaving.empty(); });
    }
    if (!admit(Clock::now())) break;
    step_once();
  }
}

Scheduler::Scheduler(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Scheduler::~Scheduler() { shutdown(ShutdownMode::cancel); }

Result<std::unique_ptr<Scheduler>> Scheduler::create(const model::Model& model, SchedulerParams params) {
  if (params.n_slots < 1)
    return invalid_argument_error("the scheduler needs at least one slot, got {}", params.n_slots);
  if (params.prefill_chunk < 1)
    return invalid_argument_error("prefill_chunk must be at least 1, got {}", params.prefill_chunk);
  const int64_t n_vocab = model.config().n_vocab;
  for (int32_t id : params.eog_ids)
    if (id < 0 || id >= n_vocab)
      return invalid_argument_error("end-of-generation token {} is outside the vocabulary (0..{})", id, n_vocab - 1);
  params.n_batch = std::max<int64_t>(params.n_batch, params.n_slots + params.prefill_chunk);
  auto ctx = FRAGUA_TRY(model::BatchContext::create(model, {.n_seq = params.n_slots,
                                                            .n_ctx_per_seq = params.n_ctx_per_seq,
                                                            .n_batch = params.n_batch,
                                                            .n_threads = params.n_threads,
                                                            .embeddings = params.embeddings,
                                                            .backend = params.backend}));
  params.n_ctx_per_seq = ctx->n_ctx_per_seq();
  params.n_batch = ctx->n_batch();
  // n_batch is at most n_slots * n_ctx_per_seq: with one position per slot, a chunk of one.
  params.prefill_chunk = std::max<int64_t>(1, std::min(params.prefill_chunk, params.n_batch - params.n_slots));
  auto impl = std::make_unique<Impl>(model, std::move(params));
  impl->ctx = std::move(ctx);
  impl->slots.resize(static_cast<size_t>(impl->params.n_slots));
  impl->last_used.resize(static_cast<size_t>(impl->params.n_slots));
  impl->counters.n_slots = impl->params.n_slots;
  Impl* p = impl.get();
  impl->worker = std::thread([p] { p->run(); });
  return std::unique_ptr<Scheduler>(new Scheduler(std::move(impl)));
}

Status Scheduler::Impl::check_tokens(std::span<const int32_t> t, std::string_view what) const {
  const int64_t n_vocab = model.config().n_vocab;
  if (t.empty()) return invalid_argument_error("the {} is empty", what);
  for (size_t i = 0; i < t.size(); ++i)
    if (t[i] < 0 || t[i] >= n_vocab)
      return invalid_argument_error("{} token {} at index {} is outside the vocabulary (0..{})", what, t[i], i,
                                    n_vocab - 1);
  if (static_cast<int64_t>(t.size()) > params.n_ctx_per_seq)
    return invalid_argument_error("the {} has {} tokens; a slot holds {}", what, t.size(), params.n_ctx_per_seq);
  return {};
}

Result<uint64_t> Scheduler::Impl::enqueue(Job job) {
  job.submitted = Clock::now();
  std::lock_guard lock(mu);
  if (sweep_locked(job.submitted)) wake.notify_one();
  if (stopping) {
    ++counters.rejected;
    return resource_exhausted_error("the server is shutting down");
  }
  if (queue.size() >= params.max_queue) {
    ++counters.rejected;
    return resource_exhausted_error("the request queue is full ({} waiting)", queue.size());
  }
  job.id = next_id++;
  const uint64_t id = job.id;
  queue.push_back(std::move(job));
  ++counters.submitted;
  counters.queue_depth = static_cast<int64_t>(queue.size());
  wake.notify_one();
  return id;
}

Result<uint64_t> Scheduler::submit(GenerationRequest request, EventFn on_event) {
  Impl& m = *impl_;
  if (!on_event) return invalid_argument_error("submit: no event callback");
  FRAGUA_TRY(m.check_tokens(request.prompt, "prompt"));
  if (request.max_tokens < 1)
    return invalid_argument_error("max_tokens must be at least 1, got {}", request.max_tokens);
  if (request.n_logprobs < 0 || request.n_logprobs > kMaxLogprobs)
    return invalid_argument_error("n_logprobs must be in 0..{}, got {}", kMaxLogprobs, request.n_logprobs);
  FRAGUA_TRY(request.sampler.validate());
  Job job;
  job.gen = std::move(request);
  job.on_event = std::move(on_event);
  return m.enqueue(std::move(job));
}

Status Scheduler::submit(EmbeddingRequest request, EmbeddingFn on_done) {
  Impl& m = *impl_;
  if (!on_done) return invalid_argument_error("submit: no completion callback");
  if (!m.params.embeddings) return invalid_argument_error("this scheduler was created without embeddings");
  FRAGUA_TRY(m.check_tokens(request.tokens, "input"));
  Job job;
  job.embedding = true;
  job.emb = std::move(request);
  job.on_done = std::move(on_done);
  FRAGUA_TRY(m.enqueue(std::move(job)));
  return {};
}

void Scheduler::shutdown(ShutdownMode mode) {
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.mu);
    m.stopping = true;
    if (mode == ShutdownMode::cancel) m.cancel_all = true;
    m.wake.notify_one();
  }
  // From an event callback (the worker itself) the flags are set and the worker ends after the
  // step; joining there would wait for itself.
  if (std::this_thread::get_id() == m.worker.get_id()) return;
  std::lock_guard lock(m.join_mu);
  if (m.worker.joinable()) m.worker.join();
}

SchedulerMetrics Scheduler::metrics() const {
  std::lock_guard lock(impl_->mu);
  if (impl_->sweep_locked(Clock::now())) impl_->wake.notify_one();
  SchedulerMetrics c = impl_->counters;
  c.queue_depth = static_cast<int64_t>(impl_->queue.size());
  c.active_slots = impl_->active;
  return c;
}

LatencySamples Scheduler::take_samples() {
  std::lock_guard lock(impl_->mu);
  return std::exchange(impl_->samples, {});
}

const SchedulerParams& Scheduler::params() const { return impl_->params; }
const model::Model& Scheduler::model() const { return impl_->model; }

}  // namespace fragua::serve
