// SPDX-License-Identifier: Apache-2.0
// Training, prediction and the file format of the attention property model
// (attention_model.h). The network is materials/element_transformer.cpp; the optimizer and
// schedule are the training engine's (train/optim.h).
#include "fragua/materials/attention_model.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <numeric>
#include <optional>

#include <nlohmann/json.hpp>

#include "fragua/base/file.h"
#include "fragua/base/json.h"
#include "fragua/base/progress.h"
#include "fragua/base/thread_pool.h"
#include "fragua/format/safetensors.h"
#include "fragua/train/kernels.h"
#include "fragua/train/model.h"
#include "fragua/train/optim.h"

namespace fragua::materials {

namespace {

constexpr const char* kFormat = "fragua-materials-attention";
constexpr int kVersion = 1;
constexpr int kPredictBatch = 256;

// Element properties given to every token (the Magpie set, as in features.cpp, without the
// two derived sums and the space group, which is a label rather than a quantity).
const std::vector<Prop>& token_props() {
  static const std::vector<Prop> p = {Prop::z,
                                      Prop::mendeleev,
                                      Prop::mass,
                                      Prop::melting_k,
                                      Prop::group,
                                      Prop::row,
                                      Prop::covalent_radius_pm,
                                      Prop::pauling_en,
                                      Prop::ns_val,
                                      Prop::np_val,
                                      Prop::nd_val,
                                      Prop::nf_val,
                                      Prop::ns_unf,
                                      Prop::np_unf,
                                      Prop::nd_unf,
                                      Prop::nf_unf,
                                      Prop::gs_volume_pa,
                                      Prop::gs_bandgap_ev,
                                      Prop::gs_magmom,
                                      Prop::ionization_ev,
                                      Prop::electron_affinity_ev,
                                      Prop::molar_volume_cm3,
                                      Prop::density_kg_m3};
  return p;
}
constexpr int kFracWidth = 2 + 12 + 8;

// Property vectors of every element, standardised over the elements that have the property.
struct PropTable {
  int n_props = 0;
  std::vector<float> v;  // (max_z, n_props)
};

const PropTable& prop_table(const ElementTable& t) {
  static std::mutex mu;
  static const ElementTable* cached_for = nullptr;
  static PropTable cached;
  std::lock_guard<std::mutex> lock(mu);
  if (cached_for == &t) return cached;
  const auto& props = token_props();
  PropTable pt;
  pt.n_props = static_cast<int>(props.size());
  pt.v.assign(static_cast<size_t>(t.max_z()) * pt.n_props, 0.0f);
  for (int k = 0; k < pt.n_props; ++k) {
    double s = 0, s2 = 0, n = 0;
    for (int z = 1; z <= t.max_z(); ++z)
      if (t.by_z(z).has(props[k])) {
        double x = t.by_z(z).get(props[k]);
        s += x;
        s2 += x * x;
        n += 1;
      }
    if (n == 0) continue;
    double mean = s / n, sd = std::sqrt(std::max(1e-12, s2 / n - mean * mean));
    for (int z = 1; z <= t.max_z(); ++z)
      if (t.by_z(z).has(props[k]))
        pt.v[static_cast<size_t>(z - 1) * pt.n_props + k] = static_cast<float>((t.by_z(z).get(props[k]) - mean) / sd);
  }
  cached = std::move(pt);
  cached_for = &t;
  return cached;
}

void fraction_encoding(double f, float* out) {
  const double L = std::min(1.0, -std::log(f) / std::log(1000.0));
  int j = 0;
  out[j++] = static_cast<float>(f);
  out[j++] = static_cast<float>(std::log(f) / 7.0);
  for (int k = 0; k < 6; ++k) {
    const double a = M_PI * std::ldexp(1.0, k) * f;
    out[j++] = static_cast<float>(std::sin(a));
    out[j++] = static_cast<float>(std::cos(a));
  }
  for (int k = 0; k < 4; ++k) {
    const double a = M_PI * std::ldexp(1.0, k) * L;
    out[j++] = static_cast<float>(std::sin(a));
    out[j++] = static_cast<float>(std::cos(a));
  }
}

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// How targets map to the network's first output: t = (g(y) - mu) / sigma, g = log1p or identity.
struct TargetScale {
  bool log = false, gate = false;
  double mu = 0, sigma = 1;
  double forward(double y) const { return ((log ? std::log1p(y) : y) - mu) / sigma; }
  // Back to g-space (the space ensemble_prediction averages in).
  float to_g(float t) const { return static_cast<float>(t * sigma + mu); }
  nlohmann::json to_json() const { return {{"log", log}, {"gate", gate}, {"mu", mu}, {"sigma", sigma}}; }
};

int thread_count(int t) { return t > 0 ? t : ThreadPool::default_threads(); }

}  // namespace

int attention_input_width() { return static_cast<int>(token_props().size()) + kFracWidth; }

nlohmann::json attention_config_to_json(const AttentionConfig& c) {
  return {{"task", task_name(c.task)},
          {"n_models", c.n_models},
          {"epochs", c.epochs},
          {"batch", c.batch},
          {"lr", c.lr},
          {"weight_decay", c.weight_decay},
          {"swa_epochs", c.swa_epochs},
          {"d_model", c.d_model},
          {"n_layer", c.n_layer},
          {"n_head", c.n_head},
          {"head_hidden", c.head_hidden},
          {"bootstrap", c.bootstrap},
          {"zero_gate", c.zero_gate},
          {"log_target", c.log_target},
          {"seed", c.seed}};
}

Result<AttentionConfig> attention_config_from_json(const nlohmann::json& j) {
  AttentionConfig c;
  if (!j.is_object()) return corruption_error("attention config is not a JSON object");
  try {
    c.task = FRAGUA_TRY(parse_task(j.at("task").get<std::string>()));
    c.n_models = static_cast<int>(FRAGUA_TRY(json_integer(j.at("n_models"), "n_models", 1, 1000)));
    c.epochs = static_cast<int>(FRAGUA_TRY(json_integer(j.at("epochs"), "epochs", 1, 1000000)));
    c.batch = static_cast<int>(FRAGUA_TRY(json_integer(j.at("batch"), "batch", 1, 1 << 20)));
    c.lr = FRAGUA_TRY(json_float(j.at("lr"), "lr"));
    c.weight_decay = FRAGUA_TRY(json_float(j.at("weight_decay"), "weight_decay"));
    // Absent in files written before weight averaging existed.
    if (j.contains("swa_epochs"))
      c.swa_epochs = static_cast<int>(FRAGUA_TRY(json_integer(j.at("swa_epochs"), "swa_epochs", 0, 1000000)));
    c.d_model = static_cast<int>(FRAGUA_TRY(json_integer(j.at("d_model"), "d_model", 1, 4096)));
    c.n_layer = static_cast<int>(FRAGUA_TRY(json_integer(j.at("n_layer"), "n_layer", 0, 64)));
    c.n_head = static_cast<int>(FRAGUA_TRY(json_integer(j.at("n_head"), "n_head", 1, 64)));
    c.head_hidden = static_cast<int>(FRAGUA_TRY(json_integer(j.at("head_hidden"), "head_hidden", 1, 4096)));
    c.bootstrap = j.at("bootstrap").get<bool>();
    c.zero_gate = j.at("zero_gate").get<std::string>();
    c.log_target = j.at("log_target").get<std::string>();
    c.seed = static_cast<uint32_t>(FRAGUA_TRY(json_integer(j.at("seed"), "seed", 0, UINT32_MAX)));
  } catch (const nlohmann::json::exception& e) {
    return corruption_error("attention config: {}", e.what());
  }
  return c;
}

Result<ElementBatch> encode_compositions(const std::vector<const Composition*>& rows, const ElementTable& table) {
  const PropTable& pt = prop_table(table);
  const int NI = attention_input_width();
  ElementBatch b;
  b.B = static_cast<int>(rows.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    if (rows[r]->num_elements() == 0) return invalid_argument_error("row {}: empty composition", r);
    b.T = std::max(b.T, static_cast<int>(rows[r]->num_elements()));
  }
  const size_t N = static_cast<size_t>(b.B) * b.T;
  b.id.assign(N, 0);
  b.frac.assign(N, 0.0f);
  b.u.assign(N * NI, 0.0f);
  b.len.assign(b.B, 0);
  for (size_t r = 0; r < rows.size(); ++r) {
    const Composition& c = *rows[r];
    auto fr = c.fractions();
    b.len[r] = static_cast<int32_t>(c.num_elements());
    for (size_t i = 0; i < c.num_elements(); ++i) {
      const int z = c.amounts()[i].first;
      if (z < 1 || z > table.max_z())
        return invalid_argument_error("row {}: atomic number {} outside the element table", r, z);
      const size_t n = r * b.T + i;
      b.id[n] = z - 1;
      b.frac[n] = static_cast<float>(fr[i]);
      float* u = b.u.data() + n * NI;
      std::copy_n(pt.v.data() + static_cast<size_t>(z - 1) * pt.n_props, pt.n_props, u);
      fraction_encoding(fr[i], u + pt.n_props);
    }
  }
  return b;
}

struct AttentionModel::Impl {
  AttentionConfig cfg;
  ElementTransformerConfig net;
  TargetScale scale;
  std::vector<ElementTransformer> members;
  nlohmann::json provenance;
};

AttentionModel::AttentionModel() : impl_(std::make_unique<Impl>()) {}
AttentionModel::AttentionModel(AttentionModel&&) noexcept = default;
AttentionModel& AttentionModel::operator=(AttentionModel&&) noexcept = default;
AttentionModel::~AttentionModel() = default;
const AttentionConfig& AttentionModel::config() const { return impl_->cfg; }
const nlohmann::json& AttentionModel::provenance() const { return impl_->provenance; }

namespace {

// Loss of one batch and its gradient with respect to the outputs (B, n_out). t: scaled
// targets; zero: 1 where y == 0 (the gate's label) or the class label.
float batch_loss(std::span<const float> out, int B, int n_out, const std::vector<float>& t,
                 const std::vector<float>& zero, Task task, bool gate, std::vector<float>& dout) {
  dout.assign(static_cast<size_t>(B) * n_out, 0.0f);
  const float inv = 1.0f / static_cast<float>(B);
  double loss = 0;
  auto bce = [&](int b, int o, float label) {
    const float z = out[static_cast<size_t>(b) * n_out + o];
    loss += std::max(z, 0.0f) - z * label + std::log1p(std::exp(-std::fabs(z)));
    dout[static_cast<size_t>(b) * n_out + o] = (sigmoid(z) - label) * inv;
  };
  for (int b = 0; b < B; ++b) {
    if (task == Task::classification) {
      bce(b, 0, zero[b]);
      continue;
    }
    if (gate) bce(b, 1, zero[b]);
    if (gate && zero[b] != 0) continue;  // the regressor learns the non-zero gaps only
    const float d = out[static_cast<size_t>(b) * n_out] - t[b];
    loss += std::fabs(d);
    dout[static_cast<size_t>(b) * n_out] = (d > 0 ? 1.0f : d < 0 ? -1.0f : 0.0f) * inv;
  }
  return static_cast<float>(loss * inv);
}

Status train_member(ElementTransformer& net, const std::vector<const Composition*>& comps, const std::vector<float>& t,
                    const std::vector<float>& zero, const ElementTable& table, const AttentionConfig& cfg, bool gate,
                    uint64_t seed, ProgressBar& bar, MetricsWriter* metrics, std::mutex& metrics_mu, int member) {
  net.init_random(seed);
  train::Rng rng(seed ^ 0x9e3779b97f4a7c15ull);
  const size_t n = comps.size();
  // Rows of an epoch: all of them, or a bootstrap resample drawn once per member.
  std::vector<size_t> base(n);
  std::iota(base.begin(), base.end(), 0);
  if (cfg.bootstrap)
    for (auto& r : base) r = static_cast<size_t>(rng.next() % n);
  const int per_epoch = static_cast<int>((n + cfg.batch - 1) / cfg.batch);
  train::Schedule sched;
  sched.kind = train::ScheduleKind::cosine;
  sched.lr = static_cast<float>(cfg.lr);
  sched.min_lr_ratio = 0.1f;
  sched.total = static_cast<int64_t>(per_epoch) * cfg.epochs;
  sched.warmup = std::max<int64_t>(1, sched.total / 20);
  train::AdamWConfig ac;
  ac.beta2 = 0.999f;
  ac.weight_decay = static_cast<float>(cfg.weight_decay);
  train::AdamW opt(ac, net.params().size());
  train::KernelOptions ko{nullptr, true};
  const int n_out = net.config().n_out;
  std::vector<float> bt, bz, dout;
  std::vector<const Composition*> bc;
  int64_t step = 0;
  // Weight averaging over the weights at the end of each of the last swa_epochs epochs.
  train::WeightAverage average(net.params().size());
  for (int epoch = 0; epoch < cfg.epochs; ++epoch) {
    std::vector<size_t> order = base;
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.next() % i]);
    double sum = 0;
    for (int s = 0; s < per_epoch; ++s) {
      const size_t lo = static_cast<size_t>(s) * cfg.batch, hi = std::min(n, lo + cfg.batch);
      bc.clear();
      bt.clear();
      bz.clear();
      for (size_t i = lo; i < hi; ++i) {
        bc.push_back(comps[order[i]]);
        bt.push_back(t[order[i]]);
        bz.push_back(zero[order[i]]);
      }
      auto batch = FRAGUA_TRY(encode_compositions(bc, table));
      auto out = FRAGUA_TRY(net.forward(batch, ko));
      float loss = batch_loss(out, batch.B, n_out, bt, bz, cfg.task, gate, dout);
      if (!std::isfinite(loss))
        return invalid_argument_error("attention model member {}: loss is {} at epoch {} (lower --lr)", member, loss,
                                      epoch);
      sum += loss * batch.B;
      net.zero_grad();
      net.backward(dout, ko);
      opt.step(net.params(), net.grads(), net.param_infos(), sched.lr_at(step++), nullptr);
    }
    if (epoch >= cfg.epochs - cfg.swa_epochs) average.add(net.params());
    bar.add(1);
    if (metrics && metrics->is_open()) {
      std::lock_guard<std::mutex> lock(metrics_mu);
      FRAGUA_TRY(metrics->write({{"event", "attention_epoch"},
                                 {"member", member},
                                 {"epoch", epoch},
                                 {"train_loss", sum / static_cast<double>(n)}}));
    }
  }
  average.write_mean(net.params());
  return ok_status();
}

}  // namespace

Result<AttentionModel> AttentionModel::train(const std::vector<Composition>& comps, const std::vector<double>& y,
                                             const ElementTable& table, const AttentionConfig& cfg,
                                             MetricsWriter* metrics) {
  if (cfg.n_models < 1 || cfg.epochs < 1 || cfg.batch < 1)
    return invalid_argument_error("attention model: need at least one member, one epoch and a batch of one");
  if (!(cfg.lr > 0) || !(cfg.weight_decay >= 0))
    return invalid_argument_error("attention model: lr must be > 0 and weight decay >= 0");
  if (cfg.swa_epochs < 0 || cfg.swa_epochs > cfg.epochs)
    return invalid_argument_error("attention model: --swa-epochs {} is outside 0..{} (the epochs)", cfg.swa_epochs,
                                  cfg.epochs);
  if (comps.empty() || comps.size() != y.size())
    return invalid_argument_error("attention model: {} compositions for {} targets", comps.size(), y.size());
  for (size_t i = 0; i < y.size(); ++i) {
    if (!std::isfinite(y[i])) return invalid_argument_error("row {}: target is not a finite number", i);
    if (cfg.task == Task::classification && y[i] != 0 && y[i] != 1)
      return invalid_argument_error("row {}: classification labels must be 0 or 1, got {}", i, y[i]);
  }
  // The target options resolve exactly as for the tree ensemble.
  TrainConfig tc;
  tc.task = cfg.task;
  tc.zero_gate = cfg.zero_gate;
  tc.log_target = cfg.log_target;
  tc = FRAGUA_TRY(resolve_target_options(tc, y));
  AttentionModel m;
  auto& I = *m.impl_;
  I.cfg = cfg;
  I.cfg.zero_gate = tc.zero_gate;
  I.cfg.log_target = tc.log_target;
  I.scale.log = tc.log_target == "on";
  I.scale.gate = tc.zero_gate == "on";
  if (cfg.task == Task::regression) {
    double s = 0, s2 = 0, n = 0;
    for (double v : y)
      if (!I.scale.gate || v != 0) {
        double g = I.scale.log ? std::log1p(v) : v;
        s += g;
        s2 += g * g;
        n += 1;
      }
    I.scale.mu = s / n;
    I.scale.sigma = std::sqrt(std::max(1e-12, s2 / n - I.scale.mu * I.scale.mu));
  }
  I.net.n_elements = table.max_z();
  I.net.n_input = attention_input_width();
  I.net.d_model = cfg.d_model;
  I.net.n_layer = cfg.n_layer;
  I.net.n_head = cfg.n_head;
  I.net.head_hidden = cfg.head_hidden;
  I.net.n_out = I.scale.gate ? 2 : 1;
  FRAGUA_TRY(I.net.finalize());
  std::vector<float> t(y.size()), zero(y.size());
  std::vector<const Composition*> rows;
  for (size_t i = 0; i < y.size(); ++i) {
    if (comps[i].num_elements() == 0) return invalid_argument_error("row {}: empty composition", i);
    t[i] = cfg.task == Task::regression ? static_cast<float>(I.scale.forward(y[i])) : 0.0f;
    zero[i] = cfg.task == Task::classification ? static_cast<float>(y[i]) : (y[i] == 0 ? 1.0f : 0.0f);
    rows.push_back(&comps[i]);
  }
  for (int k = 0; k < cfg.n_models; ++k) I.members.push_back(FRAGUA_TRY(ElementTransformer::create(I.net)));
  train::kernels::set_blas_threads(1);
  const size_t jobs = static_cast<size_t>(cfg.n_models);
  std::vector<std::optional<Error>> errors(jobs);
  std::mutex metrics_mu;
  ProgressBar bar("attention model", jobs * static_cast<uint64_t>(cfg.epochs), "epoch");
  ThreadPool pool(std::min(thread_count(cfg.threads), static_cast<int>(jobs)));
  pool.parallel_for_dynamic(jobs, 1, [&](size_t b, size_t e) {
    for (size_t j = b; j < e; ++j) {
      auto st =
          train_member(I.members[j], rows, t, zero, table, I.cfg, I.scale.gate,
                       static_cast<uint64_t>(cfg.seed) + 7919u * j, bar, metrics, metrics_mu, static_cast<int>(j));
      if (!st.ok()) errors[j] = st.error();
    }
  });
  bar.finish();
  for (auto& err : errors)
    if (err) return *err;
  return m;
}

Result<Prediction> AttentionModel::predict(const std::vector<Composition>& comps, const ElementTable& table,
                                           int threads) const {
  const auto& I = *impl_;
  if (table.max_z() != I.net.n_elements)
    return invalid_argument_error("model was trained on a table of {} elements, this one has {}", I.net.n_elements,
                                  table.max_z());
  const size_t n = comps.size(), k = I.members.size();
  std::vector<std::vector<float>> reg(k, std::vector<float>(n)), gate(I.scale.gate ? k : 0, std::vector<float>(n));
  if (n == 0) return Prediction{};
  // Each member needs its own activations: members run in parallel, batches in sequence. The
  // networks' activation buffers are mutable state, so predict works on copies of the members.
  std::vector<std::optional<Error>> errors(k);
  train::kernels::set_blas_threads(1);
  ThreadPool pool(std::min(thread_count(threads), static_cast<int>(k)));
  pool.parallel_for_dynamic(k, 1, [&](size_t b, size_t e) {
    for (size_t m = b; m < e; ++m) {
      auto net = ElementTransformer::create(I.net);
      if (!net.ok()) {
        errors[m] = net.error();
        continue;
      }
      std::copy(I.members[m].params().begin(), I.members[m].params().end(), net->params().begin());
      for (size_t lo = 0; lo < n; lo += kPredictBatch) {
        std::vector<const Composition*> rows;
        for (size_t i = lo; i < std::min(n, lo + kPredictBatch); ++i) rows.push_back(&comps[i]);
        auto batch = encode_compositions(rows, table);
        if (!batch.ok()) {
          errors[m] = Error(batch.error().code(), fmt::format("composition {}: {}", lo, batch.error().message()));
          break;
        }
        auto out = net->forward(*batch, {nullptr, true});
        if (!out.ok()) {
          errors[m] = out.error();
          break;
        }
        const int O = I.net.n_out;
        for (size_t r = 0; r < rows.size(); ++r) {
          const float o0 = (*out)[r * O];
          reg[m][lo + r] = I.cfg.task == Task::classification ? sigmoid(o0) : I.scale.to_g(o0);
          if (I.scale.gate) gate[m][lo + r] = sigmoid((*out)[r * O + 1]);
        }
      }
    }
  });
  for (auto& err : errors)
    if (err) return *err;
  Prediction p = ensemble_prediction(reg, I.cfg.task == Task::regression && I.scale.log);
  if (I.scale.gate) apply_zero_gate(p, gate);
  return p;
}

Status AttentionModel::save(const std::string& path, const nlohmann::json& provenance) const {
  auto bytes = FRAGUA_TRY(to_bytes(provenance));
  return write_file_atomic(path, bytes);
}

Result<std::string> AttentionModel::to_bytes(const nlohmann::json& provenance) const {
  const auto& I = *impl_;
  format::SafetensorsWriter w;
  w.set_metadata("format", kFormat);
  w.set_metadata("version", std::to_string(kVersion));
  w.set_metadata("config", attention_config_to_json(I.cfg).dump());
  w.set_metadata("net", I.net.to_json().dump());
  w.set_metadata("target", I.scale.to_json().dump());
  w.set_metadata("provenance", provenance.dump());
  w.set_metadata("members", std::to_string(I.members.size()));
  for (size_t m = 0; m < I.members.size(); ++m) {
    const auto& net = I.members[m];
    FRAGUA_TRY(net.param_store().add_safetensors(w, fmt::format("m{}/", m), net.params().data()));
  }
  return w.to_bytes();
}

Result<AttentionModel> AttentionModel::load(const std::string& path) {
  auto file = FRAGUA_TRY(format::SafetensorsFile::open(path));
  return from_file(file, path);
}

Result<AttentionModel> AttentionModel::parse(std::string_view bytes, const std::string& name) {
  auto file = FRAGUA_TRY(format::SafetensorsFile::parse(bytes, name));
  return from_file(file, name);
}

Result<AttentionModel> AttentionModel::from_file(const format::SafetensorsFile& file, const std::string& path) {
  const auto& md = file.metadata();
  auto meta = [&](const char* key) -> Result<std::string> {
    auto it = md.find(key);
    if (it == md.end()) return corruption_error("{}: metadata lacks '{}'", path, key);
    return it->second;
  };
  if (FRAGUA_TRY(meta("format")) != kFormat)
    return corruption_error("{}: not a fragua attention materials model (format '{}')", path, md.at("format"));
  if (FRAGUA_TRY(meta("version")) != std::to_string(kVersion))
    return unsupported_error("{}: attention model version '{}' is not supported (this build reads {})", path,
                             md.at("version"), kVersion);
  AttentionModel m;
  auto& I = *m.impl_;
  I.cfg = FRAGUA_TRY(attention_config_from_json(FRAGUA_TRY(parse_json(FRAGUA_TRY(meta("config")), path + " config"))));
  I.net =
      FRAGUA_TRY(ElementTransformerConfig::from_json(FRAGUA_TRY(parse_json(FRAGUA_TRY(meta("net")), path + " net"))));
  auto tj = FRAGUA_TRY(parse_json(FRAGUA_TRY(meta("target")), path + " target"));
  if (auto it = md.find("provenance"); it != md.end()) {
    I.provenance = nlohmann::json::parse(it->second, nullptr, false);  // informational: never an error
    if (I.provenance.is_discarded()) I.provenance = nullptr;
  }
  try {
    I.scale.log = tj.at("log").get<bool>();
    I.scale.gate = tj.at("gate").get<bool>();
    I.scale.mu = FRAGUA_TRY(json_float(tj.at("mu"), "mu"));
    I.scale.sigma = FRAGUA_TRY(json_float(tj.at("sigma"), "sigma"));
  } catch (const nlohmann::json::exception& e) {
    return corruption_error("{}: bad target metadata: {}", path, e.what());
  }
  if (I.net.n_out != (I.scale.gate ? 2 : 1))
    return corruption_error("{}: {} outputs do not match zero gate {}", path, I.net.n_out, I.scale.gate);
  if (I.net.n_input != attention_input_width())
    return corruption_error("{}: {} inputs per token, this build computes {}; retrain the model", path, I.net.n_input,
                            attention_input_width());
  auto n_members =
      FRAGUA_TRY(json_integer(FRAGUA_TRY(parse_json(FRAGUA_TRY(meta("members")), path)), "members", 1, 1000));
  // Check the sizes before allocating: a hostile header must not make us reserve gigabytes.
  uint64_t held = 0;
  for (const auto& t : file.tensors()) held += t.n_bytes;
  const uint64_t need = static_cast<uint64_t>(n_members) * static_cast<uint64_t>(I.net.n_params()) * sizeof(float);
  if (need > held)
    return corruption_error("{}: {} members of {} parameters need {} bytes of tensors, the file holds {}", path,
                            n_members, I.net.n_params(), need, held);
  for (int64_t k = 0; k < n_members; ++k) {
    auto net = FRAGUA_TRY(ElementTransformer::create(I.net));
    FRAGUA_TRY(net.param_store().read_safetensors(file, fmt::format("m{}/", k), net.params().data()));
    I.members.push_back(std::move(net));
  }
  return m;
}

Result<CvResult> cross_validate_attention(const std::vector<Composition>& comps, const std::vector<double>& y,
                                          const ElementTable& table, const AttentionConfig& cfg, int n_splits,
                                          uint32_t seed, MetricsWriter* metrics) {
  auto fit = [&](const std::vector<size_t>& train, const std::vector<size_t>& test) -> Result<FoldOutput> {
    std::vector<Composition> ctr, cte;
    std::vector<double> ytr;
    for (size_t i : train) {
      ctr.push_back(comps[i]);
      ytr.push_back(y[i]);
    }
    for (size_t i : test) cte.push_back(comps[i]);
    auto model = FRAGUA_TRY(AttentionModel::train(ctr, ytr, table, cfg, metrics));
    FoldOutput o;
    o.pred = FRAGUA_TRY(model.predict(cte, table, cfg.threads));
    o.info = {
        {"model", "attention"}, {"zero_gate", model.config().zero_gate}, {"log_target", model.config().log_target}};
    return o;
  };
  return run_cross_validation(y, cfg.task, n_splits, seed, metrics, fit);
}

}  // namespace fragua::materials
