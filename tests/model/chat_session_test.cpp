// SPDX-License-Identifier: Apache-2.0
// ChatSession against plain generation: a turn must produce what a fresh context given the whole
// rendered conversation produces (greedy), while evaluating only what the cache does not hold.
#include "fragua/model/chat_session.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "fragua/model/random_model.h"
#include "model/fixtures.h"
#include "byte_chatml_vocab.h"
#include "test_util.h"

namespace fragua::model {
namespace {

using tokenize::ChatMessage;

constexpr int32_t kImStart = 259, kImEnd = 260;

size_t common_prefix(std::span<const int32_t> a, std::span<const int32_t> b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

bool all_byte_tokens(std::span<const int32_t> ids) {
  return std::all_of(ids.begin(), ids.end(), [](int32_t id) { return id >= 3 && id < 3 + 256; });
}

class ChatSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RandomModelSpec spec = tiny_model_spec();
    spec.n_vocab = 261;  // the tokenizer's size: every sampled id has a piece
    spec.n_ctx = 256;
    spec.plain_init = true;
    ASSERT_TRUE(write_random_model(spec, model_path_).ok());
    auto tok = tokenize::Tokenizer::from_spec(fragua::test::byte_chatml_vocab());
    ASSERT_TRUE(tok.ok()) << tok.error().to_string();
    ASSERT_TRUE(tok->save_gguf(tok_path_).ok());
  }

  LoadedModel open(int64_t n_ctx) {
    OpenOptions o;
    o.tokenizer_path = tok_path_;
    o.context.n_ctx = n_ctx;
    o.context.n_threads = 1;
    auto m = open_model(model_path_, o);
    EXPECT_TRUE(m.ok()) << m.error().to_string();
    return std::move(*m);
  }

  static ChatParams params(std::string system = "Eres breve.") {
    ChatParams p;
    p.system = std::move(system);
    p.chat_template = "chatml";
    p.gen.max_tokens = 6;
    p.gen.sampler.temperature = 0;
    return p;
  }

  static std::vector<int32_t> render(const LoadedModel& m, std::span<const ChatMessage> messages,
                                     bool add_generation_prompt = true) {
    auto ids = tokenize::encode_chat(*m.tokenizer, "chatml", messages, add_generation_prompt);
    EXPECT_TRUE(ids.ok()) << ids.error().to_string();
    return ids.ok() ? *ids : std::vector<int32_t>{};
  }

  // What a context that has seen nothing generates for `prompt` with the session's settings.
  static GenerateResult fresh_reply(const LoadedModel& m, std::span<const int32_t> prompt, GenerateParams gen) {
    auto ctx = Context::create(*m.model, {.n_ctx = m.context->n_ctx(), .n_threads = 1});
    EXPECT_TRUE(ctx.ok());
    gen.eog_ids = m.eog_ids;
    const tokenize::Tokenizer* tok = m.tokenizer.get();
    auto r = generate(**ctx, prompt, gen, [tok](int32_t id) { return tok->token_piece(id); });
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    return r.ok() ? std::move(*r) : GenerateResult{};
  }

  // The cache after a turn with prompt `prompt` that generated `g`: the prompt and every generated
  // token but the last, which is evaluated only when end-of-generation was sampled after it.
  static size_t cached_after(size_t prompt, const GenerateResult& g) {
    return prompt + g.tokens.size() - (g.stop_reason == "eog" || g.tokens.empty() ? 0 : 1);
  }

  test::TempDir dir_;
  std::string model_path_ = dir_.file("model.gguf");
  std::string tok_path_ = dir_.file("tokenizer.gguf");
};

TEST_F(ChatSessionTest, SecondTurnEvaluatesOnlyTheNewTokens) {
  LoadedModel m = open(256);
  auto chat = ChatSession::create(m, params());
  ASSERT_TRUE(chat.ok()) << chat.error().to_string();
  auto t1 = chat->reply("hola");
  ASSERT_TRUE(t1.ok()) << t1.error().to_string();
  const std::vector<ChatMessage> first = {{"system", "Eres breve."}, {"user", "hola"}};
  const auto p1 = render(m, first);
  EXPECT_EQ(t1->usage.n_prompt, static_cast<int64_t>(p1.size()));
  EXPECT_EQ(t1->usage.n_reused, 0);
  EXPECT_EQ(t1->usage.n_evaluated, static_cast<int64_t>(p1.size()));
  EXPECT_EQ(t1->generation.tokens, fresh_reply(m, p1, params().gen).tokens);
  ASSERT_FALSE(t1->generation.tokens.empty());
  ASSERT_TRUE(all_byte_tokens(t1->generation.tokens)) << "the reply must re-encode to its own ids: pick another seed";

  auto t2 = chat->reply("qué tal");
  ASSERT_TRUE(t2.ok()) << t2.error().to_string();
  std::vector<ChatMessage> second = first;
  second.push_back({"assistant", t1->generation.text});
  second.push_back({"user", "qué tal"});
  const auto p2 = render(m, second);
  // The whole first prompt and the reply are reused; only the rest of the reply's closing markup
  // and the new message are evaluated.
  const size_t reused = cached_after(p1.size(), t1->generation);
  EXPECT_EQ(t2->usage.n_prompt, static_cast<int64_t>(p2.size()));
  EXPECT_EQ(t2->usage.n_reused, static_cast<int64_t>(reused));
  EXPECT_EQ(t2->usage.n_evaluated, static_cast<int64_t>(p2.size() - reused));
  EXPECT_EQ(t2->usage.n_dropped_turns, 0);
  EXPECT_EQ(chat->last_usage().n_reused, t2->usage.n_reused);
  const GenerateResult expect = fresh_reply(m, p2, params().gen);
  EXPECT_EQ(t2->generation.tokens, expect.tokens);
  EXPECT_EQ(t2->generation.text, expect.text);

  second.push_back({"assistant", t2->generation.text});
  ASSERT_EQ(chat->messages().size(), second.size());
  for (size_t i = 0; i < second.size(); ++i) {
    EXPECT_EQ(chat->messages()[i].role, second[i].role) << i;
    EXPECT_EQ(chat->messages()[i].content, second[i].content) << i;
  }
}

TEST_F(ChatSessionTest, FailedTurnLeavesTheConversationAsItWas) {
  LoadedModel m = open(256);
  auto chat = ChatSession::create(m, params());
  ASSERT_TRUE(chat.ok());
  ASSERT_TRUE(chat->reply("hola").ok());
  const std::vector<ChatMessage> before(chat->messages().begin(), chat->messages().end());
  ASSERT_EQ(before.size(), 3u);

  chat->generate_params().sampler.top_p = 0;  // refused by the sampler once the prompt is rendered
  auto bad = chat->reply("qué tal");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("top-p"), std::string::npos) << bad.error().to_string();
  ASSERT_EQ(chat->messages().size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) EXPECT_EQ(chat->messages()[i].content, before[i].content) << i;

  // The next turn goes on from the same conversation and still finds its prefix in the cache.
  chat->generate_params().sampler.top_p = 1;
  auto t = chat->reply("qué tal");
  ASSERT_TRUE(t.ok()) << t.error().to_string();
  std::vector<ChatMessage> expect_msgs = before;
  expect_msgs.push_back({"user", "qué tal"});
  const auto prompt = render(m, expect_msgs);
  EXPECT_GE(t->usage.n_reused, static_cast<int64_t>(render(m, std::span(before).first(2)).size()));
  EXPECT_EQ(t->generation.tokens, fresh_reply(m, prompt, params().gen).tokens);
}

TEST_F(ChatSessionTest, ResetKeepsTheSystemMessage) {
  LoadedModel m = open(256);
  auto chat = ChatSession::create(m, params());
  ASSERT_TRUE(chat.ok());
  auto first = chat->reply("hola");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(chat->reply("qué tal").ok());
  chat->reset();
  ASSERT_EQ(chat->messages().size(), 1u);
  EXPECT_EQ(chat->messages()[0].role, "system");
  EXPECT_EQ(chat->messages()[0].content, "Eres breve.");

  // The same first message gets the same (greedy) reply, with the system message's tokens reused.
  auto again = chat->reply("hola");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->generation.tokens, first->generation.tokens);
  const std::vector<ChatMessage> system = {{"system", "Eres breve."}};
  EXPECT_GE(again->usage.n_reused, static_cast<int64_t>(render(m, system, false).size()));
  EXPECT_EQ(chat->messages().size(), 3u);

  // Without a system message, reset empties the conversation.
  auto bare = ChatSession::create(m, params(""));
  ASSERT_TRUE(bare.ok());
  ASSERT_TRUE(bare->reply("hola").ok());
  EXPECT_EQ(bare->messages().size(), 2u);
  bare->reset();
  EXPECT_TRUE(bare->messages().empty());
  EXPECT_FALSE(bare->respond().ok());  // nothing to reply to
}

TEST_F(ChatSessionTest, MessageListThatExtendsThePreviousOneReusesTheCache) {
  LoadedModel m = open(256);
  auto chat = ChatSession::create(m, params(""));
  ASSERT_TRUE(chat.ok());
  // Two stateless requests, as the server's chat endpoint receives them.
  std::vector<ChatMessage> request = {{"system", "Eres breve."}, {"user", "hola"}};
  chat->set_messages(request);
  auto r1 = chat->respond();
  ASSERT_TRUE(r1.ok()) << r1.error().to_string();
  const auto p1 = render(m, request);
  EXPECT_EQ(r1->usage.n_reused, 0);
  ASSERT_TRUE(all_byte_tokens(r1->generation.tokens)) << "pick another seed";

  request.push_back({"assistant", r1->generation.text});
  request.push_back({"user", "¿y tú?"});
  chat->set_messages(request);
  auto r2 = chat->respond();
  ASSERT_TRUE(r2.ok()) << r2.error().to_string();
  const auto p2 = render(m, request);
  EXPECT_EQ(r2->usage.n_reused, static_cast<int64_t>(cached_after(p1.size(), r1->generation)));
  EXPECT_EQ(r2->usage.n_evaluated, static_cast<int64_t>(p2.size()) - r2->usage.n_reused);
  EXPECT_EQ(r2->generation.tokens, fresh_reply(m, p2, params().gen).tokens);
  EXPECT_EQ(chat->messages().size(), request.size() + 1);
  EXPECT_EQ(chat->messages().back().role, "assistant");
}

TEST_F(ChatSessionTest, MessageListThatDivergesIsEvaluatedFromTheDivergence) {
  LoadedModel m = open(256);
  auto chat = ChatSession::create(m, params(""));
  ASSERT_TRUE(chat.ok());
  std::vector<ChatMessage> request = {
      {"system", "Eres breve."}, {"user", "hola"}, {"assistant", "¡Hola!"}, {"user", "¿qué tal?"}};
  chat->set_messages(request);
  ASSERT_TRUE(chat->respond().ok());
  const auto before = render(m, request);

  request[1].content = "hoja";  // an edited earlier message: the cache is good up to "ho"
  chat->set_messages(request);
  auto r = chat->respond();
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  const auto after = render(m, request);
  const std::vector<ChatMessage> up_to_ho = {{"system", "Eres breve."}, {"user", "ho"}};
  // The prefix up to the edit, counted on the rendered prompts: <s>, the system turn, then
  // "<|im_start|>user\nho" (the markup around "ho" closes the turn there, so drop those 2 tokens).
  const size_t divergence = render(m, up_to_ho, false).size() - 2;
  ASSERT_EQ(common_prefix(before, after), divergence);
  EXPECT_EQ(r->usage.n_reused, static_cast<int64_t>(divergence));
  EXPECT_EQ(r->usage.n_evaluated, static_cast<int64_t>(after.size() - divergence));
  EXPECT_EQ(r->generation.tokens, fresh_reply(m, after, params().gen).tokens);
}

TEST_F(ChatSessionTest, OldestTurnsAreDroppedWhenTheContextIsFull) {
  constexpr int64_t kCtx = 96, kReserve = 8;
  LoadedModel m = open(kCtx);
  ChatParams p = params("S");
  p.reserve = kReserve;
  auto chat = ChatSession::create(m, p);
  ASSERT_TRUE(chat.ok());
  std::vector<ChatMessage> all = {{"system", "S"}};  // every message ever sent or received
  int64_t dropped = 0;
  for (int i = 0; i < 8; ++i) {
    const std::string text = fmt::format("turno {}", i);
    const size_t shown_before = chat->messages().size();
    auto t = chat->reply(text);
    ASSERT_TRUE(t.ok()) << i << ": " << t.error().to_string();
    all.push_back({"user", text});
    all.push_back({"assistant", t->generation.text});
    dropped += t->usage.n_dropped_turns;
    const auto msgs = chat->messages();
    // The system message, then the most recent whole turns, the new one last.
    ASSERT_GE(msgs.size(), 3u);
    EXPECT_EQ(msgs[0].content, "S");
    EXPECT_EQ(msgs.size(), shown_before + 2 - 2 * static_cast<size_t>(t->usage.n_dropped_turns)) << i;
    for (size_t k = 1; k < msgs.size(); ++k) EXPECT_EQ(msgs[k].content, all[all.size() - msgs.size() + k].content);
    EXPECT_LE(t->usage.n_prompt + kReserve, kCtx) << i;
    if (t->usage.n_dropped_turns > 0) {
      // Only as many turns as needed: with the last dropped turn kept, it would not have fit.
      std::vector<ChatMessage> one_more(msgs.begin(), msgs.end() - 1);
      const auto first_kept = static_cast<std::ptrdiff_t>(all.size() - msgs.size() + 1);  // msgs[1] in `all`
      one_more.insert(one_more.begin() + 1, all.begin() + first_kept - 2, all.begin() + first_kept);
      EXPECT_GT(static_cast<int64_t>(render(m, one_more).size()) + kReserve, kCtx) << i;
      EXPECT_EQ(t->generation.tokens,
                fresh_reply(m, render(m, std::span(msgs).first(msgs.size() - 1)), params().gen).tokens)
          << i;
    }
  }
  EXPECT_GE(dropped, 2);
}

TEST_F(ChatSessionTest, MessageThatCannotFitIsAClearError) {
  LoadedModel m = open(64);
  auto chat = ChatSession::create(m, params());
  ASSERT_TRUE(chat.ok());
  ASSERT_TRUE(chat->reply("hola").ok());
  auto r = chat->reply(std::string(80, 'x'));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::resource_exhausted);
  EXPECT_NE(r.error().message().find("does not fit the context: "), std::string::npos) << r.error().to_string();
  EXPECT_NE(r.error().message().find(" tokens for the system message and the last message and 6 kept for the reply "
                                     "exceed the context size 64"),
            std::string::npos)
      << r.error().to_string();
  ASSERT_EQ(chat->messages().size(), 3u);  // the earlier turn is kept: nothing was dropped
  EXPECT_EQ(chat->messages()[1].content, "hola");
  EXPECT_TRUE(chat->reply("adiós").ok());
}

// A model with recurrent layers (granitehybrid: its Mamba-2 state cannot be rolled back) reuses
// the cache when the conversation extends all of it, as every chat turn does, and evaluates a
// request that departs from it inside the cache from the start; replies are those of a fresh
// context either way.
TEST_F(ChatSessionTest, RecurrentModelReusesOnlyTheWholeCache) {
  RandomModelSpec spec = tiny_model_spec();
  spec.arch = "granitehybrid";
  spec.n_layer = 2;  // a Mamba-2 layer, then attention
  spec.n_vocab = 261;
  spec.n_ctx = 256;
  spec.plain_init = true;
  ASSERT_TRUE(write_random_model(spec, model_path_).ok());
  LoadedModel m = open(256);
  auto chat = ChatSession::create(m, params());
  ASSERT_TRUE(chat.ok()) << chat.error().to_string();
  auto t1 = chat->reply("hola");
  ASSERT_TRUE(t1.ok()) << t1.error().to_string();
  const std::vector<ChatMessage> first = {{"system", "Eres breve."}, {"user", "hola"}};
  const auto p1 = render(m, first);
  EXPECT_EQ(t1->generation.tokens, fresh_reply(m, p1, params().gen).tokens);
  ASSERT_TRUE(all_byte_tokens(t1->generation.tokens)) << "the reply must re-encode to its own ids: pick another seed";

  auto t2 = chat->reply("qué tal");
  ASSERT_TRUE(t2.ok()) << t2.error().to_string();
  std::vector<ChatMessage> second = first;
  second.push_back({"assistant", t1->generation.text});
  second.push_back({"user", "qué tal"});
  const auto p2 = render(m, second);
  EXPECT_EQ(t2->usage.n_reused, static_cast<int64_t>(cached_after(p1.size(), t1->generation)));
  EXPECT_EQ(t2->generation.tokens, fresh_reply(m, p2, params().gen).tokens);

  // Shares the system message with the cache but departs inside it: nothing is reused.
  const std::vector<ChatMessage> other = {{"system", "Eres breve."}, {"user", "adiós"}};
  chat->set_messages(other);
  auto t3 = chat->respond();
  ASSERT_TRUE(t3.ok()) << t3.error().to_string();
  EXPECT_EQ(t3->usage.n_reused, 0);
  EXPECT_EQ(t3->generation.tokens, fresh_reply(m, render(m, other), params().gen).tokens);
}

TEST_F(ChatSessionTest, TemplateIsCheckedWhenTheSessionIsCreated) {
  LoadedModel m = open(64);
  ChatParams p = params();
  p.chat_template = "{{ weird }}";
  EXPECT_FALSE(ChatSession::create(m, p).ok());
  p.chat_template.clear();  // the tokenizer has none either
  auto none = ChatSession::create(m, p);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message().find(model_path_ + " has no chat template"), std::string::npos)
      << none.error().to_string();
  p.chat_template = "llama3";
  auto named = ChatSession::create(m, p);
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->chat_template(), "llama3");
  // The tokenizer's end-of-generation ids stop the reply.
  EXPECT_NE(std::find(named->generate_params().eog_ids.begin(), named->generate_params().eog_ids.end(), kImEnd),
            named->generate_params().eog_ids.end());
  EXPECT_EQ(std::find(named->generate_params().eog_ids.begin(), named->generate_params().eog_ids.end(), kImStart),
            named->generate_params().eog_ids.end());
}

}  // namespace
}  // namespace fragua::model
