#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Writes small random Hugging Face model directories and their reference logits, for the tests
of `fragua convert` (tests/model/convert_hf_test.cpp). Needs only Debian's python3-torch (no
transformers, no safetensors or tokenizers packages: the files are written here from their specs).

  llama_gqa/    LlamaForCausalLM: GQA (4 query heads, 2 KV heads), untied output, llama3 RoPE
                scaling, BF16 weights in two shards with model.safetensors.index.json, a
                SentencePiece BPE vocabulary made here (tokenizer.model and the same vocabulary as
                a SentencePiece-style tokenizer.json), vocab_size padded past the tokenizer,
                tokenizer_config.json with a list of named chat templates.
  granite_tied/ GraniteForCausalLM: tied embeddings, the four Granite multipliers, F32 weights in
                two shards, a byte-level BPE tokenizer.json, a string chat template.
  qwen2_tied/   Qwen2ForCausalLM: q/k/v projection biases, rope_theta 1e6, tied embeddings, F32,
                granite_tied's tokenizer (its rotate-half Q/K rows are GGUF's NeoX order: no permutation).

The logits come from a plain PyTorch implementation of transformers' modeling_llama.py and
modeling_granite.py in float64: rotate-half RoPE on the checkpoint's own Q/K layout (so the
converter's row permutation is what makes Fragua agree), repeat_kv for GQA, the llama3 inverse
frequency rule of transformers' _compute_llama3_parameters.

Usage: make_hf.py [OUT_DIR]   (default: tests/reference/model/hf beside this script)
Writes OUT_DIR/<model>/..., OUT_DIR/<model>.logits.f32 ([n_tokens, vocab_size] float32 LE) and
OUT_DIR/reference.json (token ids, the tokenizer test text and SentencePiece's encoding of it by
spm_encode, Debian's sentencepiece, when installed)."""
import json
import math
import os
import shutil
import struct
import subprocess
import sys
from collections import Counter

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "hf")
SP = "\u2581"
TEXT = ("La casa de la vila és a prop del riu. Etxea ibaiaren ondoan dago. "
        "A casa está preto do río, ñandú 20€!")
CORPUS = [
    "la casa de la vila es a prop del riu", "el riu passa per la vila", "la casa del poble",
    "etxea ibaiaren ondoan dago", "etxea eta ibaia", "a casa esta preto do rio", "o rio pasa pola vila",
    "la casa de la playa esta cerca del rio", "de la casa al rio", "ñandú en la casa",
]
TOKENS = [1, 17, 280, 42, 99, 7, 211, 256, 3, 128, 64, 200, 5, 77]


# ---- SentencePiece BPE vocabulary, trained here --------------------------------------------
def train_bpe(corpus, n_merges):
    """Greedy BPE over words marked with ▁ (SentencePiece's BPE trainer, without its sampling):
    characters first, then the most frequent adjacent pair each round (ties: first seen)."""
    words = Counter(SP + w for line in corpus for w in line.split())
    chars = sorted({c for w in words for c in w}, key=lambda c: (-sum(n * w.count(c) for w, n in words.items()), c))
    seqs = {w: list(w) for w in words}
    merges = []
    for _ in range(n_merges):
        pairs = Counter()
        for w, n in words.items():
            s = seqs[w]
            for a, b in zip(s, s[1:]):
                pairs[(a, b)] += n
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: kv[1])[0]
        merges.append(best)
        for w in words:
            s, out, i = seqs[w], [], 0
            while i < len(s):
                if i + 1 < len(s) and (s[i], s[i + 1]) == best:
                    out.append(s[i] + s[i + 1])
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            seqs[w] = out
    return chars, merges


def pb_varint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def pb_field(number, wire, payload):
    key = pb_varint(number << 3 | wire)
    if wire == 0:
        return key + pb_varint(payload)
    if wire == 5:
        return key + struct.pack("<f", payload)
    return key + pb_varint(len(payload)) + payload  # wire 2


def sentencepiece_model(pieces):
    """A ModelProto (sentencepiece_model.proto): pieces (1: piece, 2: score, 3: type), TrainerSpec
    (3: model_type BPE = 2, 35: byte_fallback), NormalizerSpec (1: name, 3: add_dummy_prefix,
    4: remove_extra_whitespaces, 5: escape_whitespaces)."""
    out = b""
    for text, score, typ in pieces:
        out += pb_field(1, 2, pb_field(1, 2, text.encode()) + pb_field(2, 5, score) + pb_field(3, 0, typ))
    out += pb_field(2, 2, pb_field(3, 0, 2) + pb_field(35, 0, 1))
    out += pb_field(3, 2, pb_field(1, 2, b"identity") + pb_field(3, 0, 1) + pb_field(4, 0, 0) + pb_field(5, 0, 1))
    return out


def spm_vocab():
    chars, merges = train_bpe(CORPUS, 64)
    # ids: <unk> <s> </s>, the 256 byte pieces, then merged pieces by score (SentencePiece's
    # order: merges first, single characters last, scores decreasing throughout).
    pieces = [("<unk>", 0.0, 2), ("<s>", 0.0, 3), ("</s>", 0.0, 3)]
    pieces += [("<0x%02X>" % b, 0.0, 6) for b in range(256)]
    scored = [a + b for a, b in merges] + chars
    seen = set()
    for i, p in enumerate(scored):
        if p not in seen:
            seen.add(p)
            pieces.append((p, -float(i), 1))
    return pieces, merges


def spm_tokenizer_json(pieces, merges):
    """The same vocabulary as a SentencePiece-style tokenizer.json (what transformers'
    LlamaConverter writes): BPE with byte_fallback, merges in score order, ▁ prepended and
    replacing spaces."""
    vocab = {p: i for i, (p, _, _) in enumerate(pieces)}
    added = [{"id": i, "content": pieces[i][0], "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i in range(3)]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": SP},
            {"type": "Replace", "pattern": {"String": " "}, "content": SP}]},
        "pre_tokenizer": None,
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": SP}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": vocab, "merges": [a + " " + b for a, b in merges]},
    }


def byte_level_tokenizer_json(specials, n_merges):
    """A GPT-2 style byte-level BPE (Granite's kind): the 256 byte symbols of GPT-2's
    bytes_to_unicode, merges learnt on the corpus in that alphabet, special tokens last."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    byte_map = {b: chr(c) for b, c in zip(bs, cs)}
    alphabet = [byte_map[b] for b in range(256)]
    words = Counter()
    for line in CORPUS:
        for i, w in enumerate(line.split()):
            words["".join(byte_map[b] for b in ((" " if i else "") + w).encode())] += 1
    seqs = {w: list(w) for w in words}
    merges, vocab = [], {c: i for i, c in enumerate(alphabet)}
    for _ in range(n_merges):
        pairs = Counter()
        for w, c in words.items():
            for a, b in zip(seqs[w], seqs[w][1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        a, b = max(pairs.items(), key=lambda kv: kv[1])[0]
        merges.append(a + " " + b)
        vocab.setdefault(a + b, len(vocab))
        for w in words:
            s, out, i = seqs[w], [], 0
            while i < len(s):
                if i + 1 < len(s) and s[i] == a and s[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            seqs[w] = out
    added = []
    for t in specials:
        vocab[t] = len(vocab)
        added.append({"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                      "normalized": False, "special": True})
    regex = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": merges},
    }


# ---- safetensors, by its spec ----------------------------------------------------------------
DTYPES = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16"}


def write_safetensors(path, tensors):
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        raw = t.contiguous().view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def write_sharded(d, tensors, first_shard_names):
    shards = [{k: v for k, v in tensors.items() if k in first_shard_names},
              {k: v for k, v in tensors.items() if k not in first_shard_names}]
    weight_map, total = {}, 0
    for i, shard in enumerate(shards):
        name = "model-%05d-of-%05d.safetensors" % (i + 1, len(shards))
        write_safetensors(os.path.join(d, name), shard)
        for k, v in shard.items():
            weight_map[k] = name
            total += v.numel() * v.element_size()
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)


# ---- the model, as transformers computes it --------------------------------------------------
def random_weights(cfg, dtype, gen):
    E, F, V, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"], cfg["num_hidden_layers"]
    H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    D = cfg.get("head_dim", E // H)

    def mat(o, i):
        return (torch.randn(o, i, generator=gen) / math.sqrt(i)).to(dtype)

    def norm(n):
        return (1 + 0.1 * torch.randn(n, generator=gen)).to(dtype)

    w = {"model.embed_tokens.weight": (torch.randn(V, E, generator=gen) * 0.5).to(dtype)}
    for l in range(L):
        p = "model.layers.%d." % l
        w[p + "input_layernorm.weight"] = norm(E)
        w[p + "self_attn.q_proj.weight"] = mat(H * D, E)
        w[p + "self_attn.k_proj.weight"] = mat(KV * D, E)
        w[p + "self_attn.v_proj.weight"] = mat(KV * D, E)
        w[p + "self_attn.o_proj.weight"] = mat(E, H * D)
        w[p + "post_attention_layernorm.weight"] = norm(E)
        w[p + "mlp.gate_proj.weight"] = mat(F, E)
        w[p + "mlp.up_proj.weight"] = mat(F, E)
        w[p + "mlp.down_proj.weight"] = mat(E, F)
    w["model.norm.weight"] = norm(E)
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = mat(V, E)
    if cfg["architectures"][0] == "Qwen2ForCausalLM":  # Qwen2Attention: q/k/v Linear layers with bias=True
        for l in range(L):
            p = "model.layers.%d.self_attn." % l
            for n, rows in (("q", H * D), ("k", KV * D), ("v", KV * D)):
                w[p + n + "_proj.bias"] = (0.5 * torch.randn(rows, generator=gen)).to(dtype)
    return w


def inv_freq(cfg, D):
    base = cfg["rope_theta"]
    f = 1.0 / (base ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
    rs = cfg.get("rope_scaling")
    if rs and rs["rope_type"] == "llama3":  # transformers' _compute_llama3_parameters
        factor, low, high = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        wavelen = 2 * math.pi / f
        scaled = torch.where(wavelen > old / low, f / factor, f)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < old / high) & ~(wavelen > old / low)
        f = torch.where(medium, smoothed, scaled)
    return f


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def forward(cfg, w, tokens):
    w = {k: v.to(torch.float64) for k, v in w.items()}
    E, L, H, KV = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    D = cfg.get("head_dim", E // H)
    eps = cfg["rms_norm_eps"]
    granite = cfg["architectures"][0] == "GraniteForCausalLM"
    emb_mul = cfg.get("embedding_multiplier", 1.0) if granite else 1.0
    res_mul = cfg.get("residual_multiplier", 1.0) if granite else 1.0
    scale = cfg.get("attention_multiplier", 1.0) if granite else D ** -0.5
    logit_div = cfg.get("logits_scaling", 1.0) if granite else 1.0
    T = len(tokens)

    def rms(x, g):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * g

    freqs = torch.outer(torch.arange(T, dtype=torch.float64), inv_freq(cfg, D))
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    mask = torch.full((T, T), float("-inf"), dtype=torch.float64).triu(1)
    x = w["model.embed_tokens.weight"][torch.tensor(tokens)] * emb_mul
    for l in range(L):
        p = "model.layers.%d." % l
        h = rms(x, w[p + "input_layernorm.weight"])
        bias = lambda n: w.get(p + "self_attn.%s_proj.bias" % n, 0.0)  # noqa: E731  (Qwen2)
        q = (h @ w[p + "self_attn.q_proj.weight"].T + bias("q")).view(T, H, D).transpose(0, 1)
        k = (h @ w[p + "self_attn.k_proj.weight"].T + bias("k")).view(T, KV, D).transpose(0, 1)
        v = (h @ w[p + "self_attn.v_proj.weight"].T + bias("v")).view(T, KV, D).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // KV, dim=0)  # repeat_kv
        v = v.repeat_interleave(H // KV, dim=0)
        att = torch.softmax(q @ k.transpose(1, 2) * scale + mask, dim=-1) @ v
        x = x + (att.transpose(0, 1).reshape(T, H * D) @ w[p + "self_attn.o_proj.weight"].T) * res_mul
        h = rms(x, w[p + "post_attention_layernorm.weight"])
        g = h @ w[p + "mlp.gate_proj.weight"].T
        u = h @ w[p + "mlp.up_proj.weight"].T
        x = x + ((torch.nn.functional.silu(g) * u) @ w[p + "mlp.down_proj.weight"].T) * res_mul
    head = w["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]
    return (rms(x, w["model.norm.weight"]) @ head.T) / logit_div


def write_model(name, cfg, dtype, seed, tokenizer_files, first_shard_layers=(0,)):
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    w = random_weights(cfg, dtype, torch.Generator().manual_seed(seed))
    first = {"model.embed_tokens.weight"} | {k for k in w for l in first_shard_layers if k.startswith("model.layers.%d." % l)}
    write_sharded(d, w, first)
    for fname, content in tokenizer_files.items():
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(os.path.join(d, fname), mode) as f:
            f.write(content)
    logits = forward(cfg, w, TOKENS).to(torch.float32)
    with open(os.path.join(OUT, name + ".logits.f32"), "wb") as f:
        f.write(logits.contiguous().view(torch.uint8).numpy().tobytes())


def main():
    os.makedirs(OUT, exist_ok=True)
    pieces, merges = spm_vocab()
    spm = sentencepiece_model(pieces)
    n_tok = len(pieces)
    llama_chat = ("{{ bos_token }}{% for m in messages %}{{ '[' + m['role'] + '] ' + m['content'] + eos_token }}"
                  "{% endfor %}{% if add_generation_prompt %}{{ '[assistant] ' }}{% endif %}")
    llama_cfg = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": (n_tok + 31) // 32 * 32,
        "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "head_dim": 16, "max_position_embeddings": 256, "rms_norm_eps": 1e-5,
        "rope_theta": 500000.0, "tie_word_embeddings": False, "hidden_act": "silu", "attention_bias": False,
        "mlp_bias": False, "torch_dtype": "bfloat16", "bos_token_id": 1, "eos_token_id": 2,
        "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                         "original_max_position_embeddings": 8192},
    }
    special = {str(i): {"content": pieces[i][0], "special": True, "lstrip": False, "rstrip": False,
                        "normalized": False, "single_word": False} for i in range(3)}
    llama_tok_cfg = {
        "add_bos_token": True, "add_eos_token": False, "added_tokens_decoder": special,
        "bos_token": "<s>", "eos_token": {"content": "</s>", "special": True}, "unk_token": "<unk>",
        "pad_token": None, "tokenizer_class": "LlamaTokenizer",
        "chat_template": [{"name": "default", "template": llama_chat},
                          {"name": "tool_use", "template": "{{ raise_exception('no tools here') }}"}],
    }
    write_model("llama_gqa", llama_cfg, torch.bfloat16, 7, {
        "tokenizer.model": spm,
        "tokenizer.json": json.dumps(spm_tokenizer_json(pieces, merges), ensure_ascii=False, indent=1),
        "tokenizer_config.json": json.dumps(llama_tok_cfg, ensure_ascii=False, indent=1),
    })

    specials = ["<|end_of_text|>", "<|start_of_role|>", "<|end_of_role|>"]
    gtok = byte_level_tokenizer_json(specials, 40)
    n_g = len(gtok["model"]["vocab"])
    granite_chat = ("{%- for m in messages %}{{- '<|start_of_role|>' + m['role'] + '<|end_of_role|>' + m['content'] "
                    "+ '<|end_of_text|>\\n' }}{%- endfor %}{%- if add_generation_prompt %}"
                    "{{- '<|start_of_role|>assistant<|end_of_role|>' }}{%- endif %}")
    granite_cfg = {
        "architectures": ["GraniteForCausalLM"], "model_type": "granite", "vocab_size": n_g, "hidden_size": 32,
        "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "max_position_embeddings": 512, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "rope_scaling": None,
        "tie_word_embeddings": True, "hidden_act": "silu", "attention_bias": False, "mlp_bias": False,
        "embedding_multiplier": 12.0, "attention_multiplier": 0.125, "residual_multiplier": 0.22,
        "logits_scaling": 8.0, "torch_dtype": "float32",
    }
    granite_tok_cfg = {
        "add_bos_token": False, "add_prefix_space": False, "bos_token": "<|end_of_text|>",
        "eos_token": "<|end_of_text|>", "pad_token": "<|end_of_text|>", "unk_token": "<|end_of_text|>",
        "chat_template": granite_chat, "tokenizer_class": "GPT2Tokenizer",
        "added_tokens_decoder": {str(gtok["model"]["vocab"][t]): {"content": t, "special": True} for t in specials},
    }
    write_model("granite_tied", granite_cfg, torch.float32, 8, {
        "tokenizer.json": json.dumps(gtok, ensure_ascii=False, indent=1),
        "tokenizer_config.json": json.dumps(granite_tok_cfg, ensure_ascii=False, indent=1),
    })

    # Qwen2ForCausalLM: q/k/v biases, rope_theta 1e6, tied head (as Qwen2.5-0.5B), the sliding
    # window off as in released checkpoints; the byte-level tokenizer above.
    qwen2_cfg = {
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": n_g, "hidden_size": 32,
        "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "max_position_embeddings": 512, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "rope_scaling": None,
        "tie_word_embeddings": True, "hidden_act": "silu", "use_sliding_window": False, "sliding_window": 512,
        "max_window_layers": 2, "torch_dtype": "float32",
    }
    write_model("qwen2_tied", qwen2_cfg, torch.float32, 9, {
        "tokenizer.json": json.dumps(gtok, ensure_ascii=False, indent=1),
        "tokenizer_config.json": json.dumps(granite_tok_cfg, ensure_ascii=False, indent=1),
    })

    ref = {"tokens": TOKENS, "text": TEXT, "llama_gqa_vocab": n_tok}
    spm_encode = shutil.which("spm_encode")
    if spm_encode:
        out = subprocess.run([spm_encode, "--model", os.path.join(OUT, "llama_gqa", "tokenizer.model"),
                              "--output_format=id"], input=TEXT.encode(), capture_output=True, check=True)
        ref["spm_ids"] = [int(x) for x in out.stdout.split()]
    else:
        print("spm_encode (Debian sentencepiece) not installed: reference.json has no spm_ids", file=sys.stderr)
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(ref, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
