#!/usr/bin/python3
"""Golden values for @loralab/model: an independent PyTorch implementation of Hugging Face `LlamaForCausalLM`
(transformers/models/llama/modeling_llama.py: RMSNorm, rotate_half RoPE incl. llama3 scaling, GQA via repeat_kv,
SwiGLU, shifted cross-entropy with ignore_index -100), evaluated in float64 on tiny models.

Writes, under packages/model/test/fixtures/:
  golden-<name>/config.json, golden-<name>/model.safetensors  the tiny models (F32 weights)
  golden.json   per model: inputs, labels, logits, summed loss, token count and gradients of a few parameters
  dtypes.safetensors + dtypes.json   an F16 and a BF16 tensor encoded by PyTorch, with their float values

Run with Debian's python3 (apt-get install python3-torch python3-numpy):
  /usr/bin/python3 tools/reference/model_golden.py
The TypeScript tests compare in float32 against these float64 values; tolerances are stated in the tests.
"""
import json
import math
import os
import struct

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'packages', 'model', 'test', 'fixtures')

CONFIGS = {
    # tied embeddings, GQA 4 query heads over 2 kv heads, no rope scaling, no biases
    'tied': dict(vocab_size=48, hidden_size=16, intermediate_size=24, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, rms_norm_eps=1e-6, rope_theta=10000.0, rope_scaling=None,
                 tie_word_embeddings=True, attention_bias=False, mlp_bias=False, max_position_embeddings=64,
                 bos_token_id=1, eos_token_id=2),
    # untied lm_head, GQA 4 over 1, head_dim 8 (2 heads' worth: hidden 16 / 2 heads), llama3 rope scaling, q/k/v/o bias
    'untied': dict(vocab_size=48, hidden_size=16, intermediate_size=20, num_hidden_layers=2, num_attention_heads=2,
                   num_key_value_heads=1, rms_norm_eps=1e-5, rope_theta=500000.0,
                   rope_scaling=dict(rope_type='llama3', factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                     original_max_position_embeddings=16),
                   tie_word_embeddings=False, attention_bias=True, mlp_bias=True, max_position_embeddings=64,
                   bos_token_id=1, eos_token_id=2),
}

GRAD_KEYS = [
    'model.embed_tokens.weight',
    'model.layers.0.self_attn.q_proj.weight',
    'model.layers.0.self_attn.k_proj.weight',
    'model.layers.0.input_layernorm.weight',
    'model.layers.1.mlp.down_proj.weight',
    'model.norm.weight',
]


def param_shapes(c):
    d, hs = c['hidden_size'], c['hidden_size'] // c['num_attention_heads']
    nh, nkv, inter = c['num_attention_heads'], c['num_key_value_heads'], c['intermediate_size']
    shapes = {'model.embed_tokens.weight': (c['vocab_size'], d)}
    for l in range(c['num_hidden_layers']):
        p = f'model.layers.{l}'
        shapes[f'{p}.input_layernorm.weight'] = (d,)
        for n, o, i in [('q_proj', nh * hs, d), ('k_proj', nkv * hs, d), ('v_proj', nkv * hs, d), ('o_proj', d, nh * hs)]:
            shapes[f'{p}.self_attn.{n}.weight'] = (o, i)
            if c['attention_bias']:
                shapes[f'{p}.self_attn.{n}.bias'] = (o,)
        shapes[f'{p}.post_attention_layernorm.weight'] = (d,)
        for n, o, i in [('gate_proj', inter, d), ('up_proj', inter, d), ('down_proj', d, inter)]:
            shapes[f'{p}.mlp.{n}.weight'] = (o, i)
            if c['mlp_bias']:
                shapes[f'{p}.mlp.{n}.bias'] = (o,)
    shapes['model.norm.weight'] = (d,)
    if not c['tie_word_embeddings']:
        shapes['lm_head.weight'] = (c['vocab_size'], d)
    return shapes


def make_weights(c, seed):
    g = torch.Generator().manual_seed(seed)
    w = {}
    for k, s in param_shapes(c).items():
        if k.endswith('norm.weight'):
            t = 1 + 0.1 * torch.randn(s, generator=g)
        elif k.endswith('.bias'):
            t = 0.1 * torch.randn(s, generator=g)
        else:
            t = 0.3 * torch.randn(s, generator=g)
        w[k] = t.to(torch.float32)
    return w


def inv_freq(c):
    dim = c['hidden_size'] // c['num_attention_heads']
    inv = 1.0 / (c['rope_theta'] ** (torch.arange(0, dim, 2, dtype=torch.int64).to(torch.float64) / dim))
    s = c['rope_scaling']
    if s is None:
        return inv
    if s['rope_type'] == 'linear':
        return inv / s['factor']
    # transformers.modeling_rope_utils._compute_llama3_parameters
    factor, low, high, old = s['factor'], s['low_freq_factor'], s['high_freq_factor'], s['original_max_position_embeddings']
    low_wavelen, high_wavelen = old / low, old / high
    wavelen = 2 * math.pi / inv
    inv_l = torch.where(wavelen > low_wavelen, inv / factor, inv)
    smooth = (old / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
    medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
    return torch.where(medium, smoothed, inv_l)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def forward(c, w, ids):
    B, T = ids.shape
    d, nh, nkv = c['hidden_size'], c['num_attention_heads'], c['num_key_value_heads']
    hs = d // nh
    lin = lambda x, name: x @ w[name + '.weight'].T + (w[name + '.bias'] if name + '.bias' in w else 0)
    pos = torch.arange(T, dtype=torch.float64)[None, :].expand(B, T)
    freqs = pos[:, :, None] * inv_freq(c)[None, None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[:, None], emb.sin()[:, None]  # (B, 1, T, hs)
    causal = torch.full((T, T), float('-inf'), dtype=torch.float64).triu(1)
    x = w['model.embed_tokens.weight'][ids]
    for l in range(c['num_hidden_layers']):
        p = f'model.layers.{l}'
        h = rms_norm(x, w[f'{p}.input_layernorm.weight'], c['rms_norm_eps'])
        q = lin(h, f'{p}.self_attn.q_proj').view(B, T, nh, hs).transpose(1, 2)
        k = lin(h, f'{p}.self_attn.k_proj').view(B, T, nkv, hs).transpose(1, 2)
        v = lin(h, f'{p}.self_attn.v_proj').view(B, T, nkv, hs).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(nh // nkv, dim=1)  # repeat_kv
        v = v.repeat_interleave(nh // nkv, dim=1)
        att = torch.softmax(q @ k.transpose(2, 3) / math.sqrt(hs) + causal, dim=-1)
        o = (att @ v).transpose(1, 2).reshape(B, T, d)
        x = x + lin(o, f'{p}.self_attn.o_proj')
        h = rms_norm(x, w[f'{p}.post_attention_layernorm.weight'], c['rms_norm_eps'])
        g = lin(h, f'{p}.mlp.gate_proj')
        x = x + lin(torch.nn.functional.silu(g) * lin(h, f'{p}.mlp.up_proj'), f'{p}.mlp.down_proj')
    x = rms_norm(x, w['model.norm.weight'], c['rms_norm_eps'])
    head = w['model.embed_tokens.weight'] if c['tie_word_embeddings'] else w['lm_head.weight']
    return x @ head.T


def loss_fn(logits, labels):
    V = logits.shape[-1]
    shift_logits = logits[:, :-1].reshape(-1, V)
    shift_labels = labels[:, 1:].reshape(-1)
    loss = torch.nn.functional.cross_entropy(shift_logits, shift_labels, ignore_index=-100, reduction='sum')
    return loss, int((shift_labels != -100).sum())


def write_safetensors(path, tensors, dtype_of=lambda k: 'F32'):
    header, blobs, at = {}, [], 0
    for k in sorted(tensors):
        t = tensors[k]
        dt = dtype_of(k)
        raw = t.to({'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16}[dt]).contiguous()
        b = raw.view(torch.int16).numpy().tobytes() if dt != 'F32' else raw.numpy().astype('<f4').tobytes()
        header[k] = {'dtype': dt, 'shape': list(t.shape), 'data_offsets': [at, at + len(b)]}
        blobs.append(b)
        at += len(b)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))


def r(x, digits=9):
    return [float(f'{v:.{digits}g}') for v in x.reshape(-1).tolist()]


def main():
    torch.set_grad_enabled(True)
    out = {'generator': 'tools/reference/model_golden.py', 'torch': torch.__version__, 'models': {}}
    for i, (name, c) in enumerate(CONFIGS.items()):
        w32 = make_weights(c, seed=1234 + i)
        folder = os.path.join(ROOT, f'golden-{name}')
        os.makedirs(folder, exist_ok=True)
        cfg = dict(architectures=['LlamaForCausalLM'], model_type='llama', hidden_act='silu',
                   initializer_range=0.02, **c)
        with open(os.path.join(folder, 'config.json'), 'w') as f:
            json.dump(cfg, f, indent=2)
        write_safetensors(os.path.join(folder, 'model.safetensors'), w32)
        g = torch.Generator().manual_seed(99 + i)
        B, T = 2, 7
        ids = torch.randint(0, c['vocab_size'], (B, T), generator=g)
        labels = ids.clone()
        labels[0, 2] = -100
        labels[1, 5] = -100
        w = {k: v.to(torch.float64).requires_grad_(True) for k, v in w32.items()}
        logits = forward(c, w, ids)
        loss, n = loss_fn(logits, labels)
        loss.backward()
        grad_keys = GRAD_KEYS + (['lm_head.weight', 'model.layers.0.self_attn.k_proj.bias', 'model.layers.1.mlp.up_proj.bias']
                                 if not c['tie_word_embeddings'] else [])
        out['models'][name] = {
            'folder': f'golden-{name}',
            'input_ids': ids.tolist(),
            'labels': labels.tolist(),
            'logits': r(logits.detach()),
            'loss_sum': float(loss),
            'num_tokens': n,
            'inv_freq': r(inv_freq(c)),
            'grads': {k: r(w[k].grad) for k in grad_keys},
        }
    with open(os.path.join(ROOT, 'golden.json'), 'w') as f:
        json.dump(out, f, separators=(',', ':'))
    # F16 / BF16 encodings by PyTorch, including rounding cases, subnormals and large values
    vals = torch.tensor([[0.0, -0.0, 1.0, -2.5, 65504.0, 1e-7, 6.1e-5, 3.14159265],
                         [1 / 3, -1 / 3, 1e-3, 70000.0, 123.456, -0.1, 2 ** -24, 0.5]], dtype=torch.float32)
    write_safetensors(os.path.join(ROOT, 'dtypes.safetensors'), {'half': vals, 'bfloat': vals},
                      dtype_of=lambda k: 'F16' if k == 'half' else 'BF16')
    with open(os.path.join(ROOT, 'dtypes.json'), 'w') as f:
        fin = lambda t: [v if math.isfinite(v) else str(v).replace('inf', 'Infinity') for v in t.reshape(-1).tolist()]
        json.dump({'input': fin(vals), 'half': fin(vals.to(torch.float16).to(torch.float32)),
                   'bfloat': fin(vals.to(torch.bfloat16).to(torch.float32))}, f)


if __name__ == '__main__':
    main()
