// SPDX-License-Identifier: Apache-2.0
// Every environment variable the library reads, in one place (docs/architecture.md lists them).
// Flags of the CLI are the primary interface; these exist for deployment (data location), for
// A/B benchmarking (SIMD level, weight packing) and for MPI launchers, which announce themselves
// through the environment.
#pragma once

#include <string>
#include <string_view>

namespace fragua {

struct RuntimeOptions {
  std::string data_dir;       // FRAGUA_DATA_DIR: folder holding langid/ and materials/
  std::string langid_model;   // FRAGUA_LANGID_MODEL: language-id model used instead of the bundled one
  std::string lambda_json;    // FRAGUA_LAMBDA_JSON: ion-substitution probabilities (pymatgen's lambda.json)
  std::string simd;           // FRAGUA_SIMD: avx512, avx2 or scalar; ignored when the CPU lacks it
  bool pack_weights = true;   // FRAGUA_PACK=0 keeps quantized weights in the file's layout
  int threads = 0;            // FRAGUA_THREADS: default thread count (0: one per core)
  int ssm_chunk = 0;          // FRAGUA_SSM_CHUNK: Mamba-2 prompt scan in chunks of this many tokens
                              // (the SSD form); 0 or unset: the recurrent form (docs/engine.md)
  bool mpi_launched = false;  // OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK set by mpirun/srun
  // The Hugging Face hub, under the names huggingface_hub reads (so one setting serves both).
  std::string hf_endpoint;    // HF_ENDPOINT: hub or mirror URL ("" : https://huggingface.co)
  std::string hf_token;       // HF_TOKEN: access token for gated and private repositories
  std::string hf_hub_cache;   // the hub cache: HF_HUB_CACHE, else HF_HOME/hub, else
                              // $XDG_CACHE_HOME/huggingface/hub, else $HOME/.cache/huggingface/hub
  bool hf_hub_offline = false;  // HF_HUB_OFFLINE=1 (or true/yes/on): the cache only, no network
};

// Read from the environment at each call (a getenv per field): tests and benchmarks switch them
// between calls in one process, and none is read on a hot path.
RuntimeOptions runtime_options();

// A variable whose name the user gives (an API key's, `fragua eval --api-key-env NAME`): its value,
// "" when unset.
std::string named_env_value(std::string_view name);

}  // namespace fragua
