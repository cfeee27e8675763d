// SPDX-License-Identifier: Apache-2.0
// `fragua convert`: a Hugging Face Llama-family checkpoint to GGUF, after llama.cpp's
// convert_hf_to_gguf.py (LlamaModel, GraniteModel): the same keys, tensor names, Q/K row
// permutation, rope_freqs and file types, so the result also runs in llama.cpp.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "fragua/base/progress.h"
#include "fragua/format/model_card.h"
#include "fragua/format/safetensors.h"
#include "fragua/model/convert.h"
#include "fragua/tensor/half.h"
#include "fragua/tensor/quantize.h"
#include "model/arch.h"

namespace fragua::model {

namespace {

using format::TensorRole;

// llama.cpp's llama_ftype values (general.file_type).
uint32_t file_type(OutType t) {
  switch (t) {
    case OutType::f32:
      return 0;  // LLAMA_FTYPE_ALL_F32
    case OutType::f16:
      return 1;  // LLAMA_FTYPE_MOSTLY_F16
    case OutType::q8_0:
      return 7;  // LLAMA_FTYPE_MOSTLY_Q8_0
    case OutType::bf16:
      return 32;  // LLAMA_FTYPE_MOSTLY_BF16
  }
  return 0;
}

DType matrix_dtype(OutType t) {
  switch (t) {
    case OutType::f32:
      return DType::f32;
    case OutType::f16:
      return DType::f16;
    case OutType::bf16:
      return DType::bf16;
    case OutType::q8_0:
      return DType::q8_0;
  }
  return DType::f16;
}

std::string basename(const std::string& dir) {
  std::string d = dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  const auto slash = d.rfind('/');
  return slash == std::string::npos ? d : d.substr(slash + 1);
}

// general.source.url of a converted model: the Hugging Face repository it came from when that is
// known (a hub-cache snapshot, <cache>/models--org--name/snapshots/<commit>, or config.json's
// "_name_or_path" when it reads as org/name), else the directory's name, so that a model card
// says where the weights came from without writing the converting machine's paths.
std::string hf_convert_source(const std::string& dir, const format::HfConfig& cfg) {
  const std::string hub = "https://huggingface.co/";
  if (const auto at = dir.find("models--"); at != std::string::npos) {
    const auto end = dir.find("/snapshots/", at);
    const std::string folder = dir.substr(at + 8, end == std::string::npos ? std::string::npos : end - at - 8);
    if (const auto sep = folder.find("--"); end != std::string::npos && sep != std::string::npos && sep > 0)
      return hub + folder.substr(0, sep) + "/" + folder.substr(sep + 2);
  }
  const auto name_or_path = cfg.get_string("_name_or_path", "");
  const std::string named = name_or_path.ok() ? *name_or_path : std::string();
  const auto slash = named.find('/');
  const bool repo_like = slash != std::string::npos && slash > 0 && slash + 1 < named.size() &&
                         named.find('/', slash + 1) == std::string::npos &&
                         std::all_of(named.begin(), named.end(), [](char ch) {
                           return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                                  ch == '-' || ch == '_' || ch == '.' || ch == '/';
                         }) &&
                         named[0] != '.';
  if (repo_like) return hub + named;
  return basename(dir);
}

// Where each checkpoint tensor lives: the shards named by model.safetensors.index.json, or the
// one model.safetensors.
struct Checkpoint {
  std::vector<format::SafetensorsFile> files;
  std::map<std::string, std::pair<const format::SafetensorsFile*, const format::SafetensorsTensor*>> tensors;
};

Result<Checkpoint> open_checkpoint(const std::string& dir, Env& env) {
  Checkpoint ck;
  const std::string index_path = dir + "/model.safetensors.index.json";
  if (!env.file_exists(index_path)) {
    const std::string single = dir + "/model.safetensors";
    if (!env.file_exists(single))
      return not_found_error("{}: neither model.safetensors.index.json nor model.safetensors is there", dir);
    ck.files.push_back(FRAGUA_TRY(format::SafetensorsFile::open(single)));
    for (const auto& t : ck.files[0].tensors()) ck.tensors[t.name] = {&ck.files[0], &t};
    return ck;
  }
  const std::string text = FRAGUA_TRY(env.read_file(index_path));
  const auto index = FRAGUA_TRY(format::parse_hf_weight_index(text, index_path));
  ck.files.reserve(index.shards.size());  // the map below points into it
  std::map<std::string, const format::SafetensorsFile*> by_name;
  for (const auto& shard : index.shards) {
    ck.files.push_back(FRAGUA_TRY(format::SafetensorsFile::open(dir + "/" + shard)));
    by_name[shard] = &ck.files.back();
  }
  for (const auto& [name, shard] : index.weight_map) {
    const format::SafetensorsFile* f = by_name.at(shard);
    const format::SafetensorsTensor* t = f->find(name);
    if (!t)
      return corruption_error("{}: tensor '{}' is not in {}, where model.safetensors.index.json places it", f->path(),
                              name, shard);
    ck.tensors[name] = {f, t};
  }
  // A shard tensor the index does not list would be silently dropped: the index must be whole.
  for (const auto& f : ck.files)
    for (const auto& t : f.tensors())
      if (!index.weight_map.contains(t.name))
        return corruption_error("{}: tensor '{}' is missing from model.safetensors.index.json", f.path(), t.name);
  return ck;
}

// One planned GGUF tensor and where its data comes from.
struct Planned {
  const format::TensorSpec* spec;
  std::string gguf_name;
  std::vector<int64_t> ne;
  DType dtype;
  const format::SafetensorsFile* file = nullptr;  // null: rope_freqs, computed
  const format::SafetensorsTensor* src = nullptr;
  int64_t n_head_permute = 0;  // attn_q / attn_k: heads of the rotate-half -> adjacent-pairs permutation
  HfPart part = HfPart::whole;
};

std::string shape_str(const std::vector<int64_t>& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

// The HF name of a role, for layer `layer`, and which part of that tensor it is.
std::string hf_name(const HfImport& hf, TensorRole role, int64_t layer, HfPart* part = nullptr) {
  for (const auto& n : hf.tensors)
    if (n.role == role) {
      if (part != nullptr) *part = n.part;
      return fmt::format(fmt::runtime(n.name), layer);
    }
  return {};
}

// Whether a checkpoint shape holds a GGUF tensor of PyTorch-order shape `want`: equal but for
// size-1 dimensions (a depthwise conv1d's [channels, 1, kernel], Mamba's [heads] A and D that
// GGUF keeps as [heads, 1]), or, for a half, with twice the rows.
bool hf_shape_fits(std::vector<int64_t> have, std::vector<int64_t> want, HfPart part) {
  if (part == HfPart::first_half || part == HfPart::second_half) {
    if (want.size() < 2) return false;
    want[want.size() - 2] *= 2;
    return have == want;
  }
  std::erase(have, 1);
  std::erase(want, 1);
  return have == want;
}

Result<std::vector<Planned>> plan(const Architecture& arch, const format::LlamaHParams& hp, OutType out,
                                  const format::HfConfig& cfg, const Checkpoint& ck) {
  std::vector<Planned> planned;
  std::map<std::string, bool> used;
  for (const auto& [name, _] : ck.tensors) used[name] = false;
  for (auto& slot : format::tensor_slots(arch.tensors, hp)) {
    const format::TensorSpec& spec = *slot.spec;
    Planned p{&spec, slot.name, slot.ne, DType::f32};
    if (!spec.f32_only) {
      p.dtype = matrix_dtype(out);
      if (p.dtype == DType::q8_0 && p.ne[0] % 32 != 0) p.dtype = DType::f16;
    }
    if (spec.role == TensorRole::rope_freqs) {
      if (cfg.rope_freqs().empty()) continue;
      planned.push_back(std::move(p));
      continue;
    }
    HfPart part = HfPart::whole;
    const std::string name = hf_name(*arch.hf, spec.role, slot.layer, &part);
    auto it = name.empty() ? ck.tensors.end() : ck.tensors.find(name);
    if (it == ck.tensors.end()) {
      if (spec.presence == format::Presence::optional) continue;
      return not_found_error("tensor '{}' ({}) is in no safetensors file of the checkpoint", name, slot.name);
    }
    used[name] = true;
    const auto* st = it->second.second;
    // PyTorch order is GGML's reversed: a Linear(in, out) weight is [out, in], ne = [in, out].
    std::vector<int64_t> want(slot.ne.rbegin(), slot.ne.rend());
    if (!hf_shape_fits(st->shape, want, part))
      return corruption_error("{}: tensor '{}' has shape {}, but config.json implies {} for {}",
                              it->second.first->path(), name, shape_str(st->shape), shape_str(want), slot.name);
    if (st->dtype != "F32" && st->dtype != "F16" && st->dtype != "BF16")
      return unsupported_error("{}: tensor '{}' is {} (F32, F16 and BF16 are converted)", it->second.first->path(),
                               name, st->dtype);
    p.file = it->second.first;
    p.src = st;
    p.part = part;
    // NeoX-order architectures (qwen2) keep the checkpoint's rotate-half rows as they are.
    if (arch.rope_mode == backend::RopeMode::normal) {
      if (spec.role == TensorRole::attn_q) p.n_head_permute = hp.n_head;
      if (spec.role == TensorRole::attn_k) p.n_head_permute = hp.n_head_kv;
    }
    planned.push_back(std::move(p));
  }
  // The untied head of a tied model, and the RoPE tables older checkpoints stored, carry nothing.
  const std::string lm_head = hf_name(*arch.hf, TensorRole::output, -1);
  for (const auto& [name, was_used] : used) {
    if (was_used || name.ends_with(".rotary_emb.inv_freq") || (hp.tied_output && name == lm_head)) continue;
    const auto& [file, t] = ck.tensors.at(name);
    return unsupported_error("{}: tensor '{}' has no place in a {} model", file->path(), name, arch.name);
  }
  return planned;
}

// Row r of a permuted Q or K matrix (rows of head_dim per head): transformers keeps each head's
// rotated pairs as (i, i + d/2) (rotate_half), GGML's "normal" RoPE as (2i, 2i + 1); row
// 2i + j of a head comes from row j * d/2 + i (llama.cpp's LlamaModel.permute).
int64_t source_row(int64_t r, int64_t n_rows, int64_t n_head) {
  if (n_head == 0) return r;
  const int64_t d = n_rows / n_head, h = r / d, k = r % d;
  return h * d + (k % 2) * (d / 2) + k / 2;
}

void load_row(const format::SafetensorsTensor& t, int64_t row, int64_t n, float* dst) {
  const uint8_t* p = t.data + static_cast<uint64_t>(row * n) * format::safetensors_dtype_size(t.dtype);
  if (t.dtype == "F32") {
    std::memcpy(dst, p, static_cast<size_t>(n) * 4);
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, p + 2 * i, 2);
    dst[i] = t.dtype == "F16" ? fp16_to_fp32(h) : bf16_to_fp32(h);
  }
}

Status encode_rows(DType type, const float* src, int64_t n, std::string& out) {
  const size_t at = out.size();
  out.resize(at + row_size(type, n));
  char* dst = out.data() + at;
  switch (type) {
    case DType::f32:
      std::memcpy(dst, src, static_cast<size_t>(n) * 4);
      return {};
    case DType::f16:
    case DType::bf16:
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = type == DType::f16 ? fp32_to_fp16(src[i]) : fp32_to_bf16(src[i]);
        std::memcpy(dst + 2 * i, &h, 2);
      }
      return {};
    default:
      return quantize_rows(type, src, dst, 1, n);
  }
}

Status fill(const Planned& p, const format::HfConfig& cfg, std::string& out) {
  const int64_t n_cols = p.ne[0];
  int64_t n_rows = 1;  // over every matrix of a 3-D (experts) tensor
  for (size_t d = 1; d < p.ne.size(); ++d) n_rows *= p.ne[d];
  const int64_t half = p.ne.size() > 1 ? p.ne[1] : 1;  // rows of one matrix
  out.reserve(tensor_bytes(p.dtype, p.ne).value_or(0));
  if (!p.src) return encode_rows(p.dtype, cfg.rope_freqs().data(), n_cols, out);
  std::vector<float> row(static_cast<size_t>(n_cols));
  for (int64_t r = 0; r < n_rows; ++r) {
    int64_t src = source_row(r, n_rows, p.n_head_permute);
    if (p.part == HfPart::first_half || p.part == HfPart::second_half)
      src = r / half * 2 * half + r % half + (p.part == HfPart::second_half ? half : 0);
    load_row(*p.src, src, n_cols, row.data());
    if (p.part == HfPart::neg_exp)
      for (float& v : row) v = -std::exp(v);
    FRAGUA_TRY(encode_rows(p.dtype, row.data(), n_cols, out));
  }
  p.file->release(*p.src);
  return {};
}

}  // namespace

Result<OutType> parse_out_type(std::string_view name) {
  for (OutType t : {OutType::f32, OutType::f16, OutType::bf16, OutType::q8_0})
    if (out_type_name(t) == name) return t;
  return invalid_argument_error("output type '{}' is not one of f32, f16, bf16, q8_0", name);
}

std::string_view out_type_name(OutType t) {
  switch (t) {
    case OutType::f32:
      return "f32";
    case OutType::f16:
      return "f16";
    case OutType::bf16:
      return "bf16";
    case OutType::q8_0:
      return "q8_0";
  }
  return "?";
}

Result<ConvertReport> convert_hf(const std::string& dir, const std::string& out_path, const ConvertOptions& o) {
  Env& env = o.env ? *o.env : Env::posix();
  const std::string cfg_path = dir + "/config.json";
  const std::string cfg_text = FRAGUA_TRY(env.read_file(cfg_path));
  const auto cfg = FRAGUA_TRY(format::HfConfig::parse(cfg_text, cfg_path));
  const Architecture* arch = find_hf_architecture(cfg.architecture());
  if (!arch)
    return unsupported_error("{}: \"architectures\" '{}' is not supported (known: {})", cfg_path, cfg.architecture(),
                             known_hf_architectures());
  format::LlamaHParams hp = cfg.hparams();
  FRAGUA_TRY(arch->hf->read_config(cfg, hp));

  const auto tok = FRAGUA_TRY(load_hf_tokenizer(dir, o.tokenizer, hp.n_vocab, env));
  const auto ck = FRAGUA_TRY(open_checkpoint(dir, env));
  const auto planned = FRAGUA_TRY(plan(*arch, hp, o.out_type, cfg, ck));

  format::GgufWriter w;
  w.set("general.architecture", format::GgufValue::of_string(std::string(arch->name)));
  format::ModelCard card;
  card.source_url = hf_convert_source(dir, cfg);
  // A hub snapshot's folder is a commit hash: the model is named after its repository then.
  card.name = card.source_url.starts_with("https://") ? basename(card.source_url) : basename(dir);
  format::set_model_card(w, card);
  w.set("general.file_type", format::GgufValue::of_u32(file_type(o.out_type)));
  w.set("general.quantization_version", format::GgufValue::of_u32(2));  // GGML_QNT_VERSION
  format::write_llama_hparams(w, arch->name, hp);
  format::write_float_keys(w, arch->name, arch->float_keys, hp);
  if (hp.n_expert > 0) format::write_moe_hparams(w, arch->name, hp);
  if (hp.ssm_d_conv > 0) format::write_ssm_hparams(w, arch->name, hp);
  tok.write_gguf_metadata(w);
  w.set("fragua.convert.source", format::GgufValue::of_string(cfg.architecture()));
  w.set("fragua.convert.outtype", format::GgufValue::of_string(std::string(out_type_name(o.out_type))));
  for (const auto& p : planned) FRAGUA_TRY(w.declare_tensor(p.gguf_name, p.ne, p.dtype));

  std::unique_ptr<ProgressBar> bar;
  if (o.progress) bar = std::make_unique<ProgressBar>("convert", planned.size(), "tensors");
  FRAGUA_TRY(w.write_streaming(
      out_path,
      [&](size_t i, const format::GgufTensorInfo&, std::string& out) -> Status {
        FRAGUA_TRY(fill(planned[i], cfg, out));
        if (bar) bar->add(1);
        return {};
      },
      env));
  if (bar) bar->finish();

  ConvertReport report;
  report.architecture = std::string(arch->name);
  report.n_tensors = static_cast<int64_t>(planned.size());
  report.n_params = hp.n_params();
  report.n_bytes = FRAGUA_TRY(env.file_size(out_path));
  return report;
}

}  // namespace fragua::model
