"""Benchmark attention_ref against PyTorch on this machine: ``nox -s bench`` (or ``python bench/bench.py``).

Every ratio is ours / theirs (or cached / recomputed, ...), measured in this one run with the two
sides called alternately, ``--reps`` times each (at least 5), after one warm-up call and with a pause
of 20 ms before every call (so that neither side pays for the other's spinning threads). The table shows
the minimum and the median of the repetitions and the ratio of each; a target counts as met on the
ratio of the minimums (the least disturbed runs), and the median ratio shows how steady that is.
Results go to ``bench/results.json`` with the machine's description (``threadpoolctl``'s view of the
BLAS and OpenMP libraries, core count, versions, ``OPENBLAS_CORETYPE``).

Options: ``--reps N`` (default 7), ``--skip-docs`` (skip the two timed builds of the book, the
longest part), ``--wait-idle`` (before each repetition wait, up to 30 s, until the CPU is 90 % idle:
for shared machines), ``--out PATH``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import threadpoolctl
import torch
import torch.nn.functional as F

import attention_ref as ar
from attention_ref import _core, _parallel

ROOT = Path(__file__).resolve().parent.parent


# --- measuring -----------------------------------------------------------------------------------------
def _cpu_times():
    with open("/proc/stat") as f:
        values = [int(x) for x in f.readline().split()[1:]]
    return sum(values), values[3] + values[4]  # total, idle + iowait


def wait_idle(threshold=0.9, window=0.25, timeout=30.0):
    """Wait until the CPU is ``threshold`` idle over ``window`` seconds (Linux only; else no wait)."""
    if not os.path.exists("/proc/stat"):
        return
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        total0, idle0 = _cpu_times()
        time.sleep(window)
        total1, idle1 = _cpu_times()
        if (idle1 - idle0) / max(1, total1 - total0) >= threshold:
            return


PAUSE = 0.02  # seconds between two timed calls: the previous call's idle threads stop spinning


def alternate(fns: dict, reps: int, idle: bool) -> dict:
    """Time each function ``reps`` times, calling them in turn; return min and median seconds.

    Before each call the bench sleeps ``PAUSE`` seconds, so that neither side pays for the other's
    worker threads, which keep spinning for a moment after a parallel call (OpenMP's, OpenBLAS's).
    """
    for fn in fns.values():
        fn()  # warm-up: first-call costs (thread pools, caches, page faults of new buffers)
    times = {name: [] for name in fns}
    for _ in range(reps):
        if idle:
            wait_idle()
        for name, fn in fns.items():
            time.sleep(PAUSE)
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: {"min": min(ts), "median": float(np.median(ts)), "all": ts} for name, ts in times.items()}


def ratio(results, ours, theirs):
    a, b = results[ours], results[theirs]
    return {"min": a["min"] / b["min"], "median": a["median"] / b["median"]}


def torch_no_grad(fn):
    def run():
        with torch.no_grad():
            return fn()

    return run


# --- the measurements ----------------------------------------------------------------------------------
def bench_sdpa(rows, reps, idle, rng):
    configs = [
        ((8, 8, 512, 64), np.float32, False),
        ((8, 8, 512, 64), np.float64, False),
        ((1, 8, 2048, 64), np.float32, False),
        ((1, 8, 2048, 64), np.float64, False),
        ((1, 8, 2048, 64), np.float32, True),
    ]
    for shape, dtype, causal in configs:
        q, k, v = (rng.standard_normal(shape).astype(dtype) for _ in range(3))
        tq, tk, tv = (torch.from_numpy(a) for a in (q, k, v))
        fns = {
            "numpy": lambda q=q, k=k, v=v, c=causal: ar.scaled_dot_product_attention(
                q, k, v, causal=c, need_weights=False
            ),
            "torch": torch_no_grad(
                lambda tq=tq, tk=tk, tv=tv, c=causal: F.scaled_dot_product_attention(tq, tk, tv, is_causal=c)
            ),
            "numpy_with_weights": lambda q=q, k=k, v=v, c=causal: ar.scaled_dot_product_attention(
                q, k, v, causal=c
            ),
        }
        ours, _ = fns["numpy"]()
        err = float(np.abs(ours - fns["torch"]().numpy()).max())
        res = alternate(fns, reps, idle)
        name = f"{'causal ' if causal else ''}SDPA {shape} {np.dtype(dtype).name}"
        flops = 4 * int(np.prod(shape[:2])) * shape[2] * shape[2] * shape[3] / (2 if causal else 1)
        rows.append({
            "name": name, "kind": "causal" if causal else "sdpa", "shape": shape,
            "dtype": np.dtype(dtype).name,
            "target": 1.3 if causal else 1.2, "times": res, "ratio": ratio(res, "numpy", "torch"),
            "ratio_with_weights": ratio(res, "numpy_with_weights", "torch"), "max_abs_diff": err,
            "gflops_numpy": flops / res["numpy"]["min"] / 1e9,
        })
        report_row(rows[-1], "numpy", "torch")


def bench_mha(rows, reps, idle, rng):
    B, L, d, h = 8, 512, 512, 8
    ours = ar.MultiHeadAttention(d, h, seed=0)
    theirs = torch.nn.MultiheadAttention(d, h, batch_first=True)
    theirs.load_state_dict({key: torch.from_numpy(val).float() for key, val in ours.state_dict().items()})
    theirs.eval()
    x = rng.standard_normal((B, L, d)).astype(np.float32)
    tx = torch.from_numpy(x)
    fns = {
        "numpy": lambda: ours(x, need_weights=False),
        "torch": torch_no_grad(lambda: theirs(tx, tx, tx, need_weights=False)),
        "numpy_with_weights": lambda: ours(x),
        "torch_with_weights": torch_no_grad(lambda: theirs(tx, tx, tx, average_attn_weights=False)),
    }
    err = float(np.abs(fns["numpy"]()[0] - fns["torch"]()[0].numpy()).max())
    res = alternate(fns, reps, idle)
    rows.append({
        "name": f"MultiHeadAttention ({B}, {L}, d_model {d}, {h} heads) float32", "kind": "mha",
        "target": 1.0, "times": res, "ratio": ratio(res, "numpy", "torch"),
        "ratio_with_weights": ratio(res, "numpy_with_weights", "torch_with_weights"), "max_abs_diff": err,
    })
    report_row(rows[-1], "numpy", "torch")


def bench_matmul(rows, reps, idle, rng):
    """NumPy's own matrix product at 2048 x 2048 x 2048, against which attention's GFLOP/s is set."""
    for dtype in (np.float32, np.float64):
        a, b = (rng.standard_normal((2048, 2048)).astype(dtype) for _ in range(2))
        res = alternate({"matmul": lambda a=a, b=b: a @ b}, reps, idle)
        gflops = 2 * 2048**3 / res["matmul"]["min"] / 1e9
        attn = next(r for r in rows if r["kind"] == "sdpa" and r["shape"] == (1, 8, 2048, 64)
                    and r["dtype"] == np.dtype(dtype).name)
        rows.append({
            "name": f"attention GFLOP/s / matmul GFLOP/s, L=2048 {np.dtype(dtype).name}", "kind": "gflops",
            "target": 0.6, "times": res, "matmul_gflops": gflops, "attention_gflops": attn["gflops_numpy"],
            "ratio": {"min": attn["gflops_numpy"] / gflops, "median": None},
        })
        print(f"  {rows[-1]['name']}: attention {attn['gflops_numpy']:.0f} / matmul {gflops:.0f} GFLOP/s"
              f" = {rows[-1]['ratio']['min']:.2f}", flush=True)
    time.sleep(1.0)  # OpenBLAS's own threads spin for a while after a multi-threaded product


def bench_blockwise(rows, reps, idle, rng):
    shape = (1, 1, 16384, 64)
    q, k, v = (rng.standard_normal(shape).astype(np.float32) for _ in range(3))
    tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    ar.blockwise_attention(q, k, v)
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    _core.attention(q, k, v, need_weights=False)
    dense_peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    fns = {
        "blockwise": lambda: ar.blockwise_attention(q, k, v),
        "dense": lambda: _core.attention(q, k, v, need_weights=False),  # the in-place core on all the scores
        "tiled": lambda: ar.scaled_dot_product_attention(q, k, v, need_weights=False),
    }
    err = float(np.abs(fns["blockwise"]() - fns["tiled"]()[0]).max())
    res = alternate(fns, reps, idle)
    rows.append({
        "name": f"blockwise peak extra memory {shape} float32 (MiB)", "kind": "memory", "target": 16.0,
        "ratio": {"min": peak / 2**20, "median": None}, "peak_bytes": peak, "dense_peak_bytes": dense_peak,
    })
    print(f"  {rows[-1]['name']}: {peak / 2**20:.1f} MiB (dense: {dense_peak / 2**20:.0f} MiB)", flush=True)
    rows.append({
        "name": f"blockwise / dense in-place time {shape} float32", "kind": "blockwise", "target": 1.0,
        "times": res, "ratio": ratio(res, "blockwise", "dense"),
        "ratio_vs_tiled": ratio(res, "blockwise", "tiled"),
        "max_abs_diff": err,
    })
    report_row(rows[-1], "blockwise", "dense")


def bench_kv_cache(rows, reps, idle, rng):
    n_layers, d_model, n_heads, L = 4, 256, 4, 256
    model = ar.DecoderOnlyTransformer(n_layers=n_layers, d_model=d_model, n_heads=n_heads, seed=0)
    x = rng.standard_normal((1, L, d_model))  # the inputs of the 256 positions, known in advance

    def recompute():  # generation without a cache: the whole prefix again for every new token
        return np.concatenate([model(x[:, : i + 1])[:, -1:] for i in range(L)], axis=1)

    fns = {"cached": lambda: model.forward_incremental(x), "recompute": recompute}
    err = float(np.abs(fns["cached"]() - fns["recompute"]()).max())
    res = alternate(fns, max(5, reps // 2), idle)
    rows.append({
        "name": f"KV cache / recompute, {L} tokens ({n_layers} layers, d_model {d_model}, float64)",
        "kind": "kv", "target": 0.1, "times": res, "ratio": ratio(res, "cached", "recompute"),
        "max_abs_diff": err,
    })
    report_row(rows[-1], "cached", "recompute")


def bench_docs(rows):
    """A cold build of the book (fresh output and execution cache), then the same build again."""
    with tempfile.TemporaryDirectory(prefix="attn-bench-docs-") as tmp:
        env = dict(os.environ, ATTN_NB_CACHE=str(Path(tmp) / "cache"))
        cmd = [sys.executable, "-m", "sphinx", "-n", "-W", "--keep-going", "-q", "-b", "html",
               str(ROOT / "docs"), str(Path(tmp) / "html")]
        times, codes = {}, {}
        for name in ("cold", "rebuild"):
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            times[name] = time.perf_counter() - t0
            codes[name] = proc.returncode
            if proc.returncode:
                print(f"  ({name} build exited {proc.returncode}: {proc.stderr.strip()[-300:]})", flush=True)
        shutil.rmtree(tmp, ignore_errors=True)
    res = {name: {"min": t, "median": t, "all": [t]} for name, t in times.items()}
    rows.append({
        "name": "docs: rebuild with nothing changed / cold build", "kind": "docs", "target": 0.1,
        "times": res, "ratio": ratio(res, "rebuild", "cold"), "exit_codes": codes,
    })
    report_row(rows[-1], "rebuild", "cold", unit="s")


# --- reporting -------------------------------------------------------------------------------------------
def report_row(row, ours, theirs, unit="ms"):
    scale = 1e3 if unit == "ms" else 1.0
    a, b = row["times"][ours], row["times"][theirs]
    print(
        f"  {row['name']}: {ours} {a['min'] * scale:.1f}/{a['median'] * scale:.1f} {unit}, "
        f"{theirs} {b['min'] * scale:.1f}/{b['median'] * scale:.1f} {unit} (min/median) "
        f"-> ratio {row['ratio']['min']:.2f}/{row['ratio']['median']:.2f}", flush=True,
    )


def met(row):
    value = row["ratio"]["min"]
    return value >= row["target"] if row["kind"] == "gflops" else value <= row["target"]


def table(rows) -> str:
    lines = [f"{'measurement':76s} {'min':>7s} {'median':>7s} {'target':>8s}  met", "-" * 104]
    for row in rows:
        median = row["ratio"]["median"]
        sign = ">=" if row["kind"] == "gflops" else "<="
        lines.append(
            f"{row['name']:76s} {row['ratio']['min']:7.2f} {'' if median is None else f'{median:7.2f}':>7s} "
            f"{sign + ' ' + format(row['target'], 'g'):>8s}  {'yes' if met(row) else 'NO'}"
        )
    return "\n".join(lines)


def machine() -> dict:
    return {
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "attention_ref_threads": _parallel.available_threads(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "threadpool_info": threadpoolctl.threadpool_info(),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--skip-docs", action="store_true")
    parser.add_argument("--wait-idle", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.json"))
    args = parser.parse_args(argv)
    reps = max(5, args.reps)
    rng = np.random.default_rng(0)
    info = machine()
    blas = ", ".join(f"{i.get('internal_api')} {i.get('version') or ''} ({i.get('num_threads')} threads)"
                     for i in info["threadpool_info"])
    print(f"machine: {info['usable_cores']} cores, {info['processor']}; {blas}", flush=True)
    started = time.perf_counter()
    rows: list[dict] = []
    bench_sdpa(rows, reps, args.wait_idle, rng)
    bench_mha(rows, reps, args.wait_idle, rng)
    bench_blockwise(rows, reps, args.wait_idle, rng)
    bench_kv_cache(rows, reps, args.wait_idle, rng)
    bench_matmul(rows, reps, args.wait_idle, rng)  # last of the in-process ones: it wakes OpenBLAS's threads
    if not args.skip_docs:
        bench_docs(rows)
    elapsed = time.perf_counter() - started
    print()
    print(table(rows))
    print(f"\n{reps} repetitions each, {elapsed:.0f} s in all")
    result = {"machine": info, "reps": reps, "seconds": elapsed, "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1, default=str))
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
