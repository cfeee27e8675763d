// SPDX-License-Identifier: Apache-2.0
// Runs every llama.cpp tokenizer vector pair (X.gguf + X.gguf.inp/.out) found in a folder and
// prints, per vocabulary, how many inputs encode exactly as llama.cpp does.
// Usage: bench_tokenize_vectors DIR   (e.g. ~/.cache/fragua-bench/llama.cpp/models)
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fragua/format/gguf.h"
#include "fragua/tokenize/tokenizer.h"

using namespace fragua;

static std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(argv[1])) {
    std::string p = e.path().string();
    if (p.size() > 5 && p.substr(p.size() - 5) == ".gguf" && std::filesystem::exists(p + ".inp")) files.push_back(p);
  }
  std::sort(files.begin(), files.end());
  int all_ok = 0, all_n = 0;
  for (const auto& path : files) {
    std::string name = std::filesystem::path(path).filename().string();
    auto f = format::GgufFile::open(path);
    if (!f.ok()) {
      std::printf("%-36s load error: %s\n", name.c_str(), f.error().to_string().c_str());
      continue;
    }
    auto tok = tokenize::Tokenizer::from_gguf(*f);
    if (!tok.ok()) {
      std::printf("%-36s unsupported: %s\n", name.c_str(), tok.error().to_string().c_str());
      continue;
    }
    std::string inp = slurp(path + ".inp"), out = slurp(path + ".out");
    const std::string sep = "\n__ggml_vocab_test__\n";
    std::vector<std::string> texts;
    for (size_t pos = 0; pos < inp.size();) {
      size_t next = inp.find(sep, pos);
      texts.push_back(inp.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
      if (next == std::string::npos) break;
      pos = next + sep.size();
    }
    std::istringstream lines(out);
    std::string line;
    int ok = 0, n = 0, lossless = 0;
    std::string first_fail;
    for (size_t i = 0; std::getline(lines, line) && i < texts.size(); ++i) {
      std::vector<int32_t> want;
      std::istringstream is(line);
      for (int32_t id; is >> id;) want.push_back(id);
      auto got = tok->encode(texts[i], false, false);
      ++n;
      if (got == want)
        ++ok;
      else if (first_fail.empty())
        first_fail = texts[i].substr(0, 40);
      lossless += tok->decode(got) == texts[i];
    }
    all_ok += ok;
    all_n += n;
    std::printf("%-36s %3d/%3d exact, %3d/%3d lossless%s%s\n", name.c_str(), ok, n, lossless, n,
                first_fail.empty() ? "" : "  first mismatch: ", first_fail.c_str());
  }
  std::printf("total: %d/%d exact\n", all_ok, all_n);
  return 0;
}
