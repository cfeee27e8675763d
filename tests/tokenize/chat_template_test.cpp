#include "fragua/tokenize/tokenizer.h"
#include "test_util.h"

namespace fragua::tokenize {
namespace {

const std::vector<ChatMessage> kChat = {{"system", "Ets un assistent."}, {"user", "Hola!"}, {"assistant", "Bon dia."},
                                        {"user", "Com estàs?"}};

TEST(ChatTemplate, ChatMLFromSalamandraStyleJinja) {
  // The markers of a ChatML Jinja template as Salamandra ships it (abridged).
  std::string jinja = "{{ bos_token }}{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
                      "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}";
  auto r = apply_chat_template(jinja, kChat, true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r,
            "<|im_start|>system\nEts un assistent.<|im_end|>\n<|im_start|>user\nHola!<|im_end|>\n"
            "<|im_start|>assistant\nBon dia.<|im_end|>\n<|im_start|>user\nCom estàs?<|im_end|>\n"
            "<|im_start|>assistant\n");
}

TEST(ChatTemplate, Llama3AndGranite) {
  std::vector<ChatMessage> one = {{"user", "Kaixo"}};
  EXPECT_EQ(*apply_chat_template("llama3", one, true),
            "<|start_header_id|>user<|end_header_id|>\n\nKaixo<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(*apply_chat_template("{% ... '<|start_of_role|>' ... '<|end_of_role|>' %}", one, true),
            "<|start_of_role|>user<|end_of_role|>Kaixo<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>");
  EXPECT_EQ(*detect_chat_template("{{ '<|start_header_id|>' }}{{ '<|end_header_id|>' }}"), "llama3");
}

TEST(ChatTemplate, Llama2JoinsSystemIntoFirstTurn) {
  EXPECT_EQ(*apply_chat_template("llama2", kChat, true),
            "[INST] <<SYS>>\nEts un assistent.\n<</SYS>>\n\nHola! [/INST] Bon dia. </s><s>[INST] Com estàs? [/INST]");
}

TEST(ChatTemplate, UnknownTemplateIsAClearError) {
  auto r = apply_chat_template("{% for m in messages %}<<{{ m.content }}>>{% endfor %}", kChat, true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::unsupported);
  EXPECT_NE(r.error().message().find("unknown chat template"), std::string::npos);
  std::vector<ChatMessage> bad = {{"robot", "x"}};
  EXPECT_EQ(apply_chat_template("chatml", bad, false).error().code(), ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace fragua::tokenize
