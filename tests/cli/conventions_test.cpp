// SPDX-License-Identifier: Apache-2.0
// Command-line conventions users bring from llama.cpp: its spellings as aliases of Fragua's own,
// the old spellings kept, usage errors with exit status 2, --help showing the defaults used.
#include <algorithm>
#include <filesystem>
#include <iterator>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fragua/base/file.h"
#include "fragua/model/generate.h"
#include "fragua/model/sampler.h"
#include "test_util.h"

namespace fragua {
namespace {

// run_command captures stdout and stderr together (it appends 2>&1); these keep one of them.
std::string stdout_of(const std::string& cmd) { return "{ " + cmd + " 2>/dev/null; }"; }
std::string stderr_of(const std::string& cmd) { return "{ " + cmd + " 2>&1 >/dev/null; }"; }

// generate's output (stdout) on the golden model with `flags`; the prompt is in the flags.
std::string generate_raw(const std::string& flags) {
  std::string out;
  const int rc = test::run_command(
      stdout_of(test::cli_path() + " generate " + test::golden_model("llama_gqa_f32.gguf") + " --temp 0 -t 1 " + flags),
      &out);
  EXPECT_EQ(rc, 0) << flags << ": " << out;
  return out;
}
std::string generate_with(const std::string& flags) { return generate_raw("-p hola " + flags); }

// The prompt's token count that generate --stats reports.
long prompt_tokens(const std::string& flags) {
  std::string out;
  EXPECT_EQ(test::run_command(stderr_of(test::cli_path() + " generate " + test::golden_model("llama_gqa_f32.gguf") +
                                        " -n 1 -t 1 --stats " + flags),
                              &out),
            0)
      << out;
  std::smatch m;
  EXPECT_TRUE(std::regex_search(out, m, std::regex("prompt: ([0-9]+) tokens"))) << out;
  return m.size() > 1 ? std::stol(m[1].str()) : -1L;
}

TEST(CliConventions, LlamaCppSpellingsEqualFraguasOwn) {
  const std::string own = generate_with("--max-tokens 3 --ctx 64");
  EXPECT_FALSE(own.empty());
  EXPECT_EQ(generate_with("-n 3 -c 64"), own);
  EXPECT_EQ(generate_with("--n-predict 3 --ctx-size 64"), own);
  // A different count gives a different output, so the equalities above are not vacuous.
  EXPECT_NE(generate_with("-n 1 -c 64"), own);
  const std::string chat = generate_with("-n 3 --chat --chat-template chatml --system-prompt hi");
  EXPECT_EQ(generate_with("-n 3 --chat --template chatml --system hi"), chat);
}

TEST(CliConventions, PromptFileSystemAliasAndChatModelFlag) {
  test::TempDir dir;
  test::write_test_file(dir.file("prompt.txt"), "hola");
  const std::string own = generate_with("-n 3");
  EXPECT_EQ(generate_raw("-n 3 -f " + dir.file("prompt.txt")), own);
  EXPECT_EQ(generate_raw("-n 3 --file " + dir.file("prompt.txt")), own);
  EXPECT_NE(generate_raw("-n 3 -p adios"), own);  // so the equalities above are not vacuous
  const std::string chat = generate_with("-n 3 --chat --chat-template chatml --system-prompt hi");
  EXPECT_EQ(generate_with("-n 3 --chat --chat-template chatml -sys hi"), chat);
  // -sys reaches the prompt: a longer system message, a longer prompt.
  const long with_hi = prompt_tokens("-p hola --chat --chat-template chatml -sys hi");
  EXPECT_EQ(prompt_tokens("-p hola --chat --chat-template chatml --system-prompt hi"), with_hi);
  EXPECT_GT(prompt_tokens("-p hola --chat --chat-template chatml -sys 'a longer system message'"), with_hi);
  // --chat-template-file takes Jinja text: chatml's own template gives chatml's output.
  test::write_test_file(dir.file("chatml.jinja"),
                        "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
                        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}");
  EXPECT_EQ(generate_with("-n 3 --chat --chat-template-file " + dir.file("chatml.jinja") + " -sys hi"), chat);
  // An empty prompt file is an error naming it; -p and -f together are a usage error.
  test::write_test_file(dir.file("empty.txt"), "");
  std::string out;
  const std::string gen = test::cli_path() + " generate " + test::golden_model("llama_gqa_f32.gguf") + " -n 2 ";
  EXPECT_EQ(test::run_command(gen + "-f " + dir.file("empty.txt"), &out), 1) << out;
  EXPECT_NE(out.find("empty.txt"), std::string::npos) << out;
  EXPECT_EQ(test::run_command(gen + "-p a -f " + dir.file("prompt.txt"), &out), 2) << out;
  // chat -m equals the positional form (first message from -f, then end of input).
  const std::string chat_cmd = test::cli_path() + " chat --chat-template chatml -n 3 --temp 0 -t 1 -f " +
                               dir.file("prompt.txt") + " </dev/null ";
  std::string positional, flag;
  ASSERT_EQ(test::run_command(stdout_of(chat_cmd + test::golden_model("llama_gqa_f32.gguf")), &positional), 0)
      << positional;
  ASSERT_EQ(test::run_command(stdout_of(chat_cmd + "-m " + test::golden_model("llama_gqa_f32.gguf")), &flag), 0) << flag;
  EXPECT_FALSE(positional.empty());
  EXPECT_EQ(flag, positional);
  EXPECT_EQ(test::run_command(test::cli_path() + " chat </dev/null", &out), 2) << out;
}

TEST(CliConventions, GlobalFlagsAnywhereOnTheLine) {
  const std::string model = test::golden_model("llama_gqa_f32.gguf");
  const std::string tail = " -p hola -n 3 --temp 0 2>&1";
  std::string before, after, plain;
  ASSERT_EQ(test::run_command(test::cli_path() + " -v -t 1 generate " + model + tail, &before), 0) << before;
  ASSERT_EQ(test::run_command(test::cli_path() + " generate " + model + " -v -t 1" + tail, &after), 0) << after;
  for (const std::string* out : {&before, &after}) {
    // -v: the SIMD level, the threads and what was loaded (file, arch, type, size, time), the seed.
    EXPECT_TRUE(std::regex_search(*out, std::regex("SIMD (scalar|avx2|avx512), 1 thread"))) << *out;
    EXPECT_NE(out->find("loaded " + model), std::string::npos) << *out;
    EXPECT_NE(out->find("arch llama, F32"), std::string::npos) << *out;
    EXPECT_NE(out->find(" MB) in "), std::string::npos) << *out;
    EXPECT_NE(out->find("seed "), std::string::npos) << *out;
  }
  ASSERT_EQ(test::run_command(test::cli_path() + " generate " + model + " -q" + tail, &plain), 0) << plain;
  EXPECT_EQ(plain.find("SIMD"), std::string::npos) << plain;
  EXPECT_EQ(test::run_command(test::cli_path() + " -q generate " + model + tail, &before), 0);
  EXPECT_EQ(before, plain);
  // A command without threads of its own still accepts -t; the tokenizer's stats take it too.
  std::string out;
  EXPECT_EQ(test::run_command(test::cli_path() + " tokenizer decode -k " + model + " 5 6 -t 2", &out), 0) << out;
}

TEST(CliConventions, SeedIsRandomUnlessGiven) {
  auto seed_of = [](const std::string& flags) {
    std::string out;
    EXPECT_EQ(test::run_command(stderr_of(test::cli_path() + " generate " + test::golden_model("llama_gqa_f32.gguf") +
                                          " -p hola -n 8 -t 1 --stats " + flags),
                                &out),
              0)
        << out;
    std::smatch m;
    EXPECT_TRUE(std::regex_search(out, m, std::regex("seed ([0-9]+)"))) << out;
    return m.size() > 1 ? m[1].str() : std::string();
  };
  EXPECT_EQ(seed_of("--seed 42"), "42");
  // Two draws of 32 bits agree with odds 2^-32 per pair; three equal draws would be a fixed seed.
  const std::string a = seed_of(""), b = seed_of(""), c = seed_of("");
  EXPECT_FALSE(a == b && b == c) << a;
  // The same seed repeats a sampled run.
  auto sampled = [](const std::string& seed) {
    std::string out;
    EXPECT_EQ(test::run_command(stdout_of(test::cli_path() + " generate " + test::golden_model("llama_gqa_f32.gguf") +
                                          " -p hola -n 8 -t 1 --temp 1.5 --top-k 0 --top-p 1 --min-p 0 " + seed),
                                &out),
              0)
        << out;
    return out;
  };
  EXPECT_EQ(sampled("--seed 7"), sampled("--seed 7"));
  std::string help;
  ASSERT_EQ(test::run_command(test::cli_path() + " generate --help", &help), 0);
  EXPECT_NE(help.find("--seed UINT=random"), std::string::npos) << help;
}

TEST(CliConventions, ContextBeyondTrainingWarnsAndAFullContextSaysSo) {
  // The golden model was trained on 256 positions.
  std::string out;
  const std::string gen = test::cli_path() + " generate " + test::golden_model("llama_gqa_f32.gguf") +
                          " -p hola --temp 0 -t 1 ";
  ASSERT_EQ(test::run_command(stderr_of(gen + "-n 2 -c 512"), &out), 0) << out;
  EXPECT_NE(out.find("larger than the 256"), std::string::npos) << out;
  ASSERT_EQ(test::run_command(stderr_of(gen + "-n 2 -c 256"), &out), 0) << out;
  EXPECT_EQ(out.find("larger than"), std::string::npos) << out;
  // Ids as the prompt: no end-of-generation token can end it before the context does.
  ASSERT_EQ(test::run_command(stderr_of(test::cli_path() + " generate " + test::golden_model("llama_gqa_f32.gguf") +
                                        " --prompt-ids 1,5,6 --temp 0 -t 1 -n 100 -c 12"),
                              &out),
            0)
      << out;
  EXPECT_NE(out.find("the context of 12 tokens is full"), std::string::npos) << out;
}

TEST(CliConventions, TokenizerEncodeReadsStdinWithGeneratesDefaults) {
  const std::string model = test::golden_model("llama_gqa_f32.gguf");
  const std::string enc = test::cli_path() + " tokenizer encode -k " + model;
  std::string text, piped, lines;
  ASSERT_EQ(test::run_command(enc + " --text 'hola que tal'", &text), 0) << text;
  ASSERT_EQ(test::run_command("printf 'hola que tal\\n' | " + enc, &piped), 0) << piped;
  EXPECT_EQ(piped, text);
  ASSERT_EQ(test::run_command("printf 'hola\\nque tal\\n' | " + enc + " --no-bos", &lines), 0) << lines;
  EXPECT_EQ(std::count(lines.begin(), lines.end(), '\n'), 2) << lines;  // one line of ids per line
  // BOS by default, as generate adds it: generate's prompt count equals encode's id count.
  auto count_ids = [](const std::string& ids) {
    std::istringstream is(ids);
    return std::distance(std::istream_iterator<std::string>(is), std::istream_iterator<std::string>());
  };
  auto generate_prompt_tokens = [](const std::string& flags) { return prompt_tokens("-p 'hola que tal' " + flags); };
  EXPECT_EQ(text.substr(0, 2), "1 ");  // <s>
  EXPECT_EQ(count_ids(text), generate_prompt_tokens(""));
  std::string no_bos;
  ASSERT_EQ(test::run_command(enc + " --text 'hola que tal' --no-bos", &no_bos), 0) << no_bos;
  EXPECT_EQ(count_ids(no_bos), count_ids(text) - 1);
  EXPECT_EQ(count_ids(no_bos), generate_prompt_tokens("--no-bos"));
  // Control tokens written in the text are parsed by default, as generate parses them.
  std::string special, literal;
  ASSERT_EQ(test::run_command(enc + " --no-bos --text '</s>'", &special), 0) << special;
  EXPECT_EQ(special, "2\n");
  ASSERT_EQ(test::run_command(enc + " --no-bos --no-parse-special --text '</s>'", &literal), 0) << literal;
  EXPECT_GT(count_ids(literal), 1) << literal;
}

TEST(CliConventions, PiiKindsAndJson) {
  const std::string text = "DNI 12345678Z, correo ana@example.com, tel +34 612 345 678, IBAN ES91 2100 0418 4502 0005 1332";
  test::TempDir dir;
  test::write_test_file(dir.file("in.txt"), text);
  const std::string pii = test::cli_path() + " corpus pii ";
  std::string out;
  ASSERT_EQ(test::run_command(stdout_of(pii + "--json < " + dir.file("in.txt")), &out), 0) << out;
  auto j = nlohmann::json::parse(out, nullptr, false);
  ASSERT_TRUE(j.is_array()) << out;
  ASSERT_EQ(j.size(), 4u) << out;
  const char* types[] = {"dni", "email", "phone", "iban"};
  const char* rules[] = {"dni_mod23", "email_rfc5321", "phone_es", "iban_mod97"};
  const char* spans[] = {"12345678Z", "ana@example.com", "+34 612 345 678", "ES91 2100 0418 4502 0005 1332"};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(j[i]["entity_type"], types[i]) << out;
    EXPECT_EQ(j[i]["rule"], rules[i]) << out;
    // Byte offsets, end exclusive: they cut the match out of the input.
    const size_t start = j[i]["start"], end = j[i]["end"];
    EXPECT_EQ(text.substr(start, end - start), spans[i]) << out;
  }
  // --kinds narrows both modes; an unknown kind is a usage error naming it.
  ASSERT_EQ(test::run_command(stdout_of(pii + "--json --kinds dni,iban < " + dir.file("in.txt")), &out), 0);
  j = nlohmann::json::parse(out, nullptr, false);
  ASSERT_EQ(j.size(), 2u) << out;
  EXPECT_EQ(j[1]["entity_type"], "iban");
  ASSERT_EQ(test::run_command(stdout_of(pii + "--kinds email < " + dir.file("in.txt")), &out), 0);
  EXPECT_EQ(out, "DNI 12345678Z, correo <EMAIL>, tel +34 612 345 678, IBAN ES91 2100 0418 4502 0005 1332");
  EXPECT_EQ(test::run_command(pii + "--kinds dni,passport < " + dir.file("in.txt"), &out), 2);
  EXPECT_NE(out.find("passport"), std::string::npos) << out;
  ASSERT_EQ(test::run_command(pii + "--json < /dev/null", &out), 0);
  EXPECT_EQ(out, "[]\n");
}

// --help shows the defaults the code uses: the sampler's are read from model::SamplerParams and
// GenerateParams, so a change of a default in the library cannot leave the help behind.
TEST(CliConventions, HelpDefaultsAreTheLibrarys) {
  std::string help;
  ASSERT_EQ(test::run_command(test::cli_path() + " generate --help", &help), 0) << help;
  auto shown = [&](const std::string& flag) {
    std::smatch m;
    const bool found = std::regex_search(help, m, std::regex(flag + " [A-Z]+=([^ \\]\\n]+)"));
    EXPECT_TRUE(found) << flag << " has no default in:\n" << help;
    return found ? std::stod(m[1].str()) : -1e300;
  };
  const model::SamplerParams s;
  const model::GenerateParams g;
  EXPECT_FLOAT_EQ(shown("--temp"), s.temperature);
  EXPECT_EQ(shown("--top-k"), s.top_k);
  EXPECT_FLOAT_EQ(shown("--top-p"), s.top_p);
  EXPECT_FLOAT_EQ(shown("--min-p"), s.min_p);
  EXPECT_FLOAT_EQ(shown("--repeat-penalty"), s.repeat_penalty);
  EXPECT_EQ(shown("--penalty-last-n"), s.penalty_last_n);
  EXPECT_EQ(shown("--max-tokens"), g.max_tokens);
}

TEST(CliConventions, OutputIsDashOEverywhereWithTheOldSpellingHidden) {
  test::TempDir dir;
  const std::string en = test::cli_path() + " materials enumerate --elements Cs,Pb,I --size 3 --max-coeff 3 ";
  std::string out;
  ASSERT_EQ(test::run_command(en + "-o " + dir.file("a.csv"), &out), 0) << out;
  ASSERT_EQ(test::run_command(en + "--output " + dir.file("b.csv"), &out), 0) << out;
  ASSERT_EQ(test::run_command(en + "--out " + dir.file("c.csv"), &out), 0) << out;  // the old spelling
  const auto a = read_file(dir.file("a.csv"));
  ASSERT_TRUE(a.ok());
  EXPECT_NE(a->find("CsPbI3"), std::string::npos) << *a;
  EXPECT_EQ(*read_file(dir.file("b.csv")), *a);
  EXPECT_EQ(*read_file(dir.file("c.csv")), *a);
  for (const char* cmd : {"materials enumerate", "corpus shard", "corpus langid train", "materials screen", "train"}) {
    ASSERT_EQ(test::run_command(test::cli_path() + " " + cmd + " --help", &out), 0) << out;
    EXPECT_NE(out.find("-o,--output"), std::string::npos) << cmd << ":\n" << out;
    EXPECT_EQ(out.find("--out "), std::string::npos) << cmd << ":\n" << out;  // hidden
  }
  // A required output missing under both spellings is a usage error that names the flag.
  test::write_test_file(dir.file("in.jsonl"), "{\"text\": \"hola\"}\n");
  EXPECT_EQ(test::run_command(test::cli_path() + " corpus shard " + dir.file("in.jsonl") + " --tokenizer byte", &out), 2)
      << out;
  EXPECT_NE(out.find("-o/--output"), std::string::npos) << out;
}

// llama-server's spellings on serve: -m/--model beside the positional model, -c/--ctx-size
// (the old --ctx kept). The model file is missing on purpose: a flag read as the model makes
// the load fail (exit 1, naming the file), a flag not understood is a usage error (exit 2).
TEST(CliConventions, ServeTakesDashMAndCtxSize) {
  test::TempDir dir;
  const std::string missing = dir.file("no-such-model.gguf");
  std::string out;
  for (const std::string& flags : {"-m " + missing, "--model " + missing, missing + " -c 64",
                                   "-m " + missing + " --ctx-size 64", missing + " --ctx 64"}) {
    EXPECT_EQ(test::run_command(test::cli_path() + " serve " + flags + " --port 0 -t 1", &out), 1) << flags << out;
    EXPECT_NE(out.find("no-such-model.gguf"), std::string::npos) << flags << ": " << out;
  }
  EXPECT_EQ(test::run_command(test::cli_path() + " serve --port 0", &out), 2) << out;
  EXPECT_NE(out.find("expected a model: fragua serve MODEL or -m MODEL"), std::string::npos) << out;
  ASSERT_EQ(test::run_command(test::cli_path() + " serve --help", &out), 0) << out;
  EXPECT_NE(out.find("-m,--model"), std::string::npos) << out;
  EXPECT_NE(out.find("-c,--ctx-size"), std::string::npos) << out;
}

// train's output is -o/--output like every other command's; --out stays for scripts.
TEST(CliConventions, TrainOutputIsDashO) {
  test::TempDir dir;
  std::string corpus;
  for (int i = 0; i < 40; ++i)
    corpus += "{\"text\": \"La casa número " + std::to_string(i) +
              " está en la calle mayor del pueblo.\", \"lang\": \"es\"}\n";
  test::write_test_file(dir.file("c.jsonl"), corpus);
  std::string out;
  ASSERT_EQ(test::run_command(test::cli_path() + " -q corpus shard --tokenizer byte -o " + dir.file("s") + " " +
                                  dir.file("c.jsonl"),
                              &out),
            0)
      << out;
  // A required output missing under both spellings is a usage error naming the flag.
  EXPECT_EQ(test::run_command(test::cli_path() + " train --data " + dir.file("s"), &out), 2) << out;
  EXPECT_NE(out.find("-o/--output"), std::string::npos) << out;
  // Each spelling is the run directory.
  for (const char* flag : {" -o ", " --output ", " --out "}) {
    EXPECT_EQ(test::run_command(test::cli_path() + " train --data " + dir.file("s") + flag + dir.file("r") +
                                    " --steps 1 --batch 1 --seq-len 8 --n-layer 1 --n-embd 16 --n-head 2 -t 1",
                                &out),
              0)
        << flag << out;
    EXPECT_TRUE(std::filesystem::exists(dir.file("r") + "/config.json")) << flag << out;
    std::filesystem::remove_all(dir.file("r"));
  }
}

TEST(CliConventions, UsageErrorsExitWithTwo) {
  std::string out;
  EXPECT_EQ(test::run_command(test::cli_path() + " generate", &out), 2) << out;
  EXPECT_NE(out.find("model"), std::string::npos) << out;  // says what was expected
  EXPECT_EQ(test::run_command(test::cli_path() + " generate x.gguf --no-such-flag", &out), 2) << out;
  EXPECT_NE(out.find("--no-such-flag"), std::string::npos) << out;
  EXPECT_EQ(test::run_command(test::cli_path() + " no-such-command", &out), 2) << out;
  EXPECT_EQ(test::run_command(test::cli_path() + " --help", &out), 0) << out;
  EXPECT_EQ(test::run_command(test::cli_path() + " --version", &out), 0) << out;
}

TEST(CliConventions, HelpShowsTheDefaultsUsed) {
  std::string out;
  ASSERT_EQ(test::run_command(test::cli_path() + " chat --help", &out), 0) << out;
  EXPECT_NE(out.find("--max-tokens INT=512"), std::string::npos) << out;
  ASSERT_EQ(test::run_command(test::cli_path() + " generate --help", &out), 0) << out;
  EXPECT_NE(out.find("--max-tokens INT=128"), std::string::npos) << out;
}

// Issue 18: `corpus build` prints a compact summary on the terminal (documents and MB in/out per
// language, the top drop reasons) and leaves the full table to report.md; `corpus langid eval
// --svg` draws the confusion matrix.
TEST(CliConventions, CorpusBuildSummaryAndLangidConfusionChart) {
  test::TempDir dir;
  const std::string doc =
      "{\"lang\": \"es\", \"text\": \"La biblioteca municipal abre sus puertas de lunes a viernes por la ma\u00f1ana.\"}\n";
  test::write_test_file(dir.file("in/a.jsonl"),
                        doc + doc +
                            "{\"lang\": \"ca\", \"text\": \"La biblioteca municipal obre les portes de dilluns a "
                            "divendres al mat\u00ed.\"}\n");
  test::write_test_file(dir.file("c.yaml"), "inputs: [" + dir.file("in") + "]\noutput: " + dir.file("out") +
                                                "\nstages:\n  langid: false\n  quality: false\n  dedup: {memory_mb: 4}\n");
  std::string out;
  ASSERT_EQ(test::run_command(stdout_of(test::cli_path() + " corpus build " + dir.file("c.yaml")), &out), 0) << out;
  const std::regex header(R"(lang +docs in +MB in +docs out +MB out)");
  EXPECT_TRUE(std::regex_search(out, header)) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(\nes +2 +0\.00 +1 +0\.00\n)"))) << out;
  EXPECT_NE(out.find("dropped most: dedup:exact (1 doc"), std::string::npos) << out;
  EXPECT_NE(out.find("full table: " + dir.file("out") + "/report.md"), std::string::npos) << out;
  EXPECT_LT(std::count(out.begin(), out.end(), '\n'), 12) << out;  // compact: no 28-column table
  test::write_test_file(dir.file("gold.jsonl"),
                        "{\"lang\": \"es\", \"text\": \"La biblioteca municipal abre sus puertas por la ma\u00f1ana.\"}\n"
                        "{\"lang\": \"ca\", \"text\": \"La biblioteca municipal obre les portes al mat\u00ed.\"}\n");
  ASSERT_EQ(test::run_command(test::cli_path() + " corpus langid eval " + dir.file("gold.jsonl") + " --min-words 1 --svg " +
                                  dir.file("confusion.svg"),
                              &out),
            0)
      << out;
  const std::string svg = *read_file(dir.file("confusion.svg"));
  EXPECT_NE(svg.find("fragua corpus langid eval confusion v1"), std::string::npos);
  EXPECT_NE(svg.find(">es<"), std::string::npos) << svg;
  EXPECT_NE(svg.find(">ca<"), std::string::npos) << svg;
}

}  // namespace
}  // namespace fragua
