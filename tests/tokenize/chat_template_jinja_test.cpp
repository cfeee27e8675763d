// SPDX-License-Identifier: Apache-2.0
// The built-in chat formats written as Jinja (chat_template_as_jinja) for files other tools read:
// each renders the same text as the built-in, with every control marker in the template's
// markup; a tokenizer GGUF carries the Jinja text, and follows llama.cpp's vocab-only layout.
#include <regex>

#include "fixtures.h"
#include "fragua/format/gguf.h"
#include "fragua/tokenize/tokenizer.h"
#include "test_util.h"
#include "tokenize/chat_template.h"

namespace fragua::tokenize {
namespace {

// Byte i of the prompt came from the template's markup (where control tokens are parsed).
std::vector<bool> markup_mask(const ChatPrompt& p) {
  std::vector<bool> mask;
  for (const auto& part : p.parts) mask.insert(mask.end(), part.size, part.parse_special);
  return mask;
}

TEST(ChatTemplateJinja, EachBuiltInRendersAsItsJinja) {
  const std::vector<std::vector<ChatMessage>> chats = {
      {{"user", "Kaixo"}},
      {{"system", "Ets un assistent."}, {"user", "Hola!"}, {"assistant", "Bon dia."}, {"user", "Com estàs?"}},
      {{"user", "a\nb"}, {"assistant", "c"}, {"user", "<|im_start|> [INST] typed"}},
  };
  const std::regex marker(R"(<\|[a-z_]+\|>|</?s>|\[/?INST\]|<</?SYS>>)");
  for (const char* name : {"chatml", "llama3", "granite", "phi3", "llama2"}) {
    auto jinja = chat_template_as_jinja(name);
    ASSERT_TRUE(jinja.ok()) << name << ": " << jinja.error().to_string();
    EXPECT_EQ(*detect_chat_template(*jinja), "jinja") << name;
    for (const auto& chat : chats)
      for (bool gen : {true, false}) {
        auto builtin = render_chat(name, chat, gen);
        auto from_jinja = render_chat(*jinja, chat, gen);
        ASSERT_TRUE(builtin.ok() && from_jinja.ok()) << name;
        ASSERT_EQ(from_jinja->text, builtin->text) << name << " gen=" << gen;
        // A marker the built-in writes as markup is markup in the Jinja rendering too (and one
        // typed in a message is content in both).
        const auto a = markup_mask(*builtin), b = markup_mask(*from_jinja);
        const std::string& t = builtin->text;
        int markers = 0;
        for (auto it = std::sregex_iterator(t.begin(), t.end(), marker); it != std::sregex_iterator(); ++it) {
          const size_t at = static_cast<size_t>(it->position());
          EXPECT_EQ(a[at], b[at]) << name << ": '" << it->str() << "' at " << at << " in " << t;
          markers += a[at];
        }
        EXPECT_GT(markers, 0) << name;
      }
  }
  // Jinja stays as it is; marker text and unknown names are errors, not a guess.
  EXPECT_EQ(*chat_template_as_jinja("{{ messages[0]['content'] }}"), "{{ messages[0]['content'] }}");
  EXPECT_FALSE(chat_template_as_jinja("<|im_start|> something").ok());
  EXPECT_FALSE(chat_template_as_jinja("vicuna").ok());
}

TEST(ChatTemplateJinja, TokenizerGgufCarriesJinjaAndTheVocabOnlyKeys) {
  VocabSpec spec = test::chatml_spec();
  spec.chat_template = "chatml";
  auto tok = Tokenizer::from_spec(spec);
  ASSERT_TRUE(tok.ok()) << tok.error().to_string();
  fragua::test::TempDir dir;
  ASSERT_TRUE(tok->save_gguf(dir.file("tok.gguf")).ok());
  auto f = format::GgufFile::open(dir.file("tok.gguf"));
  ASSERT_TRUE(f.ok()) << f.error().to_string();
  EXPECT_EQ(*f->get_string("tokenizer.chat_template"), *chat_template_as_jinja("chatml"));
  // llama.cpp's vocab-only files (models/ggml-vocab-*.gguf): a known architecture, the keys its
  // hyper-parameter loader requires, no tensors.
  EXPECT_EQ(*f->get_string("general.architecture"), "llama");
  for (const char* key : {"llama.context_length", "llama.embedding_length", "llama.block_count"})
    EXPECT_TRUE(f->get_uint(key).ok()) << key;
  EXPECT_EQ(*f->get_uint("llama.vocab_size"), static_cast<uint64_t>(tok->n_vocab()));
  EXPECT_TRUE(f->get_float("llama.attention.layer_norm_rms_epsilon").ok());
  EXPECT_TRUE(f->tensors().empty());
  // Loaded back, it encodes a chat as the name did.
  auto back = Tokenizer::load(dir.file("tok.gguf"));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  const std::vector<ChatMessage> msgs = {{"system", "Sigues breu."}, {"user", "Kaixo!"}};
  EXPECT_EQ(*encode_chat(*back, back->spec().chat_template, msgs, true), *encode_chat(*tok, "chatml", msgs, true));
}

}  // namespace
}  // namespace fragua::tokenize
