#!/usr/bin/python3
"""PyTorch anchor for tools/bench/kernels.ts (Debian python3-torch, CPU, float32). Prints one JSON line.

  /usr/bin/python3 kernels_torch.py matmul '<[[m, k, n, transA, transB], ...]>' <threads> <seconds>
  /usr/bin/python3 kernels_torch.py step '<size json>' <threads> <steps>

OPENBLAS_CORETYPE is inherited from the caller, so PyTorch's BLAS runs the same kernels as the native addon."""
import json
import math
import resource
import sys
import time

import torch
import torch.nn.functional as F


def bench_matmul(shapes, seconds):
    out = []
    for m, k, n, ta, tb in shapes:
        a = torch.rand(k, m) if ta else torch.rand(m, k)
        b = torch.rand(n, k) if tb else torch.rand(k, n)
        f = lambda: (a.t() if ta else a) @ (b.t() if tb else b)
        f()
        it, t0 = 0, time.perf_counter()
        while True:
            f()
            it += 1
            dt = time.perf_counter() - t0
            if dt >= seconds and it >= 2:
                break
        out.append(2.0 * m * n * k * it / dt / 1e9)
    return out


class Block(torch.nn.Module):
    def __init__(self, d, nh, inter):
        super().__init__()
        self.nh, self.hs = nh, d // nh
        self.ln1 = torch.nn.Parameter(torch.ones(d))
        self.ln2 = torch.nn.Parameter(torch.ones(d))
        self.q, self.k, self.v, self.o = (torch.nn.Linear(d, d, bias=False) for _ in range(4))
        self.gate, self.up = torch.nn.Linear(d, inter, bias=False), torch.nn.Linear(d, inter, bias=False)
        self.down = torch.nn.Linear(inter, d, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, d = x.shape

        def norm(x, w):
            return w * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)

        def rope(x):
            h = x.shape[-1] // 2
            return x * cos + torch.cat((-x[..., h:], x[..., :h]), -1) * sin

        h = norm(x, self.ln1)
        q, k, v = (p(h).view(B, T, self.nh, self.hs).transpose(1, 2) for p in (self.q, self.k, self.v))
        q, k = rope(q), rope(k)
        att = (q @ k.transpose(2, 3) / math.sqrt(self.hs)).masked_fill(mask, float('-inf')).softmax(-1)
        x = x + self.o((att @ v).transpose(1, 2).reshape(B, T, d))
        h = norm(x, self.ln2)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Llama(torch.nn.Module):
    def __init__(self, s):
        super().__init__()
        d, inter = s['hidden'], s['intermediate']
        self.embed = torch.nn.Embedding(s['vocab'], d)
        self.layers = torch.nn.ModuleList(Block(d, s['heads'], inter) for _ in range(s['layers']))
        self.norm = torch.nn.Parameter(torch.ones(d))
        self.head = torch.nn.Linear(d, s['vocab'], bias=False)
        hs = d // s['heads']
        inv = 1.0 / (10000 ** (torch.arange(0, hs, 2).float() / hs))
        f = torch.arange(s['seq']).float()[:, None] * inv[None]
        emb = torch.cat((f, f), -1)
        self.cos, self.sin = emb.cos(), emb.sin()
        self.mask = torch.ones(s['seq'], s['seq'], dtype=torch.bool).triu(1)

    def forward(self, ids, labels):
        x = self.embed(ids)
        for layer in self.layers:
            x = layer(x, self.cos, self.sin, self.mask)
        x = self.norm * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)
        logits = self.head(x)
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), labels.view(-1), ignore_index=-100)


def bench_step(s, steps):
    torch.manual_seed(0)
    model = Llama(s)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    B = s['tokens'] // s['seq']
    ids = (torch.arange(B * s['seq']) * 7919 % s['vocab']).view(B, s['seq'])
    labels = torch.roll(ids, -1, 1)
    losses = []

    def step():
        opt.zero_grad(set_to_none=True)
        loss = model(ids, labels)
        loss.backward()
        opt.step()
        losses.append(loss.item())

    step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    dt = (time.perf_counter() - t0) / steps
    return {
        'step_s': dt,
        'tokens_per_s': B * s['seq'] / dt,
        'losses': losses,
        'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


if __name__ == '__main__':
    torch.set_num_threads(int(sys.argv[3]))
    info = {'torch': torch.__version__, 'threads': torch.get_num_threads()}
    if sys.argv[1] == 'matmul':
        info['gflops'] = bench_matmul(json.loads(sys.argv[2]), float(sys.argv[4]))
    else:
        info.update(bench_step(json.loads(sys.argv[2]), int(sys.argv[4])))
    print(json.dumps(info))
