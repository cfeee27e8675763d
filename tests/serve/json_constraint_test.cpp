// SPDX-License-Identifier: Apache-2.0
// The schema compiler and the byte-level recogniser (serve/json_constraint.h): for every keyword,
// valid documents are accepted byte by byte and complete only at their end, invalid ones are
// rejected at their first bad byte (and only there), unsupported keywords are refused by name;
// the token mask allows exactly the tokens whose bytes the recogniser accepts.
#include "fragua/serve/json_constraint.h"

#include <cmath>
#include <cstring>
#include <random>

#include <gtest/gtest.h>

#include "fragua/tokenize/tokenizer.h"

namespace fragua::serve {
namespace {

using nlohmann::json;

std::shared_ptr<const CompiledSchema> compile(const std::string& schema) {
  auto s = compile_json_schema(json::parse(schema));
  EXPECT_TRUE(s.ok()) << schema << ": " << s.error().to_string();
  return s.ok() ? *s : any_json_object_schema();
}

// Feeds `doc` byte by byte; returns the offset of the first rejected byte, or npos. Also checks
// that the document is complete at its end and not before (unless `complete_inside`).
size_t first_rejected(const std::shared_ptr<const CompiledSchema>& s, const std::string& doc) {
  JsonRecognizer r(s);
  for (size_t i = 0; i < doc.size(); ++i)
    if (!r.feed(static_cast<uint8_t>(doc[i]))) return i;
  return std::string::npos;
}

void expect_valid(const std::string& schema, const std::vector<std::string>& docs) {
  auto s = compile(schema);
  for (const auto& d : docs) {
    JsonRecognizer r(s);
    for (size_t i = 0; i < d.size(); ++i) {
      ASSERT_TRUE(r.feed(static_cast<uint8_t>(d[i]))) << schema << "\n" << d << "\nrejected at byte " << i;
      // A complete prefix is valid JSON of the schema's language only at the end (or for a
      // top-level number/literal that may go on).
      if (i + 1 < d.size() && r.is_complete()) {
        auto parsed = json::parse(d.substr(0, i + 1), nullptr, false);
        EXPECT_FALSE(parsed.is_discarded()) << d << ": complete after " << i + 1 << " bytes";
      }
    }
    EXPECT_TRUE(r.is_complete()) << schema << "\n" << d << ": not complete at its end";
  }
}

// Each invalid document is rejected at byte `at` (its first bad one).
void expect_rejected(const std::string& schema, const std::vector<std::pair<std::string, size_t>>& docs) {
  auto s = compile(schema);
  for (const auto& [d, at] : docs) EXPECT_EQ(first_rejected(s, d), at) << schema << "\n" << d;
}

// A prefix that is accepted but incomplete.
void expect_incomplete(const std::string& schema, const std::vector<std::string>& docs) {
  auto s = compile(schema);
  for (const auto& d : docs) {
    JsonRecognizer r(s);
    ASSERT_TRUE(r.feed(d)) << d;
    EXPECT_FALSE(r.is_complete()) << d;
  }
}

TEST(JsonConstraint, AnyObjectAcceptsJsonObjectsOnly) {
  auto s = any_json_object_schema();
  for (const std::string d :
       {"{}", "{\"a\":1}", " {\"a\": [1, 2.5e3, -0.1, true, false, null, {\"b\": \"x\\n\\u00e9\"}]}",
        "{\"k\": {\"k\": {\"k\": []}}}", "{\"\xC3\xB1\": \"\xE2\x82\xAC\xF0\x9F\x98\x80\"}"}) {
    JsonRecognizer r(s);
    EXPECT_TRUE(r.feed(d)) << d;
    EXPECT_TRUE(r.is_complete()) << d;
    EXPECT_FALSE(r.can_continue()) << d;
  }
  EXPECT_EQ(first_rejected(s, "[1]"), 0u);
  EXPECT_EQ(first_rejected(s, "\"a\""), 0u);
  EXPECT_EQ(first_rejected(s, "{\"a\":1} "), 7u);      // nothing after the value
  EXPECT_EQ(first_rejected(s, "{\"a\":01}"), 6u);      // leading zero
  EXPECT_EQ(first_rejected(s, "{\"a\":1,}"), 7u);      // trailing comma
  EXPECT_EQ(first_rejected(s, "{\"a\":tru}"), 8u);
  EXPECT_EQ(first_rejected(s, "{\"a\":\"\x01\"}"), 6u);  // control character in a string
  EXPECT_EQ(first_rejected(s, "{\"a\":\"\xC0\xAF\"}"), 6u);  // overlong UTF-8
  EXPECT_EQ(first_rejected(s, "{\"a\":\"\xED\xA0\x80\"}"), 7u);  // UTF-8 surrogate
  EXPECT_EQ(first_rejected(s, "{\"a\":\"\\x\"}"), 7u);
  EXPECT_EQ(first_rejected(s, "{\"a\":-}"), 6u);
  EXPECT_EQ(first_rejected(s, "{\"a\":1.}"), 7u);
  EXPECT_EQ(first_rejected(s, "{\"a\":1e}"), 7u);
  EXPECT_EQ(first_rejected(s, "{a:1}"), 1u);
}

TEST(JsonConstraint, StringEscapesAndSurrogates) {
  expect_valid(R"({"type": "string"})",
               {R"("")", R"("a\"b\\c\/d\be\ff\ng\rh\ti")", R"("\u0041\u00e9\uD83D\uDE00\uffff")",
                "\"\xC3\xA7\xE0\xA4\xA4\xF4\x8F\xBF\xBF\""});
  expect_rejected(R"({"type": "string"})", {{R"("\uDE00")", 4},      // a lone low surrogate
                                            {R"("\uD83Dx")", 7},     // a high one not followed by \u
                                            {R"("\uD83D\u0041")", 9},  // followed by a non-low one
                                            {R"("\u00G0")", 5},
                                            {"\"\xF5\"", 1},
                                            {"\"\xE0\x80\"", 2},
                                            {"\"\t\"", 1}});
  expect_incomplete(R"({"type": "string"})", {"\"abc", "\"\\", "\"\\u00", "\"\\uD83D", "\"\xE2\x82"});
}

TEST(JsonConstraint, StringLength) {
  expect_valid(R"({"type": "string", "minLength": 2, "maxLength": 3})",
               {R"("ab")", R"("abc")", "\"\xC3\xB1\xC3\xB1\"", R"("\uD83D\uDE00x")"});
  expect_rejected(R"({"type": "string", "minLength": 2, "maxLength": 3})",
                  {{R"("a")", 2}, {R"("abcd")", 4}, {R"("ab\n\n")", 5}});
}

TEST(JsonConstraint, Numbers) {
  expect_valid(R"({"type": "number"})", {"0", "-0", "12", "-3.25", "1e5", "1E+5", "2.5e-3", "0.0"});
  expect_rejected(R"({"type": "number"})",
                  {{"01", 1}, {"-", std::string::npos}, {"+1", 0}, {".5", 0}, {"1.e3", 2}, {"1e+", std::string::npos},
                   {"1e999", 4}, {"1234567890123456789", 18}});
  expect_valid(R"({"type": "integer"})", {"0", "-7", "123456789012345678"});
  expect_rejected(R"({"type": "integer"})", {{"1.5", 1}, {"1e3", 1}, {"-0.0", 2}});
  expect_incomplete(R"({"type": "number"})", {"-", "1.", "1e", "1e-"});
  JsonRecognizer r(compile(R"({"type": "integer"})"));
  ASSERT_TRUE(r.feed("12"));
  EXPECT_TRUE(r.is_complete());
  EXPECT_TRUE(r.can_continue());  // "123"
}

TEST(JsonConstraint, BooleanNullAndTypeLists) {
  expect_valid(R"({"type": "boolean"})", {"true", "false"});
  expect_rejected(R"({"type": "boolean"})", {{"null", 0}, {"tru ", 3}, {"falsy", 4}});
  expect_valid(R"({"type": "null"})", {"null"});
  expect_valid(R"({"type": ["string", "null"]})", {"null", R"("x")"});
  expect_rejected(R"({"type": ["string", "null"]})", {{"1", 0}, {"{}", 0}});
}

TEST(JsonConstraint, ObjectsPropertiesRequiredAdditional) {
  const std::string closed = R"({"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
      "nick": {"type": "string"}}, "required": ["name", "age"], "additionalProperties": false})";
  expect_valid(closed, {R"({"name": "Ana", "age": 30})", R"({"age":30,"name":"Ana","nick":"A"})",
                        "{\n  \"nick\": \"x\",\n  \"age\": -1,\n  \"name\": \"\"\n}"});
  expect_rejected(closed, {{R"({"name": "Ana"})", 14},                 // '}' before the required age
                           {R"({"name": "Ana", "name": "B"})", 18},    // a repeated key (no unwritten name starts "na")
                           {R"({"nam": 1})", 5},                       // an unknown key
                           {R"({"name": 1})", 9},                      // a wrong type
                           {R"({"name":"a","age":1,"nick":"n",)", 30},  // no key left: no comma
                           {R"({"other": 1})", 2}});
  expect_incomplete(closed, {R"({"name": "Ana")", R"({"name": "Ana", "age": 3)"});
  // additionalProperties: a schema for the others; true (the default): anything.
  const std::string typed = R"({"properties": {"a": {"type": "integer"}}, "additionalProperties": {"type": "boolean"}})";
  expect_valid(typed, {R"({"a": 1, "b": true, "ab": false})", "{}", R"({"b": true})"});
  expect_rejected(typed, {{R"({"b": 1})", 6}, {R"({"a": true})", 6}});
  expect_valid(R"({"type": "object"})", {R"({"x": [1, {"y": null}]})", "{}"});
  // A required property not among properties takes additionalProperties' schema.
  expect_valid(R"({"required": ["z"], "additionalProperties": {"type": "integer"}})", {R"({"z": 1})"});
  expect_rejected(R"({"required": ["z"], "additionalProperties": {"type": "integer"}})", {{"{}", 1}});
}

TEST(JsonConstraint, PropertyNamesNeedingEscapes) {
  const std::string s = R"({"properties": {"a\"b": {"type": "integer"}}, "required": ["a\"b"],
                           "additionalProperties": false})";
  expect_valid(s, {R"({"a\"b": 1})"});
  expect_rejected(s, {{R"({"a"b": 1})", 3}});
}

TEST(JsonConstraint, ArraysItemsMinMax) {
  const std::string s = R"({"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3})";
  expect_valid(s, {"[1]", "[1, 2, 3]", "[ 1 ,2 ]"});
  expect_rejected(s, {{"[]", 1}, {"[1,2,3,4]", 6}, {"[1,]", 3}, {"[\"a\"]", 1}, {"[1 2]", 3}});
  expect_valid(R"({"type": "array"})", {"[]", R"([1, "a", [], {}])"});
  expect_valid(R"({"type": "array", "maxItems": 0})", {"[]"});
  expect_rejected(R"({"type": "array", "maxItems": 0})", {{"[1", 1}});
}

TEST(JsonConstraint, EnumAndConst) {
  const std::string s = R"({"enum": ["red", "green", 1, 12, null, {"a": [1]}]})";
  expect_valid(s, {R"("red")", R"("green")", "1", "12", "null", R"({"a":[1]})"});
  expect_rejected(s, {{R"("blue")", 1}, {"13", 1}, {"2", 0}, {R"({"a": [1]})", 5}});
  JsonRecognizer r(compile(s));
  ASSERT_TRUE(r.feed("1"));
  EXPECT_TRUE(r.is_complete());  // 1, or the start of 12
  EXPECT_TRUE(r.can_continue());
  expect_valid(R"({"const": "x\u00e9"})", {"\"x\xC3\xA9\""});
  expect_valid(R"({"type": "string", "enum": ["a", 1]})", {R"("a")"});
  expect_rejected(R"({"type": "string", "enum": ["a", 1]})", {{"1", 0}});
  // Nested in an object: the key's value ends at the byte after the literal.
  expect_valid(R"({"properties": {"n": {"enum": [1, 12]}}, "additionalProperties": false})",
               {R"({"n": 1})", R"({"n":12 })"});
}

TEST(JsonConstraint, AnyOfOneOfFollowEveryAlternative) {
  const std::string s = R"({"anyOf": [
      {"type": "object", "properties": {"kind": {"const": "a"}, "x": {"type": "integer"}}, "required": ["kind", "x"],
       "additionalProperties": false},
      {"type": "object", "properties": {"kind": {"const": "b"}, "y": {"type": "string"}}, "required": ["kind", "y"],
       "additionalProperties": false},
      {"type": "integer"}]})";
  expect_valid(s, {R"({"kind": "a", "x": 1})", R"({"kind": "b", "y": "s"})", R"({"x": 5, "kind": "a"})", "7"});
  expect_rejected(s, {{R"({"kind": "a", "y": "s"})", 15}, {R"({"x": 1, "kind": "b"})", 18}, {"\"7\"", 0}});
  expect_valid(R"({"oneOf": [{"type": "string"}, {"type": "boolean"}]})", {"\"s\"", "true"});
}

TEST(JsonConstraint, RefToDefsAndRecursion) {
  const std::string s = R"({"$defs": {"node": {"type": "object", "properties": {"v": {"type": "integer"},
      "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}}, "required": ["v"], "additionalProperties": false}},
      "$ref": "#/$defs/node"})";
  expect_valid(s, {R"({"v": 1})", R"({"v": 1, "kids": [{"v": 2, "kids": []}, {"v": 3}]})"});
  expect_rejected(s, {{R"({"v": 1, "kids": [{}]})", 19}});
  expect_valid(R"({"definitions": {"p": {"type": "string"}}, "properties": {"a": {"$ref": "#/definitions/p"}}})",
               {R"({"a": "x"})"});
  expect_valid(R"({"type": "array", "items": {"anyOf": [{"type": "integer"}, {"$ref": "#"}]}})", {"[1, [2, [3]], []]"});
}

TEST(JsonConstraint, WhitespaceIsBounded) {
  auto s = any_json_object_schema();
  const std::string ws(static_cast<size_t>(kMaxWhitespaceRun), ' ');
  JsonRecognizer r(s);
  ASSERT_TRUE(r.feed("{" + ws));
  EXPECT_FALSE(r.feed(' '));
  EXPECT_FALSE(r.feed('\n'));
  EXPECT_TRUE(r.feed("\"a\"" + ws + ":" + ws + "1" + ws + "}"));
  EXPECT_TRUE(r.is_complete());
  EXPECT_FALSE(r.feed(' '));  // nothing after the top-level value
}

TEST(JsonConstraint, NestingIsBounded) {
  auto s = any_json_object_schema();
  JsonRecognizer r(s);
  std::string deep = "{\"a\":" + std::string(static_cast<size_t>(kMaxJsonNesting) - 1, '[');
  ASSERT_TRUE(r.feed(deep));
  EXPECT_FALSE(r.feed('['));
  EXPECT_TRUE(r.feed(']'));
}

TEST(JsonConstraint, CopiesAreIndependent) {
  JsonRecognizer a(compile(R"({"type": "array", "items": {"type": "boolean"}})"));
  ASSERT_TRUE(a.feed("[true"));
  JsonRecognizer b = a;
  ASSERT_TRUE(b.feed("]"));
  EXPECT_TRUE(b.is_complete());
  EXPECT_FALSE(a.is_complete());
  EXPECT_TRUE(a.feed(",false]"));
  EXPECT_FALSE(a.feed("x"));  // a rejected multi-byte feed leaves the state unchanged
  EXPECT_TRUE(a.is_complete());
}

TEST(JsonConstraint, UnsupportedKeywordsAreRefusedByName) {
  for (const auto& [schema, keyword] : std::vector<std::pair<std::string, std::string>>{
           {R"({"type": "string", "pattern": "^a"})", "pattern"},
           {R"({"type": "integer", "minimum": 0})", "minimum"},
           {R"({"properties": {"a": {"type": "string", "format": "date"}}})", "format"},
           {R"({"allOf": [{"type": "string"}]})", "allOf"},
           {R"({"type": "array", "uniqueItems": true})", "uniqueItems"},
           {R"({"not": {}})", "not"},
           {R"({"patternProperties": {}})", "patternProperties"}}) {
    auto r = compile_json_schema(json::parse(schema), "response_format.json_schema.schema");
    ASSERT_FALSE(r.ok()) << schema;
    EXPECT_EQ(r.error().code(), ErrorCode::unsupported) << schema;
    EXPECT_NE(r.error().message().find("'" + keyword + "'"), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().message().find("response_format.json_schema.schema"), std::string::npos);
  }
  auto nested = compile_json_schema(json::parse(R"({"properties": {"a": {"type": "string", "pattern": "x"}}})"));
  ASSERT_FALSE(nested.ok());
  EXPECT_NE(nested.error().message().find("#/properties/a"), std::string::npos) << nested.error().message();
  auto ref = compile_json_schema(json::parse(R"({"$ref": "https://example.com/s.json"})"));
  ASSERT_FALSE(ref.ok());
  EXPECT_EQ(ref.error().code(), ErrorCode::unsupported);
}

TEST(JsonConstraint, UnsatisfiableAndMalformedSchemasAreErrors) {
  for (const std::string schema :
       {R"({"enum": []})", R"({"type": "array", "minItems": 3, "maxItems": 2})",
        R"({"properties": {}, "required": ["a"], "additionalProperties": false})", R"({"type": "integer", "enum": ["a"]})",
        R"({"type": "strin"})", R"({"$ref": "#/$defs/missing"})", R"({"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"})",
        R"({"anyOf": []})", R"({"type": "string", "maxLength": -1})", R"(false)", R"(3)"}) {
    auto r = compile_json_schema(json::parse(schema));
    EXPECT_FALSE(r.ok()) << schema;
  }
}

TEST(JsonConstraint, SchemaSizeIsBounded) {
  json s = {{"type", "integer"}};
  for (int i = 0; i < kMaxSchemaDepth + 2; ++i) s = {{"type", "array"}, {"items", s}};
  auto deep = compile_json_schema(s);
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.error().message().find("deeper"), std::string::npos);
  json props = json::object();
  for (int i = 0; i <= kMaxObjectProperties; ++i) props["p" + std::to_string(i)] = {{"type", "integer"}};
  EXPECT_FALSE(compile_json_schema({{"properties", props}}).ok());
}

TEST(JsonConstraint, ToolCallWrapperNameFirst) {
  std::vector<ToolSchema> tools = {
      {"get_weather", json::parse(R"({"type": "object", "properties": {"city": {"type": "string"}},
                                      "required": ["city"], "additionalProperties": false})")},
      {"add", json::parse(R"({"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                              "required": ["a", "b"]})")}};
  auto s = compile_tool_call_schema(tools);
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  for (const std::string d : {R"({"name": "get_weather", "arguments": {"city": "Bilbo"}})",
                              R"({"name":"add","arguments":{"b":2,"a":1.5}})"}) {
    JsonRecognizer r(*s);
    EXPECT_TRUE(r.feed(d)) << d;
    EXPECT_TRUE(r.is_complete()) << d;
  }
  EXPECT_EQ(first_rejected(*s, R"({"arguments": {}})"), 2u);                        // the name comes first
  // add's arguments allow other properties, but not closing without the required a and b.
  EXPECT_EQ(first_rejected(*s, R"({"name": "add", "arguments": {"city": "x"}})"), 41u);
  EXPECT_EQ(first_rejected(*s, R"({"name": "sub")"), 10u);
  std::vector<ToolSchema> bad = {{"f", json::parse(R"({"type": "object", "properties": {"d": {"format": "date"}}})")}};
  auto e = compile_tool_call_schema(bad);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message().find("tools at '#[0].function.parameters/properties/d'"), std::string::npos)
      << e.error().message();
}

// Random documents of a schema with random tokenization: the recogniser agrees with a parse.
TEST(JsonConstraint, RandomValidDocumentsAndCorruptions) {
  auto s = compile(R"({"type": "object", "properties": {"a": {"type": "array", "items": {"type": "number"}},
      "b": {"type": "string"}, "c": {"enum": [true, "x", 3]}}, "required": ["a"], "additionalProperties": false})");
  std::mt19937 rng(7);
  for (int iter = 0; iter < 200; ++iter) {
    json doc;
    json arr = json::array();
    const int n = static_cast<int>(rng() % 4);
    for (int i = 0; i < n; ++i) arr.push_back(static_cast<double>(static_cast<int>(rng() % 2000) - 1000) / 8.0);
    doc["a"] = arr;
    if (rng() % 2) doc["b"] = std::string("t\xC3\xA9\n\"") + std::to_string(rng() % 100);
    if (rng() % 2) doc["c"] = (rng() % 2) ? json(true) : json(3);
    const std::string text = doc.dump(rng() % 2 ? 2 : -1);
    EXPECT_EQ(first_rejected(s, text), std::string::npos) << text;
    // One byte replaced: the recogniser must not accept it whole unless it still parses and fits.
    std::string bad = text;
    const size_t at = rng() % bad.size();
    bad[at] = "{}[]\",:0a- x"[rng() % 12];
    JsonRecognizer r(s);
    const bool accepted = r.feed(bad) && r.is_complete();
    if (accepted) {
      auto parsed = json::parse(bad, nullptr, false);
      ASSERT_FALSE(parsed.is_discarded()) << "accepted invalid JSON: " << bad;
      EXPECT_TRUE(parsed.contains("a") && parsed["a"].is_array()) << bad;
    }
  }
}

// Random walks over bytes: from every accepted prefix some byte is accepted, or the document is
// complete (the mask can never leave a generation without a token).
TEST(JsonConstraint, NoAcceptedPrefixIsADeadEnd) {
  std::vector<std::shared_ptr<const CompiledSchema>> schemas = {any_json_object_schema()};
  for (const char* s :
       {R"({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"enum": ["x", "xy", 1, 12]}},
            "required": ["a"], "additionalProperties": false})",
        R"({"type": "array", "items": {"anyOf": [{"type": "string", "maxLength": 2}, {"type": "number"},
            {"type": "object", "properties": {"k": {"const": true}}, "additionalProperties": false}]}, "maxItems": 3})",
        R"({"type": "string", "minLength": 1, "maxLength": 2})"})
    schemas.push_back(compile(s));
  std::vector<ToolSchema> tools = {
      {"get_weather", json::parse(R"({"type": "object", "properties": {"city": {"type": "string"}},
                                      "required": ["city"], "additionalProperties": false})")},
      {"add", json::parse(R"({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                              "required": ["a", "b"], "additionalProperties": false})")}};
  schemas.push_back(*compile_tool_call_schema(tools));
  schemas.push_back(*compile_tool_call_schema(std::span(tools).subspan(1)));
  std::mt19937 rng(11);
  for (const auto& schema : schemas) {
    for (int walk = 0; walk < 30; ++walk) {
      JsonRecognizer r(schema);
      std::string text;
      for (int step = 0; step < 150; ++step) {
        std::vector<uint8_t> ok;
        for (int b = 0; b < 256; ++b) {
          JsonRecognizer probe = r;
          if (probe.feed(static_cast<uint8_t>(b))) ok.push_back(static_cast<uint8_t>(b));
        }
        if (ok.empty()) {
          ASSERT_TRUE(r.is_complete()) << "dead end after " << text;
          EXPECT_FALSE(r.can_continue()) << text;
          break;
        }
        // Prefer structure over long strings: a byte from a small set when it is allowed.
        std::vector<uint8_t> pref;
        for (uint8_t b : ok)
          if (std::strchr("{}[]\",:01-ex.tfn", b) && b != 0) pref.push_back(b);
        const auto& from = pref.empty() || rng() % 4 == 0 ? ok : pref;
        const uint8_t b = from[rng() % from.size()];
        ASSERT_TRUE(r.feed(b));
        text += static_cast<char>(b);
      }
    }
  }
}

tokenize::VocabSpec constraint_json_vocab() {
  tokenize::VocabSpec v;
  v.kind = tokenize::ModelKind::bpe;
  v.byte_encode = false;
  v.tokens = {"<eos>", "<ctl>"};
  v.types = {tokenize::TokenType::control, tokenize::TokenType::control};
  for (const char* t : {"{", "}", "[", "]", "\"", ":", ",", " ", "\n", "a", "b", "1", "2", ".", "-", "e", "t", "r", "u",
                        "f", "l", "s", "n", "{\"", "\":", "\"a\"", "\"a\":", "true", "false", "null", "12", "},",
                        "{}", "\\", "\\u", "00", "\"}", "  "}) {
    v.tokens.push_back(t);
    v.types.push_back(tokenize::TokenType::normal);
  }
  v.scores.assign(v.tokens.size(), 0.0f);
  v.eos_id = 0;
  return v;
}

TEST(JsonConstraint, TokenMaskAllowsExactlyTheAcceptedTokens) {
  auto tok = tokenize::Tokenizer::from_spec(constraint_json_vocab());
  ASSERT_TRUE(tok.ok()) << tok.error().to_string();
  const std::vector<int32_t> eog = {0};
  auto trie = TokenTrie::build(*tok, eog);
  TokenMasker masker(trie);
  auto schema = compile(R"({"type": "object", "properties": {"a": {"type": "array", "items": {"type": "integer"}},
      "b": {"type": "boolean"}}, "required": ["a"], "additionalProperties": false})");
  std::mt19937 rng(3);
  for (int run = 0; run < 20; ++run) {
    JsonRecognizer rec(schema);
    for (int step = 0; step < 40; ++step) {
      std::vector<float> logits(static_cast<size_t>(tok->n_vocab()), 1.0f);
      const size_t n = masker.apply(rec, logits);
      std::vector<int32_t> allowed;
      for (int32_t id = 0; id < tok->n_vocab(); ++id) {
        JsonRecognizer probe = rec;
        const std::string piece = tok->token_piece(id);
        bool ok = false;
        if (id == 0) ok = rec.is_complete();
        else if (tok->token_type(id) != tokenize::TokenType::control && !piece.empty()) ok = probe.feed(piece);
        EXPECT_EQ(std::isinf(logits[static_cast<size_t>(id)]), !ok) << "token '" << piece << "' at step " << step;
        if (ok) allowed.push_back(id);
      }
      ASSERT_EQ(n, allowed.size());
      ASSERT_FALSE(allowed.empty()) << "a dead end at step " << step;  // no accepted prefix is one
      const int32_t pick = allowed[rng() % allowed.size()];
      if (pick == 0) break;
      ASSERT_TRUE(rec.feed(tok->token_piece(pick)));
    }
  }
}

}  // namespace
}  // namespace fragua::serve
