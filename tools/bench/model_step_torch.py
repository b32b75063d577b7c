#!/usr/bin/python3
"""PyTorch anchor for tools/bench/model-step.bench.ts: the identical Llama (same sizes, untied head, MHA) trained for
one step (forward, backward, AdamW) in float32 on the CPU, fully (fft) or through LoRA adapters (lora: r=16, alpha 32,
on every linear module of the blocks, base frozen, as PEFT's target_modules='all-linear'). Prints one JSON line.
With checkpoint=on each block is recomputed in the backward pass (torch.utils.checkpoint, as Hugging Face's
gradient_checkpointing_enable), the default of @loralab/model's lossAndGradients.
With precision=bf16 the forward pass runs under torch.autocast('cpu', dtype=torch.bfloat16) (the matmuls in bf16 on
oneDNN, the rest as autocast decides; weights and AdamW in fp32; the loss from the logits cast to fp32).
Reports the OpenBLAS core type torch's OpenBLAS selected (`corename`).
Usage: /usr/bin/python3 model_step_torch.py '<size json>' <threads> <steps> [fft|lora] [checkpoint=off|on] [fp32|bf16]"""
import contextlib
import ctypes
import json
import math
import resource
import sys
import time

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint


class LoraLinear(torch.nn.Module):
    """y = W x + (alpha / r) · B A x (Hu et al. 2021), B initialised to zero as PEFT does."""

    def __init__(self, base, r=16, alpha=32):
        super().__init__()
        self.base, self.scaling = base, alpha / r
        self.lora_A = torch.nn.Parameter(torch.randn(r, base.in_features) / math.sqrt(base.in_features))
        self.lora_B = torch.nn.Parameter(torch.zeros(base.out_features, r))

    def forward(self, x):
        return self.base(x) + (x @ self.lora_A.t()) @ self.lora_B.t() * self.scaling


class Block(torch.nn.Module):
    def __init__(self, d, nh, inter):
        super().__init__()
        self.nh, self.hs = nh, d // nh
        self.input_layernorm = torch.nn.Parameter(torch.ones(d))
        self.post_attention_layernorm = torch.nn.Parameter(torch.ones(d))
        self.q_proj, self.k_proj, self.v_proj, self.o_proj = (torch.nn.Linear(d, d, bias=False) for _ in range(4))
        self.gate_proj, self.up_proj = torch.nn.Linear(d, inter, bias=False), torch.nn.Linear(d, inter, bias=False)
        self.down_proj = torch.nn.Linear(inter, d, bias=False)

    def forward(self, x, cos, sin):
        B, T, d = x.shape

        def norm(x, w):
            return w * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)

        def rope(x):
            h = x.shape[-1] // 2
            return x * cos + torch.cat((-x[..., h:], x[..., :h]), -1) * sin

        h = norm(x, self.input_layernorm)
        q, k, v = (p(h).view(B, T, self.nh, self.hs).transpose(1, 2) for p in (self.q_proj, self.k_proj, self.v_proj))
        q, k = rope(q), rope(k)
        att = q @ k.transpose(2, 3) / math.sqrt(self.hs)
        att = att.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float('-inf')).softmax(-1)
        x = x + self.o_proj((att @ v).transpose(1, 2).reshape(B, T, d))
        h = norm(x, self.post_attention_layernorm)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Llama(torch.nn.Module):
    def __init__(self, s, inter, ckpt=False):
        super().__init__()
        self.ckpt = ckpt
        d = s['hidden']
        self.embed = torch.nn.Embedding(s['vocab'], d)
        self.layers = torch.nn.ModuleList(Block(d, s['heads'], inter) for _ in range(s['layers']))
        self.norm = torch.nn.Parameter(torch.ones(d))
        self.lm_head = torch.nn.Linear(d, s['vocab'], bias=False)
        hs = d // s['heads']
        inv = 1.0 / (10000 ** (torch.arange(0, hs, 2).float() / hs))
        f = torch.arange(s['seq']).float()[:, None] * inv[None]
        emb = torch.cat((f, f), -1)
        self.cos, self.sin = emb.cos(), emb.sin()

    def forward(self, ids):
        T = ids.shape[1]
        x = self.embed(ids)
        for l in self.layers:
            if self.ckpt:
                x = checkpoint(l, x, self.cos[:T], self.sin[:T], use_reentrant=False)
            else:
                x = l(x, self.cos[:T], self.sin[:T])
        x = self.norm * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)
        return self.lm_head(x)


def openblas_corename():
    """The core type of the OpenBLAS torch loaded (ctypes finds the library already in the process)."""
    try:
        lib = ctypes.CDLL('libopenblas.so.0')
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode()
    except OSError:
        return None


def main():
    s = json.loads(sys.argv[1])
    threads, steps = int(sys.argv[2]), int(sys.argv[3])
    variant = sys.argv[4] if len(sys.argv) > 4 else 'fft'
    ckpt = len(sys.argv) > 5 and sys.argv[5] == 'on'
    precision = sys.argv[6] if len(sys.argv) > 6 else 'fp32'
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    inter = math.ceil(8 * s['hidden'] / 3 / 64) * 64
    model = Llama(s, inter, ckpt)
    n_params = sum(p.numel() for p in model.parameters())
    if variant == 'lora':
        for p in model.parameters():
            p.requires_grad_(False)
        for layer in model.layers:
            for name in ('q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'):
                setattr(layer, name, LoraLinear(getattr(layer, name)))
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=1e-4, weight_decay=0.01)
    B = s['tokens'] // s['seq']
    ids = torch.randint(0, s['vocab'], (B, s['seq']))

    last = [0.0]

    def step():
        ctx = torch.autocast('cpu', dtype=torch.bfloat16) if precision == 'bf16' else contextlib.nullcontext()
        with ctx:
            logits = model(ids)
        logits = logits.float()
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, s['vocab']), ids[:, 1:].reshape(-1), reduction='sum')
        opt.zero_grad()
        mean = loss / (B * (s['seq'] - 1))
        mean.backward()
        opt.step()
        last[0] = mean.item()

    step()  # warm-up
    t = time.perf_counter()
    for _ in range(steps):
        step()
    dt = (time.perf_counter() - t) / steps
    out = {'params': n_params, 'trainable': sum(p.numel() for p in trainable), 'loss': last[0], 'step_s': dt, 'tokens_per_s': s['tokens'] / dt, 'threads': torch.get_num_threads(),
           'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 'torch': torch.__version__,
           'corename': openblas_corename(), 'precision': precision}
    print(json.dumps(out))


if __name__ == '__main__':
    main()
