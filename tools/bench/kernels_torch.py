#!/usr/bin/python3
"""PyTorch anchor for tools/bench/kernels.ts (Debian python3-torch, CPU, float32). Prints one JSON line.

  /usr/bin/python3 kernels_torch.py matmul '<[[m, k, n, transA, transB], ...]>' <threads> <seconds> [fp32|bf16]
  /usr/bin/python3 kernels_torch.py step '<size json>' <threads> <steps>

OPENBLAS_CORETYPE is inherited from the caller, so PyTorch's BLAS runs the same kernels as the native addon (the
bf16 GEMM benchmark unsets it); `corename` reports the kernels OpenBLAS selected. bf16: the products under
torch.autocast('cpu', dtype=torch.bfloat16) (oneDNN's bf16 GEMM in Debian's build)."""
import contextlib
import json
import resource
import sys
import time

import torch
import torch.nn.functional as F

# The same Llama as the model benchmark's anchor, and its OpenBLAS core-type probe (this folder is on sys.path
# when the script runs).
from model_step_torch import Llama, openblas_corename


def bench_matmul(shapes, seconds, precision='fp32'):
    out = []
    for m, k, n, ta, tb in shapes:
        a = torch.rand(k, m) if ta else torch.rand(m, k)
        b = torch.rand(n, k) if tb else torch.rand(k, n)

        def f():
            ctx = torch.autocast('cpu', dtype=torch.bfloat16) if precision == 'bf16' else contextlib.nullcontext()
            with ctx:
                return (a.t() if ta else a) @ (b.t() if tb else b)
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


def bench_step(s, steps):
    torch.manual_seed(0)
    model = Llama(s, s['intermediate'])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    B = s['tokens'] // s['seq']
    ids = (torch.arange(B * s['seq']) * 7919 % s['vocab']).view(B, s['seq'])
    labels = torch.roll(ids, -1, 1)
    losses = []

    def step():
        opt.zero_grad(set_to_none=True)
        logits = model(ids)
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), labels.view(-1), ignore_index=-100)
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
    info = {'torch': torch.__version__, 'threads': torch.get_num_threads(), 'corename': openblas_corename()}
    if sys.argv[1] == 'matmul':
        precision = sys.argv[5] if len(sys.argv) > 5 else 'fp32'
        info['gflops'] = bench_matmul(json.loads(sys.argv[2]), float(sys.argv[4]), precision)
    else:
        info.update(bench_step(json.loads(sys.argv[2]), int(sys.argv[4])))
    print(json.dumps(info))
