// SPDX-License-Identifier: Apache-2.0
// What the generation endpoints need of constrained decoding (json_constraint.h) per choice: the
// scheduler's logits filter and the recogniser it shares with the choice's token events, and the
// split of a generated tool call into OpenAI's tool_calls parts as it streams.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "fragua/serve/json_constraint.h"
#include "fragua/serve/scheduler.h"

namespace fragua::serve {

// One choice's constraint. The filter and accept() both run on the scheduler's worker: the filter
// before each sampling, accept() from the token's event, which comes after it.
class ChoiceConstraint {
 public:
  ChoiceConstraint(std::shared_ptr<const CompiledSchema> schema, std::shared_ptr<const TokenTrie> trie);
  // Masks the logits (GenerationRequest::logits_filter). Once the document is closed only an
  // end-of-generation token is allowed.
  void filter(std::span<float> logits);
  // A sampled token's bytes (never rejected: the mask allowed it). True when the document is
  // complete and nothing can follow it: the generation ends there (finish_reason stop), without
  // waiting for an end-of-generation token.
  bool accept(std::string_view piece);

 private:
  JsonRecognizer rec_;
  TokenMasker masker_;
};

// A LogitsFilter that runs `c`'s filter (the filter and the event handler share `c`).
LogitsFilter constraint_filter(std::shared_ptr<ChoiceConstraint> c);

// The text of a constrained tool call, {"name": "<name>", "arguments": <arguments>} (name first:
// compile_tool_call_schema), cut into what OpenAI's stream sends: the name once it is complete,
// then the arguments' text in fragments. Never sends the wrapper's closing brace, nor a split
// UTF-8 character.
class ToolCallText {
 public:
  struct Part {
    std::optional<std::string> name;  // set once, in the first part
    std::string arguments;            // the next fragment of the arguments' text
  };
  // Adds generated text; returns what became final (empty when nothing did).
  Part push(std::string_view text);
  // End of the generation: the rest of the arguments.
  Part finish();
  const std::string& name() const { return name_; }
  // The whole arguments text sent so far (after finish(): all of it).
  const std::string& arguments() const { return sent_; }

 private:
  Part take(bool final);
  std::string text_, name_, sent_;
  size_t args_begin_ = std::string::npos;
  bool named_ = false;
};

// "call_" and 24 random hexadecimal digits, as OpenAI's ids look.
std::string new_tool_call_id();

}  // namespace fragua::serve
