#!/usr/bin/python3
"""NumPy side of tools/bench/rank-svd.ts: times numpy.linalg.svd(a, compute_uv=False) (LAPACK dgesdd, values only)
on the float64 n x n matrices the TypeScript side wrote to <dir>/a-<n>.f64 (little-endian, row-major), writes the
singular values to <dir>/s-<n>.f64 for the accuracy check, and says which BLAS/LAPACK is loaded. Prints one JSON line.

usage: /usr/bin/python3 rank-svd-numpy.py DIR 256,512,... [repeats] [vectors_up_to]
(with vectors_up_to, also times the thin SVD with vectors, numpy.linalg.svd(a, full_matrices=False), for n <= it)"""
import ctypes
import json
import os
import sys
import time

import numpy as np


def loaded_libraries():
    with open("/proc/self/maps") as f:
        return sorted({line.split()[-1] for line in f if ("blas" in line or "lapack" in line) and line.split()[-1].startswith("/")})


def openblas_info():
    try:
        libs = [lib for lib in loaded_libraries() if "openblas" in lib]
        for lib in libs:
            h = ctypes.CDLL(lib)
            out = {"library": lib}
            for name in ("openblas_get_config", "openblas_get_corename"):
                if hasattr(h, name):
                    fn = getattr(h, name)
                    fn.restype = ctypes.c_char_p
                    out[name.replace("openblas_get_", "")] = fn().decode()
            if hasattr(h, "openblas_get_num_threads"):
                out["threads"] = h.openblas_get_num_threads()
            return out
    except OSError as e:
        return {"error": str(e)}
    return {"library": None}


def main():
    folder = sys.argv[1]
    sizes = [int(x) for x in sys.argv[2].split(",")]
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    vectors_up_to = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    times = {}
    times_vectors = {}
    for n in sizes:
        a = np.fromfile(os.path.join(folder, f"a-{n}.f64"), dtype="<f8").reshape(n, n)
        np.linalg.svd(a[:64, :64], compute_uv=False)  # warm up
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            s = np.linalg.svd(a, compute_uv=False)
            best = min(best, time.perf_counter() - t)
        s.astype("<f8").tofile(os.path.join(folder, f"s-{n}.f64"))
        times[str(n)] = best
        if n <= vectors_up_to:
            t = time.perf_counter()
            np.linalg.svd(a, full_matrices=False)
            times_vectors[str(n)] = time.perf_counter() - t
    print(json.dumps({
        "numpy": np.__version__,
        "libraries": loaded_libraries(),
        "openblas": openblas_info(),
        "env": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS") if k in os.environ},
        "seconds": times,
        "seconds_vectors": times_vectors,
    }))


if __name__ == "__main__":
    main()
