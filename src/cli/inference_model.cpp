// SPDX-License-Identifier: Apache-2.0
#include "cli/inference_model.h"

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "cli/command.h"
#include "fragua/base/log.h"
#include "fragua/format/gguf.h"
#include "fragua/model/quantize.h"

namespace fragua::cli {

model::LoadedModel open_inference_model(const std::string& path, const model::OpenOptions& open,
                                        const char* command) {
  const auto t0 = std::chrono::steady_clock::now();
  auto m = check(model::open_model(path, open));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto& c = m.model->config();
  const int64_t n_ctx = m.context->n_ctx();
  if (c.n_ctx_train > 0 && n_ctx > c.n_ctx_train)
    // Accepted, as llama.cpp does: positions past the training length may read as noise.
    log_warn("{}: a context of {} tokens is larger than the {} {} was trained on; output past {} tokens may degrade",
             command, n_ctx, c.n_ctx_train, m.path, c.n_ctx_train);
  if (log_level() <= LogLevel::debug) {
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(m.path, ec);
    // general.file_type is llama.cpp's llama_ftype number; its absence is no error.
    const auto ftype = m.model->gguf().get_uint_or("general.file_type", UINT64_MAX);
    std::string type = "type unknown";
    if (ftype.ok() && *ftype != UINT64_MAX) {
      type = fmt::format("file type {}", *ftype);
      for (const auto& q : model::quantize_types())
        if (q.ftype == *ftype) type = q.name;
    }
    log_debug("{}: loaded {} ({}, arch {}, {}, {:.1f} MB) in {:.3f} s; context {} of {} trained; {} thread(s)", command,
              m.path, c.name.empty() ? "unnamed" : c.name, c.arch, type, ec ? 0.0 : static_cast<double>(bytes) / 1e6,
              seconds, n_ctx, c.n_ctx_train, m.context->backend().n_threads());
  }
  return m;
}

void report_stop_reason(const model::GenerateResult& r, int64_t n_ctx, const char* command) {
  if (r.stop_reason == "context")
    std::fprintf(stderr,
                 "fragua %s: stopped after %zu tokens: the context of %lld tokens is full (-c/--ctx-size sets it)\n",
                 command, r.tokens.size(), static_cast<long long>(n_ctx));
}

}  // namespace fragua::cli
