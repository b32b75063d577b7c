#!/usr/bin/python3
"""PyTorch anchor for tools/bench/generate.bench.ts: the identical Llama (untied head, MHA, RMSNorm eps 1e-6, RoPE
theta 1e4) sampling B sequences in float32 on the CPU with a KV cache grown by concatenation (as transformers'
DynamicCache), temperature and top-p sampling as transformers' TopPLogitsWarper, under torch.inference_mode.
Times the prefill (the prompt's forward and the first token) and the whole generation; prints one JSON line.
Usage: /usr/bin/python3 generate_torch.py '<json: vocab hidden layers heads inter batch prompt new temperature
top_p>' <threads> <rounds>"""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F


def norm(x, w):
    return w * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)


def rope(x, cos, sin):
    h = x.shape[-1] // 2
    return x * cos + torch.cat((-x[..., h:], x[..., :h]), -1) * sin


class Block(torch.nn.Module):
    def __init__(self, d, nh, inter):
        super().__init__()
        self.nh, self.hs = nh, d // nh
        self.input_layernorm = torch.nn.Parameter(torch.ones(d))
        self.post_attention_layernorm = torch.nn.Parameter(torch.ones(d))
        self.q_proj, self.k_proj, self.v_proj, self.o_proj = (torch.nn.Linear(d, d, bias=False) for _ in range(4))
        self.gate_proj, self.up_proj = torch.nn.Linear(d, inter, bias=False), torch.nn.Linear(d, inter, bias=False)
        self.down_proj = torch.nn.Linear(inter, d, bias=False)

    def forward(self, x, cos, sin, cache):
        B, T, d = x.shape
        h = norm(x, self.input_layernorm)
        q, k, v = (p(h).view(B, T, self.nh, self.hs).transpose(1, 2) for p in (self.q_proj, self.k_proj, self.v_proj))
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        if cache:
            k, v = torch.cat((cache[0], k), 2), torch.cat((cache[1], v), 2)
        cache[:] = [k, v]
        att = q @ k.transpose(2, 3) / math.sqrt(self.hs)
        if T > 1:
            att = att.masked_fill(torch.ones(T, k.shape[2], dtype=torch.bool).triu(k.shape[2] - T + 1), float('-inf'))
        x = x + self.o_proj((att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, d))
        h = norm(x, self.post_attention_layernorm)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Llama(torch.nn.Module):
    def __init__(self, s):
        super().__init__()
        d = s['hidden']
        self.embed = torch.nn.Embedding(s['vocab'], d)
        self.layers = torch.nn.ModuleList(Block(d, s['heads'], s['inter']) for _ in range(s['layers']))
        self.norm = torch.nn.Parameter(torch.ones(d))
        self.lm_head = torch.nn.Linear(d, s['vocab'], bias=False)
        hs = d // s['heads']
        inv = 1.0 / (10000 ** (torch.arange(0, hs, 2).float() / hs))
        f = torch.arange(s['prompt'] + s['new']).float()[:, None] * inv[None]
        emb = torch.cat((f, f), -1)
        self.cos, self.sin = emb.cos(), emb.sin()

    def forward(self, ids, past, caches):
        T = ids.shape[1]
        x = self.embed(ids)
        cos, sin = self.cos[past:past + T], self.sin[past:past + T]
        for layer, cache in zip(self.layers, caches):
            x = layer(x, cos, sin, cache)
        return self.lm_head(norm(x[:, -1], self.norm))  # the last position only, as transformers' generate


def sample(logits, temperature, top_p, gen):
    if temperature == 0:
        return logits.argmax(-1)
    probs = (logits / temperature).softmax(-1)
    sorted_probs, order = probs.sort(-1, descending=True)
    # keep the smallest prefix whose mass reaches top_p (the first token always kept)
    drop = sorted_probs.cumsum(-1) - sorted_probs > top_p
    sorted_probs = sorted_probs.masked_fill(drop, 0)
    pick = torch.multinomial(sorted_probs, 1, generator=gen)
    return order.gather(-1, pick).squeeze(-1)


def generate(model, prompts, s, seed):
    gen = torch.Generator().manual_seed(seed)
    caches = [[] for _ in model.layers]
    t0 = time.perf_counter()
    tok = sample(model(prompts, 0, caches), s['temperature'], s['top_p'], gen)
    prefill = time.perf_counter() - t0
    out = [tok]
    for i in range(1, s['new']):
        tok = sample(model(tok[:, None], prompts.shape[1] + i - 1, caches), s['temperature'], s['top_p'], gen)
        out.append(tok)
    return prefill, time.perf_counter() - t0, torch.stack(out, 1)


def main():
    s = json.loads(sys.argv[1])
    threads, rounds = int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = Llama(s).eval()
    prompts = torch.randint(0, s['vocab'], (s['batch'], s['prompt']))
    best = None
    with torch.inference_mode():
        generate(model, prompts[:, :8], {**s, 'new': 4}, 0)  # warm-up
        for r in range(rounds):
            prefill, total, toks = generate(model, prompts, s, r)
            if best is None or total < best[1]:
                best = (prefill, total)
    assert toks.shape == (s['batch'], s['new'])
    prefill, total = best
    print(json.dumps({'prefill_s': prefill, 'total_s': total,
                      'decode_tok_s': s['batch'] * (s['new'] - 1) / (total - prefill),
                      'tok_s': s['batch'] * s['new'] / total, 'threads': torch.get_num_threads(),
                      'torch': torch.__version__}))


if __name__ == '__main__':
    main()
