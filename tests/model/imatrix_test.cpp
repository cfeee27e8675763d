// SPDX-License-Identifier: Apache-2.0
// fragua imatrix: the collected sums against an independent float64 forward
// (tests/reference/model/imatrix_ref.py) and, without Python, against layer 0's input computed
// here from the embeddings; the imatrix.dat layout and its round trip through read_imatrix; that
// quantizing with the matrix lowers the importance-weighted error; errors leave no file.
#include "fragua/model/imatrix.h"

#include <cmath>
#include <cstring>
#include <set>

#include <gtest/gtest.h>

#include "fragua/format/gguf.h"
#include "fragua/model/quantize.h"
#include "fragua/model/random_model.h"
#include "fragua/tensor/dtype.h"
#include "fragua/tokenize/tokenizer.h"
#include "test_util.h"

namespace fragua::model {
namespace {

constexpr int64_t kCtx = 32, kChunks = 3;

RandomModelSpec imatrix_spec() {
  RandomModelSpec s;
  s.n_vocab = 300;
  s.n_embd = 64;
  s.n_layer = 2;
  s.n_head = 4;
  s.n_head_kv = 2;
  s.n_ff = 128;
  s.n_ctx = 64;
  s.plain_init = true;
  s.seed = 21;
  return s;
}

class ImatrixRun : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(write_random_model(imatrix_spec(), model_).ok());
    auto calib = read_calibration_text({});
    ASSERT_TRUE(calib.ok()) << calib.error().to_string();
    text_ = calib->text;
  }
  ImatrixOptions options(bool include_output = false) const {
    ImatrixOptions o;
    o.n_ctx = kCtx;
    o.max_chunks = kChunks;
    o.n_threads = 2;
    o.include_output = include_output;
    o.progress = false;
    o.dataset = "calibration";
    return o;
  }
  // The chunks compute_imatrix runs: the text's tokens with BOS, cut into kChunks chunks of kCtx.
  std::vector<int32_t> chunk_tokens(int32_t* bos) const {
    auto file = format::GgufFile::open(model_);
    EXPECT_TRUE(file.ok());
    auto tok = tokenize::Tokenizer::from_gguf(*file);
    EXPECT_TRUE(tok.ok());
    *bos = tok->spec().add_bos ? tok->bos_id() : -1;
    auto ids = tok->encode(text_, true, false);
    ids.resize(kChunks * kCtx);
    return ids;
  }
  test::TempDir dir_;
  std::string model_ = dir_.file("model.gguf");
  std::string text_;
};

float max_of(const std::vector<float>& v) { return *std::max_element(v.begin(), v.end()); }

// Every matmul's input against the float64 PyTorch forward of the same model on the same chunks:
// tensor names, mean squares per column (through both files and read_imatrix) and perplexity.
TEST_F(ImatrixRun, MatchesTheFloat64Reference) {
  if (!test::python_has_torch())
    GTEST_SKIP() << "python3 with torch and numpy (Debian python3-torch, python3-numpy) not available";
  auto report = compute_imatrix(model_, text_, options(/*include_output=*/true));
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  const std::string ours_path = dir_.file("ours.dat"), ref_path = dir_.file("ref.dat");
  ASSERT_TRUE(write_imatrix(ours_path, report->imatrix).ok());

  int32_t bos;
  std::string csv;
  for (int32_t t : chunk_tokens(&bos)) csv += (csv.empty() ? "" : ",") + std::to_string(t);
  std::string log;
  ASSERT_EQ(test::run_command(test::python() + " " + test::source_dir() + "/tests/reference/model/imatrix_ref.py " +
                                  model_ + " " + csv + " " + std::to_string(kCtx) + " " + std::to_string(bos) + " " +
                                  ref_path + " --process-output",
                              &log),
            0)
      << log;
  auto ours = read_imatrix(ours_path);
  auto ref = read_imatrix(ref_path);
  ASSERT_TRUE(ours.ok()) << ours.error().to_string();
  ASSERT_TRUE(ref.ok()) << ref.error().to_string();
  std::set<std::string> names_ours, names_ref;
  for (const auto& [n, v] : *ours) names_ours.insert(n);
  for (const auto& [n, v] : *ref) names_ref.insert(n);
  EXPECT_EQ(names_ours, names_ref);
  EXPECT_EQ(names_ours.size(), 2u * 7 + 1) << "7 matrices per layer and output.weight";
  for (const auto& [name, want] : *ref) {
    const auto it = ours->find(name);
    if (it == ours->end()) continue;
    ASSERT_EQ(it->second.size(), want.size()) << name;
    const float scale = max_of(want);
    double worst = 0;
    for (size_t j = 0; j < want.size(); ++j)
      worst = std::max(worst, std::fabs(double(it->second[j]) - want[j]) / scale);
    // f32 engine with an f16 KV cache against float64, relative to the largest column: measured
    // at most 3.6e-4 (attn_output, ffn_down), 4.5e-7 for layer 0's q/k/v.
    EXPECT_LT(worst, 2e-3) << name;
  }
  auto ppl_text = read_file(ref_path + ".ppl");
  ASSERT_TRUE(ppl_text.ok());
  const double ref_ppl = std::stod(*ppl_text);
  EXPECT_NEAR(report->ppl, ref_ppl, 1e-3 * ref_ppl);  // measured: equal to 6 digits
  ASSERT_EQ(report->chunk_ppl.size(), static_cast<size_t>(kChunks));
  EXPECT_DOUBLE_EQ(report->chunk_ppl.back(), report->ppl);
}

// Layer 0's q/k/v read rmsnorm(embedding) * gain: computed here from the file's tensors alone.
TEST_F(ImatrixRun, LayerZeroInputIsTheNormOfTheEmbeddings) {
  auto report = compute_imatrix(model_, text_, options());
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  auto file = format::GgufFile::open(model_);
  ASSERT_TRUE(file.ok());
  const auto* embd = file->find_tensor("token_embd.weight");
  const auto* gain = file->find_tensor("blk.0.attn_norm.weight");
  ASSERT_TRUE(embd && gain && embd->dtype == DType::f32);
  const int64_t E = imatrix_spec().n_embd;
  auto loaded = Model::load(model_);
  ASSERT_TRUE(loaded.ok());
  const double eps = (*loaded)->config().rms_eps;
  int32_t bos;
  std::vector<int32_t> tokens = chunk_tokens(&bos);
  ASSERT_GE(bos, 0) << "the random model's tokenizer adds BOS";
  std::vector<double> want(static_cast<size_t>(E), 0.0);
  for (int64_t i = 0; i < kChunks * kCtx; ++i) {
    const int32_t id = i % kCtx == 0 ? bos : tokens[static_cast<size_t>(i)];
    const float* x = reinterpret_cast<const float*>(embd->data) + id * E;
    double ms = 0;
    for (int64_t j = 0; j < E; ++j) ms += double(x[j]) * x[j];
    const double inv = 1.0 / std::sqrt(ms / double(E) + eps);
    for (int64_t j = 0; j < E; ++j) {
      const double h = x[j] * inv * reinterpret_cast<const float*>(gain->data)[j];
      want[static_cast<size_t>(j)] += h * h;
    }
  }
  for (const char* t : {"attn_q", "attn_k", "attn_v"}) {
    const auto& e = report->imatrix.entries.at(std::string("blk.0.") + t + ".weight");
    EXPECT_EQ(e.count, kChunks * kCtx) << t;
    ASSERT_EQ(e.sums.size(), static_cast<size_t>(E));
    // measured 6.3e-7 relative (f32 sums of f32 norms against double)
    for (int64_t j = 0; j < E; ++j) EXPECT_NEAR(e.sums[j], want[j], 1e-4 * want[j] + 1e-6) << t << " column " << j;
  }
  EXPECT_FALSE(report->imatrix.entries.count("output.weight")) << "output.weight only on request, as llama.cpp";
  EXPECT_EQ(report->imatrix.n_chunks, kChunks);
  EXPECT_EQ(report->imatrix.chunk_size, kCtx);
}

// The bytes of llama.cpp's legacy format, and read_imatrix's division by ncall.
TEST(ImatrixFile, LayoutAndRoundTrip) {
  Imatrix m;
  m.entries["b"] = {{2.0f, 6.0f}, 4};
  m.entries["a"] = {{8.0f, 0.0f, 4.0f}, 10};
  m.entries["unused"] = {{}, 0};
  m.chunk_size = 4;
  m.n_chunks = 3;
  m.dataset = "es.txt";
  const std::string bytes = serialize_imatrix(m);
  auto i32 = [&](size_t at) {
    int32_t v;
    std::memcpy(&v, bytes.data() + at, 4);
    return v;
  };
  auto f32 = [&](size_t at) {
    float v;
    std::memcpy(&v, bytes.data() + at, 4);
    return v;
  };
  EXPECT_EQ(i32(0), 2) << "entries without data are left out";
  EXPECT_EQ(i32(4), 1);
  EXPECT_EQ(bytes.substr(8, 1), "a") << "names in order";
  EXPECT_EQ(i32(9), 3) << "ncall = ceil(10 / 4)";
  EXPECT_EQ(i32(13), 3);
  EXPECT_FLOAT_EQ(f32(17), 8.0f / 10 * 3);
  EXPECT_FLOAT_EQ(f32(25), 4.0f / 10 * 3);
  EXPECT_EQ(bytes.substr(33, 1), "b");
  EXPECT_EQ(i32(34), 1);
  const size_t tail = 4 + 4 + 1 + 4 + 4 + 12 + 4 + 1 + 4 + 4 + 8;
  EXPECT_EQ(i32(tail), 3) << "chunks";
  EXPECT_EQ(i32(tail + 4), 6);
  EXPECT_EQ(bytes.substr(tail + 8), "es.txt");

  auto back = parse_imatrix(bytes, "mem");
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  ASSERT_EQ(back->size(), 2u);
  EXPECT_FLOAT_EQ(back->at("a")[0], 0.8f) << "the mean over the 10 rows";
  EXPECT_FLOAT_EQ(back->at("a")[2], 0.4f);
  EXPECT_FLOAT_EQ(back->at("b")[1], 1.5f);
}

TEST(ImatrixFile, FailedWriteLeavesNoFile) {
  test::TempDir dir;
  const std::string path = dir.file("imatrix.dat");
  Imatrix m;
  m.entries["a"] = {{1.0f}, 1};
  test::FaultEnv env;
  env.fail_rename = "imatrix.dat";
  EXPECT_FALSE(write_imatrix(path, m, env).ok());
  EXPECT_GT(env.failures, 0);
  EXPECT_FALSE(Env::posix().file_exists(path));
  auto listing = Env::posix().list_dir(dir.path());
  ASSERT_TRUE(listing.ok());
  EXPECT_TRUE(listing->empty()) << "no temporary left behind";
}

// The importance-weighted squared error of the dequantized matrix, per element of `name`.
double weighted_error(const std::string& f32_model, const std::string& quantized, const std::string& name,
                      const std::vector<float>& importance) {
  auto a = format::GgufFile::open(f32_model);
  auto b = format::GgufFile::open(quantized);
  EXPECT_TRUE(a.ok() && b.ok());
  const auto* ta = a->find_tensor(name);
  const auto* tb = b->find_tensor(name);
  EXPECT_TRUE(ta && tb);
  const int64_t n = ta->n_elements(), cols = ta->ne[0];
  std::vector<float> x(static_cast<size_t>(n)), y(static_cast<size_t>(n));
  dtype_traits(ta->dtype)->to_float(ta->data, x.data(), n);
  dtype_traits(tb->dtype)->to_float(tb->data, y.data(), n);
  double e = 0;
  for (int64_t i = 0; i < n; ++i) e += importance[static_cast<size_t>(i % cols)] * std::pow(x[i] - y[i], 2);
  return e;
}

// What the matrix is for: quantized with it, each matrix's error weighted by its importance is
// lower than without (Q4_0: ggml's quantize_row_q4_0_impl; Q5_1: the scale-and-min search).
TEST_F(ImatrixRun, QuantizingWithItLowersTheWeightedError) {
  auto report = compute_imatrix(model_, text_, options());
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  const std::string dat = dir_.file("imatrix.dat");
  ASSERT_TRUE(write_imatrix(dat, report->imatrix).ok());
  auto im = read_imatrix(dat);
  ASSERT_TRUE(im.ok());
  for (const char* type : {"Q4_0", "Q5_1"}) {
    QuantizeOptions o{.type = *find_quantize_type(type)};
    o.progress = false;
    const std::string plain = dir_.file("plain.gguf"), weighted = dir_.file("weighted.gguf");
    ASSERT_TRUE(quantize_model(model_, plain, o).ok());
    o.imatrix = &*im;
    auto r = quantize_model(model_, weighted, o);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(r->n_imatrix, 14u) << type << ": every layer matrix";
    for (const char* name : {"blk.0.attn_q.weight", "blk.1.attn_output.weight", "blk.1.ffn_down.weight"}) {
      const auto& imp = im->at(name);
      const double e_plain = weighted_error(model_, plain, name, imp);
      const double e_weighted = weighted_error(model_, weighted, name, imp);
      EXPECT_LT(e_weighted, 0.95 * e_plain) << type << " " << name;  // measured 0.71 .. 0.87
    }
  }
}

// The collector alone: steps that feed no matmul are ignored, q/k/v share their input, and a
// non-finite activation is an error naming the tensor it reached (llama.cpp stops there too).
TEST_F(ImatrixRun, CollectorMapsStepsAndStopsAtNonFinite) {
  auto model = Model::load(model_);
  ASSERT_TRUE(model.ok());
  const int64_t E = imatrix_spec().n_embd;
  ImatrixCollector c(**model, false);
  std::vector<float> x(static_cast<size_t>(2 * E), 0.5f);
  c.observe("Qcur", 0, x.data(), 2, E);
  c.observe("attn_norm", 1, x.data(), 2, E);
  EXPECT_TRUE(c.status().ok());
  x[3] = std::nanf("");
  c.observe("ffn_norm", 0, x.data(), 2, E);
  ASSERT_FALSE(c.status().ok());
  EXPECT_NE(c.status().error().message().find("blk.0.ffn_gate.weight"), std::string::npos)
      << c.status().error().message();
  const auto m = c.take();
  EXPECT_EQ(m.entries.size(), 5u) << "attn_q/k/v of layer 1 and ffn_gate/up of layer 0";
  EXPECT_EQ(m.entries.at("blk.1.attn_k.weight").count, 2);
  EXPECT_FLOAT_EQ(m.entries.at("blk.1.attn_v.weight").sums[7], 0.5f);
}

TEST_F(ImatrixRun, BadInputIsAnErrorNamingTheCause) {
  auto o = options();
  auto short_text = compute_imatrix(model_, "hola", o);
  ASSERT_FALSE(short_text.ok());
  EXPECT_NE(short_text.error().message().find("at least 64"), std::string::npos) << short_text.error().message();
  o.n_ctx = 8;
  auto tiny = compute_imatrix(model_, text_, o);
  ASSERT_FALSE(tiny.ok());
  EXPECT_EQ(tiny.error().code(), ErrorCode::invalid_argument);
  auto missing = compute_imatrix(dir_.file("absent.gguf"), text_, options());
  EXPECT_FALSE(missing.ok());
  auto no_file = read_calibration_text({dir_.file("absent.txt")});
  ASSERT_FALSE(no_file.ok());
  EXPECT_NE(no_file.error().message().find("absent.txt"), std::string::npos) << no_file.error().message();
}

}  // namespace
}  // namespace fragua::model
