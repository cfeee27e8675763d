// SPDX-License-Identifier: Apache-2.0
// The request scheduler of `fragua serve`: continuous batching of generation requests over one
// model::BatchContext on one worker thread (Yu et al. 2022, "Orca": iteration-level scheduling).
//
// Every step is one forward pass over the next token of each running request and, within the
// step's token budget, one prompt chunk of each request still reading its prompt; a request
// queued while others run joins at the next step. A prompt is fed in chunks of
// `prefill_chunk` tokens cut from the start of what the slot does not already hold, whatever
// else is running, so that the tokens a request produces do not depend on its neighbours (the
// batched forward gives each sequence the bits a run of its own gives; tests/model/batch_*).
// A new request takes the free slot whose cached tokens share the longest prefix with its prompt
// (a system prompt, the earlier turns of a chat), and only the rest of the prompt is evaluated.
//
// Events are delivered on the worker thread, in order, never under the scheduler's lock: a
// callback may call submit(), metrics() or cancel through its request's flag; it must not throw
// and must not block for long (every running request waits for it).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fragua/backend/backend.h"
#include "fragua/base/error.h"
#include "fragua/model/model.h"
#include "fragua/model/sampler.h"

namespace fragua::serve {

// Why a request ended: stop (an end-of-generation token), length (max_tokens, or the slot's
// context is full), cancelled (its flag, on_event returning false, or shutdown), timeout (its
// deadline passed), error (the forward pass failed; TokenEvent::error says why).
enum class FinishReason { none, stop, length, cancelled, timeout, error };
// "stop", "length", "cancelled", "timeout", "error" ("" for none).
std::string_view finish_reason_name(FinishReason reason);

struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0.0f;
};

// One generated token, or the end of a request. Log-probabilities are natural logarithms under
// the model's own distribution (softmax of the raw logits: before the logits filter, penalties and
// temperature), as OpenAI's and vLLM's `logprobs` report them.
struct TokenEvent {
  uint64_t request = 0;  // the id submit() returned
  int32_t token = -1;    // the sampled token; -1 on a final event that carries none
  float logprob = 0.0f;
  std::vector<TokenLogprob> top;  // the request's n_logprobs most likely tokens, most likely first
  // Set on the request's last event. With stop, `token` is the end-of-generation token (not text
  // to show); with length, `token` is the last generated token; with cancelled, timeout and error
  // there is no token.
  FinishReason finish = FinishReason::none;
  std::string error;  // finish == error: the message
  // Usage so far: prompt tokens, of those already in the slot's cache (not evaluated), and
  // generated tokens including this one.
  int64_t n_prompt = 0, n_cached = 0, n_generated = 0;
};

// What an event callback wants next. `true` converts to next and `false` to cancel, so a callback
// may return a bool. Both `stop` and `cancel` end the request at once: its slot is free for the
// next step and no further event follows. They differ only in how /metrics counts the end:
// `stop` is the caller's own stop rule (a stop string, a closed JSON document), `cancel` is a
// client that left.
struct EventReply {
  enum Kind : uint8_t { next, stop, cancel };
  Kind kind;
  constexpr EventReply(Kind k) : kind(k) {}                        // NOLINT: implicit by design
  constexpr EventReply(bool go_on) : kind(go_on ? next : cancel) {}  // NOLINT: implicit by design
};

// Called on the worker thread for every event.
using EventFn = std::function<EventReply(const TokenEvent&)>;
// Called on the worker thread before each sampling of the request with its logits ([n_vocab]),
// which it may change in place (-inf forbids a token: constrained decoding). It sees the tokens
// sampled so far through the events, which come after it for each step.
using LogitsFilter = std::function<void(std::span<float> logits)>;

struct GenerationRequest {
  std::vector<int32_t> prompt;   // token ids; at least one, fewer than the slot's context
  model::SamplerParams sampler;  // the seed makes a request reproducible, alone or batched
  int32_t max_tokens = 128;      // > 0
  // TokenEvent::logprob of each sampled token (a log-sum-exp over the vocabulary per token, so
  // only when asked; 0 otherwise). n_logprobs > 0 implies it.
  bool logprobs = false;
  int32_t n_logprobs = 0;        // top log-probabilities per token, 0..kMaxLogprobs
  // Optional: set to true (from any thread) to cancel; seen before each step. A request still
  // queued leaves the queue (counted as cancelled) at the next submit(), metrics() or step,
  // whichever comes first; its final event follows on the worker thread.
  std::shared_ptr<std::atomic<bool>> cancel;
  LogitsFilter logits_filter;  // optional
  // Optional: past it the request ends with `timeout`, queued or running.
  std::optional<std::chrono::steady_clock::time_point> deadline;
};
inline constexpr int32_t kMaxLogprobs = 20;  // OpenAI's top_logprobs limit

// Mean-pooled, L2-normalised final hidden state of a token sequence (/v1/embeddings), computed in
// a slot alongside the generation requests. Needs SchedulerParams::embeddings.
struct EmbeddingRequest {
  std::vector<int32_t> tokens;  // at least one, at most the slot's context
  std::shared_ptr<std::atomic<bool>> cancel;
  std::optional<std::chrono::steady_clock::time_point> deadline;
};
// Called once on the worker thread: the vector [n_embd], or the error (cancelled, timeout,
// shutdown, forward failure).
using EmbeddingFn = std::function<void(Result<std::vector<float>> embedding)>;

struct SchedulerParams {
  int32_t n_slots = 4;                        // sequences decoded together
  int64_t n_ctx_per_seq = 0;                  // 0: min(the model's training context, 4096)
  int64_t n_batch = 512;                      // tokens per step at most (raised to n_slots + prefill_chunk)
  int64_t prefill_chunk = 128;                // prompt tokens per request and step
  int n_threads = 0;                          // 0: all cores ($FRAGUA_THREADS)
  size_t max_queue = 64;                      // waiting requests beyond the running ones; more: submit fails
  std::vector<int32_t> eog_ids;               // end-of-generation tokens (model::end_of_generation_ids)
  bool embeddings = false;                    // keep hidden states for EmbeddingRequest (n_embd floats per position)
  std::shared_ptr<backend::Backend> backend;  // null: a CPU backend with n_threads
};

// Counters for /metrics, cumulative since create() unless said otherwise.
struct SchedulerMetrics {
  int64_t queue_depth = 0;   // now
  int64_t active_slots = 0;  // now
  int64_t n_slots = 0;
  uint64_t submitted = 0, rejected = 0;  // rejected: the queue was full or shutting down
  uint64_t finished_stop = 0, finished_length = 0, finished_cancelled = 0, finished_timeout = 0, finished_error = 0;
  uint64_t embeddings = 0;        // embedding requests answered
  uint64_t prompt_tokens = 0;     // of the requests admitted (cached ones included)
  uint64_t prompt_evaluated = 0;  // of those, run through the model
  uint64_t generated_tokens = 0;
  uint64_t steps = 0;  // forward passes
};

// Latency samples in seconds since the last take_samples(): time to first token (submit to the
// first event) and the time between consecutive tokens of a request. At most kMaxSamples of each
// are kept between two calls (later ones are dropped and counted).
struct LatencySamples {
  std::vector<double> time_to_first_token, per_token;
  uint64_t dropped = 0;
};
inline constexpr size_t kMaxSamples = 1 << 16;

class Scheduler {
 public:
  // The model must outlive the scheduler. Starts the worker thread.
  static Result<std::unique_ptr<Scheduler>> create(const model::Model& model, SchedulerParams params);
  // shutdown(ShutdownMode::cancel).
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues a request; returns its id (> 0). Errors, with nothing queued and no event:
  // invalid_argument for a request the model cannot run (empty prompt, a token outside the
  // vocabulary, a prompt that does not fit a slot, max_tokens or n_logprobs out of range, bad
  // sampler parameters), resource_exhausted when the queue is full or the scheduler is shutting
  // down (the server answers 503).
  Result<uint64_t> submit(GenerationRequest request, EventFn on_event);
  // As submit; on_done is called exactly once when it was accepted. invalid_argument also when the
  // scheduler keeps no hidden states (SchedulerParams::embeddings).
  Status submit(EmbeddingRequest request, EmbeddingFn on_done);

  enum class ShutdownMode {
    finish,  // refuse new requests, run the queued and running ones to their end
    cancel,  // refuse new requests, end queued and running ones with `cancelled`
  };
  // Returns when the worker has stopped; every accepted request has had its final event by then.
  // Later calls return at once.
  void shutdown(ShutdownMode mode = ShutdownMode::finish);

  SchedulerMetrics metrics() const;
  LatencySamples take_samples();

  const SchedulerParams& params() const;  // as resolved by create()
  const model::Model& model() const;

 private:
  struct Impl;
  explicit Scheduler(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fragua::serve
