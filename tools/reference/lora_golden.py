#!/usr/bin/python3
"""Golden values for @loralab/lora: LoRA, rsLoRA, DoRA and PiSSA written directly from their defining formulas in
PyTorch (float64), following Hugging Face PEFT (peft/tuners/lora/layer.py, dora.py; PEFT itself is not needed), and
two PEFT-format adapter folders on a tiny Llama with the logits they must produce.

  LoRA   y = x Wᵀ + b + s·(x Aᵀ) Bᵀ,  s = α/r (rsLoRA: α/√r),  ΔW = s·B·A
  DoRA   V = W + s·B·A,  n = ‖V‖ per output row,  W' = (m/n)[:, None] · V,  y = x W'ᵀ + b,  m₀ = n at init
  PiSSA  W = U S Vᵀ,  B = U_r diag(√(S_r/s)),  A = diag(√(S_r/s)) V_rᵀ,  W_res = W − s·B·A

Writes, under packages/lora/test/fixtures/:
  lora-golden.json   layer-level inputs and outputs (lora, rslora, dora, pissa)
  base/              a tiny Llama (config.json, model.safetensors, F32)
  peft-lora/, peft-dora/   adapter_config.json (as PEFT writes it, plus one key from the future) and
                     adapter_model.safetensors with PEFT's keys; their expected logits are in lora-golden.json
It also reads loralab-dora/ (written by loralab: tools/reference/lora_write_fixture.ts, run that first) with its own
safetensors reader and PEFT's key and config rules, and records the logits that folder implies.
The model forward is model_golden.py's independent Llama (weights replaced by the adapters' effective weights).
Run with Debian's python3 (apt-get install python3-torch python3-numpy):  /usr/bin/python3 tools/reference/lora_golden.py
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model_golden import forward, make_weights, write_safetensors  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'packages', 'lora', 'test', 'fixtures')
D = torch.float64


def r(x, digits=12):
    return [float(f'{v:.{digits}g}') for v in x.reshape(-1).tolist()]


def lora_case(g):
    out_f, in_f, rank, alpha, n = 6, 5, 2, 3.0, 3
    W = 0.5 * torch.randn(out_f, in_f, generator=g, dtype=D)
    b = 0.1 * torch.randn(out_f, generator=g, dtype=D)
    A = torch.randn(rank, in_f, generator=g, dtype=D) / math.sqrt(in_f)
    B = 0.3 * torch.randn(out_f, rank, generator=g, dtype=D)
    x = torch.randn(n, in_f, generator=g, dtype=D)
    case = dict(out=out_f, inp=in_f, r=rank, alpha=alpha, W=r(W), b=r(b), A=r(A), B=r(B), x=r(x))
    for name, s in [('lora', alpha / rank), ('rslora', alpha / math.sqrt(rank))]:
        y = x @ W.T + b + s * (x @ A.T) @ B.T
        case[name] = dict(scaling=s, y=r(y), delta=r(s * B @ A), merged=r(W + s * B @ A))
    # DoRA, PEFT's row norms: ‖W + s·B·A‖ over dim 1 of the (out, in) weight.
    s = alpha / rank
    V = W + s * B @ A
    m0 = torch.linalg.norm(V, dim=1)
    m = m0 * (1 + 0.2 * torch.randn(out_f, generator=g, dtype=D))  # a "trained" magnitude
    Wd = (m / m0)[:, None] * V
    case['dora'] = dict(scaling=s, magnitude_init=r(m0), magnitude=r(m), y=r(x @ Wd.T + b), merged=r(Wd),
                        delta=r(Wd - W))
    # Gradients of L = Σ y ⊙ G (G a fixed random cotangent) w.r.t. the adapter parameters; W and b are frozen.
    # DoRA treats ‖W + s·B·A‖_row as a constant (.detach(), paper §4.3 and PEFT).
    G = torch.randn(n, out_f, generator=torch.Generator().manual_seed(7), dtype=D)
    a, bb = A.clone().requires_grad_(True), B.clone().requires_grad_(True)
    ((x @ W.T + b + s * (x @ a.T) @ bb.T) * G).sum().backward()
    case['grad_cotangent'] = r(G)
    case['lora']['grad_A'], case['lora']['grad_B'] = r(a.grad), r(bb.grad)
    a, bb, mm = A.clone().requires_grad_(True), B.clone().requires_grad_(True), m.clone().requires_grad_(True)
    norm = torch.linalg.norm(W + s * bb @ a, dim=1).detach()
    y = x @ W.T + b + (mm / norm - 1) * (x @ W.T) + (mm / norm) * (s * (x @ a.T) @ bb.T)
    (y * G).sum().backward()
    case['dora'].update(grad_A=r(a.grad), grad_B=r(bb.grad), grad_magnitude=r(mm.grad))
    return case


def pissa_case(g, out_f, in_f, rank, alpha):
    W = torch.randn(out_f, in_f, generator=g, dtype=D) / math.sqrt(in_f)
    s = alpha / rank
    U, S, Vh = torch.linalg.svd(W, full_matrices=False)
    Sr = S[:rank] / s
    A = torch.diag(torch.sqrt(Sr)) @ Vh[:rank]
    B = U[:, :rank] @ torch.diag(torch.sqrt(Sr))
    res = W - s * B @ A
    return dict(out=out_f, inp=in_f, r=rank, alpha=alpha, scaling=s, W=r(W), S=r(S), A=r(A), B=r(B),
                residual=r(res), principal=r(s * B @ A))


CONFIG = dict(vocab_size=48, hidden_size=16, intermediate_size=24, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, rms_norm_eps=1e-6, rope_theta=10000.0, rope_scaling=None,
              tie_word_embeddings=False, attention_bias=False, mlp_bias=False, max_position_embeddings=64,
              bos_token_id=1, eos_token_id=2)

PROJ = ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'mlp.gate_proj',
        'mlp.up_proj', 'mlp.down_proj']


def peft_config(**kw):
    """adapter_config.json as PEFT 0.13 writes it (json.dumps(sort_keys=True, indent=2))."""
    c = dict(alpha_pattern={}, auto_mapping=None, base_model_name_or_path='tiny-llama', bias='none',
             fan_in_fan_out=False, inference_mode=True, init_lora_weights=True, layer_replication=None,
             layers_pattern=None, layers_to_transform=None, loftq_config={}, lora_alpha=8, lora_dropout=0.05,
             megatron_config=None, megatron_core='megatron.core', modules_to_save=None, peft_type='LORA', r=4,
             rank_pattern={}, revision=None, target_modules=None, task_type='CAUSAL_LM', use_dora=False,
             use_rslora=False)
    c.update(kw)
    return c


def adapter_folder(g, w, name, cfg, targets, rank_of, alpha_of, dora):
    """Writes the folder; returns the effective weights (float64) of the adapted model."""
    eff = {k: v.to(D) for k, v in w.items()}
    tensors = {}
    for mod in targets:
        W = eff[mod + '.weight']
        rk, al = rank_of(mod), alpha_of(mod)
        s = al / math.sqrt(rk) if cfg['use_rslora'] else al / rk
        A = (torch.randn(rk, W.shape[1], generator=g, dtype=D) / math.sqrt(W.shape[1])).to(torch.float32)
        B = (0.2 * torch.randn(W.shape[0], rk, generator=g, dtype=D)).to(torch.float32)
        key = f'base_model.model.{mod}'
        tensors[key + '.lora_A.weight'] = A
        tensors[key + '.lora_B.weight'] = B
        V = W + s * B.to(D) @ A.to(D)
        if dora:
            m = (torch.linalg.norm(V, dim=1) * (1 + 0.1 * torch.randn(W.shape[0], generator=g, dtype=D))).to(torch.float32)
            tensors[key + '.lora_magnitude_vector'] = m
            V = (m.to(D) / torch.linalg.norm(V, dim=1))[:, None] * V
        eff[mod + '.weight'] = V
    os.makedirs(os.path.join(ROOT, name), exist_ok=True)
    with open(os.path.join(ROOT, name, 'adapter_config.json'), 'w') as f:
        f.write(json.dumps(cfg, indent=2, sort_keys=True))
    write_safetensors(os.path.join(ROOT, name, 'adapter_model.safetensors'), tensors)
    return eff


def read_safetensors(path):
    """A minimal independent reader (F32 only, which is what the fixture holds)."""
    import struct as st
    with open(path, 'rb') as f:
        n = st.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, e in header.items():
        if k == '__metadata__':
            continue
        assert e['dtype'] == 'F32', e
        a, b = e['data_offsets']
        out[k] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(e['shape']).to(D)
    return out


def apply_peft_folder(w, folder):
    """Effective weights of base `w` with the adapter folder applied, reading it as PEFT does: keys
    base_model.model.<module>.lora_A.weight / lora_B.weight / lora_magnitude_vector / <module>.weight (modules_to_save);
    per-module r and alpha from rank_pattern / alpha_pattern (exact key, else `(.*\\.)?(key)$`)."""
    import re
    with open(os.path.join(folder, 'adapter_config.json')) as f:
        cfg = json.load(f)
    t = read_safetensors(os.path.join(folder, 'adapter_model.safetensors'))
    eff = {k: v.to(D) for k, v in w.items()}

    def pattern(p, key, default):
        if key in p:
            return p[key]
        for k, v in p.items():
            if re.match(rf'(.*\.)?({k})$', key):
                return v
        return default

    prefix = 'base_model.model.'
    for key in t:
        if not key.endswith('.lora_A.weight'):
            continue
        mod = key[len(prefix):-len('.lora_A.weight')]
        A, B = t[key], t[prefix + mod + '.lora_B.weight']
        rk = pattern(cfg['rank_pattern'], mod, cfg['r'])
        al = pattern(cfg['alpha_pattern'], mod, cfg['lora_alpha'])
        assert A.shape[0] == rk, (mod, A.shape, rk)
        s = al / math.sqrt(rk) if cfg['use_rslora'] else al / rk
        V = eff[mod + '.weight'] + s * B @ A
        if cfg['use_dora']:
            m = t[prefix + mod + '.lora_magnitude_vector']
            V = (m / torch.linalg.norm(V, dim=1))[:, None] * V
        eff[mod + '.weight'] = V
    for mod in cfg['modules_to_save'] or []:
        for kind in ('weight', 'bias'):
            k = f'{prefix}{mod}.{kind}'
            if k in t:
                eff[f'{mod}.{kind}'] = t[k]
    return eff


def main():
    g = torch.Generator().manual_seed(2024)
    out = {'generator': 'tools/reference/lora_golden.py', 'torch': torch.__version__,
           'layer': lora_case(g),
           'pissa': [pissa_case(g, 7, 5, 3, 6.0), pissa_case(g, 4, 9, 2, 2.0)]}
    # A tiny Llama and two PEFT adapter folders.
    w = make_weights(CONFIG, seed=77)
    base = os.path.join(ROOT, 'base')
    os.makedirs(base, exist_ok=True)
    with open(os.path.join(base, 'config.json'), 'w') as f:
        json.dump(dict(architectures=['LlamaForCausalLM'], model_type='llama', hidden_act='silu',
                       initializer_range=0.02, **CONFIG), f, indent=2)
    write_safetensors(os.path.join(base, 'model.safetensors'), w)
    ids = torch.randint(0, CONFIG['vocab_size'], (2, 7), generator=g)
    layers = range(CONFIG['num_hidden_layers'])
    w64 = {k: v.to(D) for k, v in w.items()}
    out['model'] = {'input_ids': ids.tolist(), 'base_logits': r(forward(CONFIG, w64, ids), 9)}

    # 1. all seven projections, rank 4 (down_proj 2 by rank_pattern), alpha 8 (one module 3 by alpha_pattern), plus a
    #    key a newer PEFT might write.
    cfg = peft_config(target_modules=['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
                      rank_pattern={'mlp.down_proj': 2}, alpha_pattern={'model.layers.1.self_attn.q_proj': 3},
                      some_future_field={'x': 1})
    targets = [f'model.layers.{l}.{p}' for l in layers for p in PROJ]
    eff = adapter_folder(g, w, 'peft-lora', cfg, targets,
                         lambda m: 2 if m.endswith('mlp.down_proj') else 4,
                         lambda m: 3 if m == 'model.layers.1.self_attn.q_proj' else 8, dora=False)
    out['model']['peft-lora'] = r(forward(CONFIG, eff, ids), 9)

    # 2. DoRA + rsLoRA on q_proj and v_proj of layer 1 only (layers_to_transform).
    cfg = peft_config(target_modules=['q_proj', 'v_proj'], use_dora=True, use_rslora=True, layers_to_transform=[1],
                      r=2, lora_alpha=4)
    targets = ['model.layers.1.self_attn.q_proj', 'model.layers.1.self_attn.v_proj']
    eff = adapter_folder(g, w, 'peft-dora', cfg, targets, lambda m: 2, lambda m: 4, dora=True)
    out['model']['peft-dora'] = r(forward(CONFIG, eff, ids), 9)

    # 3. A folder written by loralab, read here independently.
    written = os.path.join(ROOT, 'loralab-dora')
    if os.path.exists(written):
        eff = apply_peft_folder(w, written)
        out['model']['loralab-dora'] = r(forward(CONFIG, eff, ids), 9)

    with open(os.path.join(ROOT, 'lora-golden.json'), 'w') as f:
        json.dump(out, f, separators=(',', ':'))


if __name__ == '__main__':
    main()
