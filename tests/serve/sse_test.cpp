// SPDX-License-Identifier: Apache-2.0
// Server-sent events framing and the OpenAI chunk and response shapes.
#include "fragua/serve/sse.h"

#include <gtest/gtest.h>

#include "fragua/serve/response.h"

namespace fragua::serve {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

TEST(Sse, OneDataLinePerLine) {
  EXPECT_EQ(sse_event(std::string_view("{\"a\":1}")), "data: {\"a\":1}\n\n");
  // Each line of a payload is a data field of its own: the client joins them with "\n".
  EXPECT_EQ(sse_event(std::string_view("a\nb\r\nc\rd")), "data: a\ndata: b\ndata: c\ndata: d\n\n");
  EXPECT_EQ(sse_event(std::string_view("")), "data: \n\n");
  EXPECT_EQ(kSseDone, "data: [DONE]\n\n");
}

TEST(Sse, JsonIsOneLineAndValid) {
  ordered_json v;
  v["text"] = "dos\nlíneas \xC3";  // a newline inside a string is escaped; a cut character replaced
  const std::string ev = sse_json(v);
  ASSERT_EQ(ev.rfind("data: ", 0), 0u);
  ASSERT_EQ(ev.substr(ev.size() - 2), "\n\n");
  const std::string payload = ev.substr(6, ev.size() - 8);
  EXPECT_EQ(payload.find('\n'), std::string::npos);
  EXPECT_EQ(json::parse(payload)["text"], "dos\nlíneas \xEF\xBF\xBD");
}

TEST(Response, ChatChunkShapes) {
  const ResponseHeader h{"chatcmpl-1", 1700000000, "tiny"};
  ChunkDelta first;
  first.role = true;
  first.content = "";
  json c = json::parse(chat_chunk_json(h, first, /*with_usage=*/true).dump());
  EXPECT_EQ(c["object"], "chat.completion.chunk");
  EXPECT_EQ(c["id"], "chatcmpl-1");
  EXPECT_EQ(c["created"], 1700000000);
  EXPECT_EQ(c["choices"][0]["delta"]["role"], "assistant");
  EXPECT_EQ(c["choices"][0]["delta"]["content"], "");
  EXPECT_TRUE(c["choices"][0]["finish_reason"].is_null());
  EXPECT_TRUE(c.contains("usage") && c["usage"].is_null());

  ChunkDelta end;
  end.index = 1;
  end.finish_reason = "length";
  c = json::parse(chat_chunk_json(h, end, false).dump());
  EXPECT_EQ(c["choices"][0]["index"], 1);
  EXPECT_TRUE(c["choices"][0]["delta"].empty());
  EXPECT_EQ(c["choices"][0]["finish_reason"], "length");
  EXPECT_FALSE(c.contains("usage"));

  c = json::parse(usage_chunk_json(h, true, {7, 3, 2}).dump());
  EXPECT_TRUE(c["choices"].empty());
  EXPECT_EQ(c["usage"]["prompt_tokens"], 7);
  EXPECT_EQ(c["usage"]["completion_tokens"], 3);
  EXPECT_EQ(c["usage"]["total_tokens"], 10);
  EXPECT_EQ(c["usage"]["prompt_tokens_details"]["cached_tokens"], 2);
}

TEST(Response, LogprobShapes) {
  PositionLogprobs p;
  p.sampled = {"\xC3", -0.5f};  // half a character: "token" shows U+FFFD, "bytes" the truth
  p.top = {{"\xC3", -0.5f}, {"a", -1.25f}};
  json chat = json::parse(chat_logprobs_json({p}).dump());
  const json& e = chat["content"][0];
  EXPECT_EQ(e["token"], "\xEF\xBF\xBD");
  EXPECT_EQ(e["bytes"], json::array({0xC3}));
  EXPECT_FLOAT_EQ(e["logprob"].get<float>(), -0.5f);
  ASSERT_EQ(e["top_logprobs"].size(), 2u);
  EXPECT_EQ(e["top_logprobs"][1]["token"], "a");
  EXPECT_TRUE(chat["refusal"].is_null());

  PositionLogprobs q;
  q.sampled = {"bc", -2.0f};
  json comp = json::parse(completion_logprobs_json({p, q}, 10).dump());
  EXPECT_EQ(comp["tokens"], json::array({"\xEF\xBF\xBD", "bc"}));
  EXPECT_EQ(comp["text_offset"], json::array({10, 11}));
  EXPECT_FLOAT_EQ(comp["token_logprobs"][1].get<float>(), -2.0f);
  EXPECT_FLOAT_EQ(comp["top_logprobs"][0]["a"].get<float>(), -1.25f);
}

TEST(Response, Bodies) {
  const ResponseHeader h{"cmpl-2", 5, "tiny"};
  Choice c;
  c.index = 0;
  c.text = "hola";
  c.finish_reason = "stop";
  json chat = json::parse(chat_completion_json(h, {c}, {4, 2, 0}).dump());
  EXPECT_EQ(chat["object"], "chat.completion");
  EXPECT_EQ(chat["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(chat["choices"][0]["message"]["content"], "hola");
  EXPECT_EQ(chat["choices"][0]["finish_reason"], "stop");
  EXPECT_TRUE(chat["choices"][0]["logprobs"].is_null());
  EXPECT_EQ(chat["usage"]["total_tokens"], 6);
  json comp = json::parse(completion_json(h, {c}, {4, 2, 0}).dump());
  EXPECT_EQ(comp["object"], "text_completion");
  EXPECT_EQ(comp["choices"][0]["text"], "hola");
}

}  // namespace
}  // namespace fragua::serve
