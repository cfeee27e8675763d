// SPDX-License-Identifier: Apache-2.0
// The Scheduler on a small random model written by the test: batching does not change what a
// request generates, cancellation and deadlines free slots, the queue is bounded, shutdown ends
// every request, more requests than slots wait their turn, prefix reuse, log-probabilities
// against a Context's logits, logits filters, embeddings, metrics.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "fragua/model/batch.h"
#include "fragua/model/model.h"
#include "fragua/model/random_model.h"
#include "fragua/serve/scheduler.h"
#include "test_util.h"

namespace fragua::serve {
namespace {

using namespace std::chrono_literals;

// The events of one request, gathered from the worker thread. `hook` (optional) runs first, on
// the worker, and its answer is returned to the scheduler.
struct Events {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<TokenEvent> events;
  bool done = false;
  std::function<bool(const TokenEvent&)> hook;

  EventFn fn() {
    return [this](const TokenEvent& e) {
      const bool go_on = hook ? hook(e) : true;
      std::lock_guard lock(mu);
      events.push_back(e);
      if (e.finish != FinishReason::none || !go_on) done = true;
      cv.notify_all();
      return go_on;
    };
  }
  bool wait(std::chrono::seconds limit = 120s) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, limit, [&] { return done; });
  }
  size_t count() {
    std::lock_guard lock(mu);
    return events.size();
  }
  std::vector<int32_t> tokens() {
    std::lock_guard lock(mu);
    std::vector<int32_t> t;
    for (const auto& e : events)
      if (e.token >= 0) t.push_back(e.token);
    return t;
  }
  TokenEvent last() {
    std::lock_guard lock(mu);
    return events.empty() ? TokenEvent{} : events.back();
  }
};

// A gate the worker waits at (inside an event callback) until the test opens it.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false, reached = false;
  void pass() {
    std::unique_lock lock(mu);
    reached = true;
    cv.notify_all();
    cv.wait(lock, [&] { return open; });
  }
  // False after a minute without the worker arriving (a failure, not a hang).
  [[nodiscard]] bool wait_reached() {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, 60s, [&] { return reached; });
  }
  void release() {
    std::lock_guard lock(mu);
    open = true;
    cv.notify_all();
  }
};

// Declared after a test's events, gates and hooks: on the way out, a failed assertion included,
// it opens the gate and stops the scheduler while what its callbacks touch is still alive.
struct StopFirst {
  Scheduler* s = nullptr;
  Gate* gate = nullptr;
  ~StopFirst() {
    if (gate) gate->release();
    if (s) s->shutdown(Scheduler::ShutdownMode::cancel);
  }
};

class SchedulerTest : public ::testing::Test {
 protected:
  test::TempDir dir;
  std::unique_ptr<model::Model> model;
  std::mt19937 rng{3};

  void SetUp() override {
    model::RandomModelSpec spec;  // vocabulary 512, 2 layers, context 256
    spec.dtype = DType::q8_0;
    const std::string path = dir.file("m.gguf");
    ASSERT_TRUE(model::write_random_model(spec, path).ok());
    auto m = model::Model::load(path);
    ASSERT_TRUE(m.ok()) << m.error().message();
    model = std::move(*m);
  }

  std::unique_ptr<Scheduler> make(SchedulerParams p) {
    if (p.n_ctx_per_seq == 0) p.n_ctx_per_seq = 128;
    if (p.n_threads == 0) p.n_threads = 2;
    auto s = Scheduler::create(*model, p);
    EXPECT_TRUE(s.ok()) << s.error().message();
    return s.ok() ? std::move(*s) : nullptr;
  }

  std::vector<int32_t> prompt(size_t n) {
    std::uniform_int_distribution<int32_t> d(3, 511);
    std::vector<int32_t> t(n);
    for (auto& x : t) x = d(rng);
    return t;
  }

  static GenerationRequest request(std::vector<int32_t> p, int32_t max_tokens, uint64_t seed = 1) {
    GenerationRequest r;
    r.prompt = std::move(p);
    r.max_tokens = max_tokens;
    r.sampler.seed = seed;
    r.sampler.temperature = 0.9f;
    r.sampler.top_k = 0;
    r.sampler.top_p = 1.0f;
    r.sampler.min_p = 0.0f;
    r.logprobs = true;
    return r;
  }
};

// The same seed gives the same tokens and log-probabilities whether a request runs alone or
// alongside others (here three, with prompts read in chunks while the others decode).
TEST_F(SchedulerTest, ConcurrentRequestsGenerateWhatEachGeneratesAlone) {
  const std::vector<GenerationRequest> reqs = {request(prompt(20), 16, 7), request(prompt(75), 12, 8),
                                               request(prompt(3), 20, 9)};
  std::vector<std::vector<TokenEvent>> alone;
  uint64_t alone_steps = 0;
  // Chunks of 64 (the f32 prompt-attention regime) and shorter ones (the f16 one-pass regime).
  for (const auto& r : reqs) {
    auto s = make({.n_slots = 3, .prefill_chunk = 64});
    ASSERT_TRUE(s);
    Events ev;
    StopFirst stop{s.get()};
    ASSERT_TRUE(s->submit(r, ev.fn()).ok());
    ASSERT_TRUE(ev.wait());
    alone.push_back(ev.events);
    alone_steps += s->metrics().steps;
  }
  auto s = make({.n_slots = 3, .prefill_chunk = 64});
  ASSERT_TRUE(s);
  std::vector<Events> ev(reqs.size());
  StopFirst stop{s.get()};
  for (size_t i = 0; i < reqs.size(); ++i) ASSERT_TRUE(s->submit(reqs[i], ev[i].fn()).ok());
  for (size_t i = 0; i < reqs.size(); ++i) {
    ASSERT_TRUE(ev[i].wait());
    ASSERT_EQ(ev[i].events.size(), alone[i].size()) << "request " << i;
    for (size_t k = 0; k < alone[i].size(); ++k) {
      EXPECT_EQ(ev[i].events[k].token, alone[i][k].token) << "request " << i << " token " << k;
      EXPECT_EQ(ev[i].events[k].logprob, alone[i][k].logprob) << "request " << i << " token " << k;
    }
    EXPECT_EQ(ev[i].last().finish, FinishReason::length);
    EXPECT_EQ(ev[i].last().n_generated, reqs[i].max_tokens);
  }
  // They did share passes.
  EXPECT_LT(s->metrics().steps, alone_steps);
}

// A cancelled request (its flag, or on_event returning false) frees its slot at once for the
// request waiting behind it; returning false means no further event.
TEST_F(SchedulerTest, CancellationFreesTheSlot) {
  auto s = make({.n_slots = 1});
  ASSERT_TRUE(s);
  auto flag = std::make_shared<std::atomic<bool>>(false);
  Events a, b, c;
  a.hook = [&](const TokenEvent& e) {
    if (e.n_generated == 3) flag->store(true);
    return true;
  };
  c.hook = [](const TokenEvent& e) { return e.n_generated < 2; };
  auto ra = request(prompt(5), 1000);
  ra.cancel = flag;
  StopFirst stop{s.get()};
  ASSERT_TRUE(s->submit(ra, a.fn()).ok());
  ASSERT_TRUE(s->submit(request(prompt(5), 4), b.fn()).ok());
  ASSERT_TRUE(s->submit(request(prompt(5), 1000), c.fn()).ok());
  ASSERT_TRUE(a.wait());
  ASSERT_TRUE(b.wait());
  ASSERT_TRUE(c.wait());
  EXPECT_EQ(a.last().finish, FinishReason::cancelled);
  EXPECT_EQ(a.last().token, -1);
  EXPECT_EQ(a.tokens().size(), 3u);
  EXPECT_EQ(b.last().finish, FinishReason::length);
  EXPECT_EQ(b.tokens().size(), 4u);
  std::this_thread::sleep_for(50ms);  // an event after the false would arrive now
  EXPECT_EQ(c.count(), 2u);
  EXPECT_EQ(c.last().finish, FinishReason::none);
  s->shutdown();
  const SchedulerMetrics m = s->metrics();
  EXPECT_EQ(m.finished_cancelled, 2u);
  EXPECT_EQ(m.finished_length, 1u);
  EXPECT_EQ(m.active_slots, 0);
}

// Beyond max_queue waiting requests, submit fails with resource_exhausted and queues nothing.
TEST_F(SchedulerTest, FullQueueRefusesWithResourceExhausted) {
  auto s = make({.n_slots = 1, .max_queue = 2});
  ASSERT_TRUE(s);
  Gate gate;
  Events a, b, c, d;
  a.hook = [&](const TokenEvent& e) {
    if (e.n_generated == 1) gate.pass();
    return true;
  };
  StopFirst stop{s.get(), &gate};
  ASSERT_TRUE(s->submit(request(prompt(4), 3), a.fn()).ok());
  ASSERT_TRUE(gate.wait_reached());  // a holds the only slot
  ASSERT_TRUE(s->submit(request(prompt(4), 3), b.fn()).ok());
  ASSERT_TRUE(s->submit(request(prompt(4), 3), c.fn()).ok());
  EXPECT_EQ(s->metrics().queue_depth, 2);
  auto refused = s->submit(request(prompt(4), 3), d.fn());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::resource_exhausted);
  EXPECT_NE(refused.error().message().find("queue is full"), std::string::npos) << refused.error().message();
  gate.release();
  for (Events* e : {&a, &b, &c}) {
    ASSERT_TRUE(e->wait());
    EXPECT_EQ(e->last().finish, FinishReason::length);
  }
  EXPECT_EQ(d.count(), 0u);
  const SchedulerMetrics m = s->metrics();
  EXPECT_EQ(m.submitted, 3u);
  EXPECT_EQ(m.rejected, 1u);
}

// A queued request whose flag is set leaves the queue at once, counted as cancelled, while the
// worker is still busy (held here inside the running request's event): metrics() no longer shows
// it waiting, and its place in a full queue is free for the next submit. Its final event follows
// when the worker is free.
TEST_F(SchedulerTest, CancelledWhileQueuedLeavesTheQueueAtOnce) {
  auto s = make({.n_slots = 1, .max_queue = 1});
  ASSERT_TRUE(s);
  Gate gate;
  Events a, b, c;
  a.hook = [&](const TokenEvent& e) {
    if (e.n_generated == 1) gate.pass();
    return true;
  };
  StopFirst stop{s.get(), &gate};
  ASSERT_TRUE(s->submit(request(prompt(4), 3), a.fn()).ok());
  ASSERT_TRUE(gate.wait_reached());  // the worker is held inside a's first event
  auto rb = request(prompt(4), 3);
  rb.cancel = std::make_shared<std::atomic<bool>>(false);
  ASSERT_TRUE(s->submit(rb, b.fn()).ok());
  EXPECT_EQ(s->metrics().queue_depth, 1);
  EXPECT_EQ(s->submit(request(prompt(4), 3), c.fn()).error().code(), ErrorCode::resource_exhausted);

  rb.cancel->store(true);
  SchedulerMetrics m = s->metrics();
  EXPECT_EQ(m.queue_depth, 0);
  EXPECT_EQ(m.finished_cancelled, 1u);
  EXPECT_EQ(b.count(), 0u);  // delivered by the worker, which is still held
  ASSERT_TRUE(s->submit(request(prompt(4), 3), c.fn()).ok());  // the place b held
  EXPECT_EQ(s->metrics().queue_depth, 1);

  gate.release();
  ASSERT_TRUE(a.wait());
  ASSERT_TRUE(b.wait());
  ASSERT_TRUE(c.wait());
  EXPECT_EQ(a.last().finish, FinishReason::length);
  ASSERT_EQ(b.count(), 1u);
  EXPECT_EQ(b.last().finish, FinishReason::cancelled);
  EXPECT_EQ(b.last().token, -1);
  EXPECT_EQ(c.last().finish, FinishReason::length);
  s->shutdown();
  m = s->metrics();
  EXPECT_EQ(m.finished_cancelled, 1u);  // b, counted once
  EXPECT_EQ(m.finished_length, 2u);
  EXPECT_EQ(m.submitted, 3u);
  EXPECT_EQ(m.rejected, 1u);
}

// A deadline ends a request with `timeout`: past before it starts, while it waits in the queue,
// and while it runs.
TEST_F(SchedulerTest, DeadlinesEndRequestsWithTimeout) {
  auto s = make({.n_slots = 1});
  ASSERT_TRUE(s);
  Events past;
  auto r = request(prompt(4), 5);
  r.deadline = std::chrono::steady_clock::now();
  StopFirst stop{s.get()};
  ASSERT_TRUE(s->submit(r, past.fn()).ok());
  ASSERT_TRUE(past.wait());
  EXPECT_EQ(past.last().finish, FinishReason::timeout);
  EXPECT_TRUE(past.tokens().empty());

  Gate gate;
  Events running, queued;
  running.hook = [&](const TokenEvent& e) {
    if (e.n_generated == 2) gate.pass();
    return true;
  };
  auto rr = request(prompt(4), 1000);
  rr.deadline = std::chrono::steady_clock::now() + 2s;  // ample for two tokens
  StopFirst open{nullptr, &gate};
  ASSERT_TRUE(s->submit(rr, running.fn()).ok());
  ASSERT_TRUE(gate.wait_reached());
  auto rq = request(prompt(4), 5);
  rq.deadline = std::chrono::steady_clock::now() + 100ms;
  ASSERT_TRUE(s->submit(rq, queued.fn()).ok());
  std::this_thread::sleep_until(*rr.deadline + 50ms);  // both deadlines pass while the worker is held
  gate.release();
  ASSERT_TRUE(running.wait());
  ASSERT_TRUE(queued.wait());
  EXPECT_EQ(running.last().finish, FinishReason::timeout);
  EXPECT_EQ(running.tokens().size(), 2u);
  EXPECT_EQ(queued.last().finish, FinishReason::timeout);
  EXPECT_TRUE(queued.tokens().empty());
  EXPECT_EQ(s->metrics().finished_timeout, 3u);
}

// shutdown(finish) runs what was accepted to its end and refuses new requests; shutdown(cancel)
// ends running and queued requests with `cancelled`.
TEST_F(SchedulerTest, Shutdown) {
  {
    auto s = make({.n_slots = 2});
    ASSERT_TRUE(s);
    std::vector<Events> ev(4);
    StopFirst stop{s.get()};
    for (auto& e : ev) ASSERT_TRUE(s->submit(request(prompt(6), 5), e.fn()).ok());
    s->shutdown(Scheduler::ShutdownMode::finish);
    for (auto& e : ev) {
      EXPECT_TRUE(e.done);  // final event delivered before shutdown returned
      EXPECT_EQ(e.last().finish, FinishReason::length);
      EXPECT_EQ(e.tokens().size(), 5u);
    }
    Events late;
    auto r = s->submit(request(prompt(6), 5), late.fn());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::resource_exhausted);
    EXPECT_NE(r.error().message().find("shutting down"), std::string::npos);
    s->shutdown();  // again: returns at once
  }
  {
    auto s = make({.n_slots = 1});
    ASSERT_TRUE(s);
    Gate gate;
    Events running, queued;
    running.hook = [&](const TokenEvent& e) {
      if (e.n_generated == 1) gate.pass();
      return true;
    };
    StopFirst stop{s.get(), &gate};
    ASSERT_TRUE(s->submit(request(prompt(6), 1000), running.fn()).ok());
    ASSERT_TRUE(gate.wait_reached());
    ASSERT_TRUE(s->submit(request(prompt(6), 1000), queued.fn()).ok());
    // Whether the flag is seen before or after the worker leaves the gate, both end cancelled:
    // the running one holds the only slot until then.
    std::thread stopper([&] { s->shutdown(Scheduler::ShutdownMode::cancel); });
    std::this_thread::sleep_for(50ms);
    gate.release();
    stopper.join();
    EXPECT_TRUE(running.done);
    EXPECT_TRUE(queued.done);
    EXPECT_EQ(running.last().finish, FinishReason::cancelled);
    EXPECT_EQ(queued.last().finish, FinishReason::cancelled);
    EXPECT_TRUE(queued.tokens().empty());
  }
  {
    // From an event callback (the worker itself) shutdown returns at once; the request runs on.
    auto s = make({.n_slots = 1});
    ASSERT_TRUE(s);
    Events ev;
    ev.hook = [&](const TokenEvent& e) {
      if (e.n_generated == 2) s->shutdown(Scheduler::ShutdownMode::finish);
      return true;
    };
    StopFirst stop{s.get()};
    ASSERT_TRUE(s->submit(request(prompt(6), 5), ev.fn()).ok());
    ASSERT_TRUE(ev.wait());
    EXPECT_EQ(ev.last().finish, FinishReason::length);
    EXPECT_EQ(ev.tokens().size(), 5u);
    Events late;
    EXPECT_FALSE(s->submit(request(prompt(6), 5), late.fn()).ok());
    s->shutdown();
  }
}

// Seven requests on two slots: the rest wait in the queue, and every one completes in full.
TEST_F(SchedulerTest, MoreRequestsThanSlotsQueueAndComplete) {
  auto s = make({.n_slots = 2, .prefill_chunk = 16});
  ASSERT_TRUE(s);
  std::vector<Events> ev(7);
  size_t prompt_tokens = 0;
  StopFirst stop{s.get()};
  for (size_t i = 0; i < ev.size(); ++i) {
    auto p = prompt(3 + 7 * i);
    prompt_tokens += p.size();
    ASSERT_TRUE(s->submit(request(std::move(p), 6, i), ev[i].fn()).ok());
  }
  for (auto& e : ev) {
    ASSERT_TRUE(e.wait());
    EXPECT_EQ(e.last().finish, FinishReason::length);
    EXPECT_EQ(e.tokens().size(), 6u);
  }
  s->shutdown();
  const SchedulerMetrics m = s->metrics();
  EXPECT_EQ(m.submitted, 7u);
  EXPECT_EQ(m.finished_length, 7u);
  EXPECT_EQ(m.generated_tokens, 42u);
  EXPECT_EQ(m.prompt_tokens, prompt_tokens);
  EXPECT_EQ(m.queue_depth, 0);
  EXPECT_EQ(m.active_slots, 0);
  EXPECT_EQ(m.n_slots, 2);
  const LatencySamples l = s->take_samples();
  EXPECT_EQ(l.time_to_first_token.size(), 7u);
  EXPECT_EQ(l.per_token.size(), 7u * 5);
  for (double t : l.time_to_first_token) EXPECT_GE(t, 0.0);
  EXPECT_TRUE(s->take_samples().time_to_first_token.empty());
}

// A long prompt is read a chunk per step while the running request keeps decoding: submitted
// from the running request's callback (on the worker), a 100-token prompt read in chunks of 16
// takes 7 steps, and each of them gives the running request a token.
TEST_F(SchedulerTest, ChunkedPrefillDoesNotStallRunningRequests) {
  auto s = make({.n_slots = 2, .prefill_chunk = 16});
  ASSERT_TRUE(s);
  Events a, b;
  std::atomic<int64_t> a_tokens{0}, a_at_b_first{-1}, a_at_b_submit{-1};
  a.hook = [&](const TokenEvent& e) {
    a_tokens = e.n_generated;
    if (e.n_generated == 2) {
      EXPECT_TRUE(s->submit(request(prompt(100), 3), b.fn()).ok());
      a_at_b_submit = e.n_generated;
    }
    return true;
  };
  b.hook = [&](const TokenEvent& e) {
    if (e.n_generated == 1) a_at_b_first = a_tokens.load();
    return true;
  };
  StopFirst stop{s.get()};
  ASSERT_TRUE(s->submit(request(prompt(5), 30), a.fn()).ok());
  ASSERT_TRUE(a.wait());
  ASSERT_TRUE(b.wait());
  EXPECT_EQ(a_at_b_submit.load(), 2);
  // Steps 3..9 of a read b's chunks; b's first token comes with a's ninth.
  EXPECT_EQ(a_at_b_first.load(), 9);
  EXPECT_EQ(b.last().n_generated, 3);
}

// Submissions, cancellations and metrics from several threads at once: every accepted request
// gets exactly one final event, and the counters add up.
TEST_F(SchedulerTest, ManyThreadsSubmitAndCancel) {
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 24; ++i) prompts.push_back(prompt(2 + i % 9));
  std::vector<Events> ev(prompts.size());
  std::vector<std::shared_ptr<std::atomic<bool>>> flags(prompts.size());
  for (auto& f : flags) f = std::make_shared<std::atomic<bool>>(false);
  auto s = make({.n_slots = 3, .prefill_chunk = 4, .max_queue = 64});
  ASSERT_TRUE(s);
  StopFirst stop{s.get()};
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (size_t i = static_cast<size_t>(t); i < prompts.size(); i += 4) {
        auto r = request(prompts[i], 3 + static_cast<int32_t>(i % 5), i);
        r.cancel = flags[i];
        if (s->submit(r, ev[i].fn()).ok()) ++accepted;
        if (i % 3 == 0) flags[i]->store(true);  // cancelled queued, running or never started
        (void)s->metrics();
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted.load(), static_cast<int>(prompts.size()));
  for (auto& e : ev) {
    ASSERT_TRUE(e.wait());
    size_t finals = 0;
    for (const auto& x : e.events) finals += x.finish != FinishReason::none ? 1 : 0;
    EXPECT_EQ(finals, 1u);
  }
  s->shutdown();
  const SchedulerMetrics m = s->metrics();
  EXPECT_EQ(m.submitted, prompts.size());
  EXPECT_EQ(m.finished_stop + m.finished_length + m.finished_cancelled + m.finished_timeout + m.finished_error,
            prompts.size());
  EXPECT_GE(m.finished_cancelled, 1u);
  EXPECT_EQ(m.active_slots, 0);
}

// A prompt sharing a prefix with what a free slot holds goes to that slot and evaluates only the
// rest; the same prompt again evaluates only its last token.
TEST_F(SchedulerTest, PrefixReuse) {
  auto s = make({.n_slots = 2});
  ASSERT_TRUE(s);
  const auto system = prompt(30);
  auto first = system;
  for (int32_t t : prompt(10)) first.push_back(t);
  auto second = system;
  for (int32_t t : prompt(5)) second.push_back(t);
  Events a;
  StopFirst stop{s.get()};
  ASSERT_TRUE(s->submit(request(first, 4), a.fn()).ok());
  ASSERT_TRUE(a.wait());
  EXPECT_EQ(a.last().n_cached, 0);
  Events b;
  ASSERT_TRUE(s->submit(request(second, 4), b.fn()).ok());
  ASSERT_TRUE(b.wait());
  EXPECT_EQ(b.last().n_cached, 30);
  EXPECT_EQ(b.last().n_prompt, 35);
  Events c;
  ASSERT_TRUE(s->submit(request(second, 4), c.fn()).ok());
  ASSERT_TRUE(c.wait());
  EXPECT_EQ(c.last().n_cached, 34);
  s->shutdown();
  EXPECT_EQ(s->metrics().prompt_evaluated, 40u + 5u + 1u);
}

// Log-probabilities cost a pass over the vocabulary per token, so they are computed only when
// asked; asking or not changes none of the sampled tokens.
TEST_F(SchedulerTest, LogprobsOnlyWhenAskedAndTheTokensDoNotDependOnIt) {
  std::vector<std::vector<TokenEvent>> runs;
  const std::vector<int32_t> p = prompt(9);
  for (bool want : {true, false}) {
    auto s = make({.n_slots = 2});
    ASSERT_TRUE(s);
    auto r = request(p, 12, 5);
    r.logprobs = want;
    Events ev;
    StopFirst stop{s.get()};
    ASSERT_TRUE(s->submit(r, ev.fn()).ok());
    ASSERT_TRUE(ev.wait());
    runs.push_back(ev.events);
  }
  ASSERT_EQ(runs[0].size(), runs[1].size());
  double sum = 0.0;
  for (size_t k = 0; k < runs[0].size(); ++k) {
    EXPECT_EQ(runs[0][k].token, runs[1][k].token) << k;
    EXPECT_LE(runs[0][k].logprob, 0.0f) << k;
    sum += runs[0][k].logprob;
    EXPECT_EQ(runs[1][k].logprob, 0.0f) << k;
    EXPECT_TRUE(runs[1][k].top.empty()) << k;
  }
  EXPECT_LT(sum, -0.1);  // real log-probabilities of tokens drawn at temperature 0.9
}

// Log-probabilities are those of the softmax of a Context's logits for the same tokens.
TEST_F(SchedulerTest, LogprobsMatchTheModelsDistribution) {
  auto s = make({.n_slots = 2});
  ASSERT_TRUE(s);
  auto r = request(prompt(12), 3);
  r.n_logprobs = 5;
  Events ev;
  StopFirst stop{s.get()};
  ASSERT_TRUE(s->submit(r, ev.fn()).ok());
  ASSERT_TRUE(ev.wait());
  auto ctx = model::Context::create(*model, {.n_ctx = 128, .n_threads = 1});
  ASSERT_TRUE(ctx.ok());
  std::vector<int32_t> seen = r.prompt;
  for (const TokenEvent& e : ev.events) {
    auto l = (*ctx)->decode(seen);
    ASSERT_TRUE(l.ok());
    (*ctx)->truncate(0);
    double mx = -INFINITY, sum = 0;
    for (float x : *l) mx = std::max<double>(mx, x);
    for (float x : *l) sum += std::exp(x - mx);
    auto logp = [&](int32_t t) { return (*l)[static_cast<size_t>(t)] - mx - std::log(sum); };
    EXPECT_NEAR(e.logprob, logp(e.token), 1e-4);
    ASSERT_EQ(e.top.size(), 5u);
    std::vector<int32_t> order(l->size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
    std::stable_sort(order.begin(), order.end(),
                     [&](int32_t a, int32_t b) { return (*l)[static_cast<size_t>(a)] > (*l)[static_cast<size_t>(b)]; });
    for (size_t k = 0; k < 5; ++k) {
      EXPECT_EQ(e.top[k].token, order[k]) << k;
      EXPECT_NEAR(e.top[k].logprob, logp(order[k]), 1e-4);
    }
    seen.push_back(e.token);
  }
}

// The logits filter decides which tokens may be sampled; one that allows none ends the request
// with an error.
TEST_F(SchedulerTest, LogitsFilter) {
  auto s = make({.n_slots = 2});
  ASSERT_TRUE(s);
  auto r = request(prompt(5), 12);
  r.logits_filter = [](std::span<float> l) {
    for (size_t i = 0; i < l.size(); ++i)
      if (i < 40 || i > 42) l[i] = -INFINITY;
  };
  Events ev, none;
  StopFirst stop{s.get()};
  ASSERT_TRUE(s->submit(r, ev.fn()).ok());
  r.logits_filter = [](std::span<float> l) { std::fill(l.begin(), l.end(), -INFINITY); };
  ASSERT_TRUE(s->submit(r, none.fn()).ok());
  ASSERT_TRUE(ev.wait());
  ASSERT_TRUE(none.wait());
  for (int32_t t : ev.tokens()) EXPECT_TRUE(t >= 40 && t <= 42) << t;
  EXPECT_EQ(ev.tokens().size(), 12u);
  EXPECT_EQ(none.last().finish, FinishReason::error);
  EXPECT_EQ(none.last().error, "the logits filter allowed no token");
}

// An end-of-generation token ends the request with `stop` and is the final event's token.
TEST_F(SchedulerTest, EndOfGenerationStops) {
  auto s = make({.n_slots = 1, .eog_ids = {77}});
  ASSERT_TRUE(s);
  auto r = request(prompt(5), 50);
  int calls = 0;
  r.logits_filter = [&](std::span<float> l) {
    if (++calls == 4) std::fill(l.begin(), l.end(), -INFINITY), l[77] = 0.0f;
  };
  Events ev;
  StopFirst stop{s.get()};
  ASSERT_TRUE(s->submit(r, ev.fn()).ok());
  ASSERT_TRUE(ev.wait());
  EXPECT_EQ(ev.last().finish, FinishReason::stop);
  EXPECT_EQ(ev.last().token, 77);
  EXPECT_EQ(ev.last().n_generated, 4);
  EXPECT_EQ(finish_reason_name(FinishReason::stop), "stop");
}

// Requests the model cannot run are refused by submit, with nothing queued.
TEST_F(SchedulerTest, InvalidRequestsAreRefused) {
  auto s = make({.n_slots = 1, .n_ctx_per_seq = 32});
  ASSERT_TRUE(s);
  Events ev;
  auto expect_refused = [&](GenerationRequest r, const std::string& text) {
    auto res = s->submit(std::move(r), ev.fn());
    ASSERT_FALSE(res.ok()) << text;
    EXPECT_EQ(res.error().code(), ErrorCode::invalid_argument);
    EXPECT_NE(res.error().message().find(text), std::string::npos) << res.error().message();
  };
  expect_refused(request({}, 4), "the prompt is empty");
  expect_refused(request({5, 512}, 4), "prompt token 512 at index 1 is outside the vocabulary (0..511)");
  expect_refused(request(prompt(33), 4), "the prompt has 33 tokens; a slot holds 32");
  expect_refused(request(prompt(3), 0), "max_tokens must be at least 1");
  auto r = request(prompt(3), 4);
  r.n_logprobs = 21;
  expect_refused(r, "n_logprobs must be in 0..20");
  r.n_logprobs = 0;
  r.sampler.top_p = 0.0f;
  expect_refused(r, "top-p");
  EXPECT_FALSE(s->submit(EmbeddingRequest{.tokens = {1, 2}}, [](Result<std::vector<float>>) {}).ok());
  EXPECT_EQ(s->metrics().submitted, 0u);
  EXPECT_FALSE(Scheduler::create(*model, {.n_slots = 0}).ok());
  EXPECT_FALSE(Scheduler::create(*model, {.eog_ids = {512}}).ok());
}

// Embeddings computed in slots alongside generation equal a BatchContext's of the same tokens.
TEST_F(SchedulerTest, Embeddings) {
  auto s = make({.n_slots = 2, .prefill_chunk = 16, .embeddings = true});
  ASSERT_TRUE(s);
  const auto tokens = prompt(40);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Result<std::vector<float>>> got;
  auto on_done = [&](Result<std::vector<float>> e) {
    std::lock_guard lock(mu);
    got.push_back(std::move(e));
    cv.notify_all();
  };
  Events gen;
  StopFirst stop{s.get()};
  ASSERT_TRUE(s->submit(request(prompt(9), 20), gen.fn()).ok());
  ASSERT_TRUE(s->submit(EmbeddingRequest{.tokens = tokens}, on_done).ok());
  ASSERT_TRUE(s->submit(EmbeddingRequest{.tokens = tokens}, on_done).ok());  // the slot holds it whole
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 120s, [&] { return got.size() == 2; }));
  }
  ASSERT_TRUE(gen.wait());
  auto b = model::BatchContext::create(*model, {.n_seq = 1, .n_ctx_per_seq = 128, .n_threads = 2, .embeddings = true});
  ASSERT_TRUE(b.ok());
  std::vector<model::BatchItem> items;
  for (size_t i = 0; i < tokens.size(); i += 16)
    for (size_t j = i; j < std::min(tokens.size(), i + 16); ++j) items.push_back({tokens[j], 0, false});
  // Chunks of 16, as the scheduler reads them.
  for (size_t i = 0; i < tokens.size(); i += 16)
    ASSERT_TRUE((*b)->decode(std::span(items).subspan(i, std::min<size_t>(16, tokens.size() - i))).ok());
  auto want = (*b)->embedding(0);
  ASSERT_TRUE(want.ok());
  for (auto& g : got) {
    ASSERT_TRUE(g.ok()) << g.error().message();
    EXPECT_EQ(*g, *want);
  }
  EXPECT_EQ(s->metrics().embeddings, 2u);
}

}  // namespace
}  // namespace fragua::serve
