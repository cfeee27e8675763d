#include "tokenize/tokenizer_impl.h"
namespace fragua::tokenize {
Result<Tokenizer> Tokenizer::from_hf_json(const std::string& p) { return unsupported_error("{}", p); }
Result<Tokenizer> Tokenizer::from_hf_json_text(std::string_view, std::string_view p) { return unsupported_error("{}", p); }
std::string Tokenizer::to_hf_json() const { return {}; }
Status Tokenizer::save_hf_json(const std::string& p) const { return unsupported_error("{}", p); }
}
