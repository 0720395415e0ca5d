#!/usr/bin/python3
"""Times OpenCV DNN on a model the way `argus nn bench` times argus, and prints
one JSON line. Used by bench/nn_bench.sh; needs Debian's python3-opencv and
python3-numpy (run with /usr/bin/python3).

    /usr/bin/python3 bench/opencv_bench.py MODEL [--threads N] [--batch N]
                                           [--iters N] [--warmup N] [--seed N]

Inputs: the same seeded uniform values in [-1, 1) as argus. OpenCV takes a
larger batch through models whose Reshape fixes dim 0 at 1 (fr_feature) but
returns wrong shapes, so a batch is only run whole when its output equals the
batch-1 outputs stacked; otherwise one timed iteration is `batch` runs at
batch 1 ("mode":"loop").
"""
import argparse
import json
import os
import sys
import time


def fmix32(x):
    x &= 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x85EBCA6B) & 0xFFFFFFFF
    x ^= x >> 13
    x = (x * 0xC2B2AE35) & 0xFFFFFFFF
    x ^= x >> 16
    return x or 0x9E3779B9


def seeded(n, seed, np):
    """fmix32 + xorshift32 stream, vectorised in blocks is not possible (it is
    sequential), so it runs in plain Python once per input."""
    s = fmix32(seed)
    out = np.empty(n, dtype=np.uint32)
    for i in range(n):
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        out[i] = s >> 8
    return (out.astype(np.float32) * np.float32(1.0 / 16777216.0)) * np.float32(2.0) - np.float32(1.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--input-shape", required=True,
                    help="shape of one batch item's input, e.g. 3x112x112 "
                         "(OpenCV does not report the declared input shape)")
    a = ap.parse_args()
    try:
        import cv2
        import numpy as np
    except ImportError as e:
        print(f"opencv_bench: {e}; install python3-opencv (scripts/setup.sh)", file=sys.stderr)
        return 1
    cv2.setNumThreads(a.threads)
    net = cv2.dnn.readNetFromONNX(a.model)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    names = net.getUnconnectedOutLayersNames()
    item = [int(d) for d in a.input_shape.split("x")]
    n = int(np.prod(item))
    per = [seeded(n, a.seed + b, np).reshape([1] + item) for b in range(a.batch)]

    def run(x):
        net.setInput(x)
        return net.forward(names)

    mode = "batch"
    whole = np.concatenate(per, axis=0)
    if a.batch > 1:
        one = [run(p) for p in per]
        got = run(whole)
        ok = all(g.shape[0] == a.batch and
                 np.allclose(g, np.concatenate([o[k] for o in one], axis=0), atol=1e-4)
                 for k, g in enumerate(got))
        if not ok:
            mode = "loop"
    ms = []
    for i in range(a.warmup + a.iters):
        t0 = time.perf_counter()
        if mode == "batch":
            run(whole)
        else:
            for p in per:
                run(p)
        t1 = time.perf_counter()
        if i >= a.warmup:
            ms.append((t1 - t0) * 1e3)
    ms.sort()
    k = len(ms)
    median = ms[k // 2] if k % 2 else 0.5 * (ms[k // 2 - 1] + ms[k // 2])
    p90 = ms[max(0, -(-9 * k // 10) - 1)]
    print(json.dumps({
        "engine": "opencv", "version": cv2.__version__, "model": os.path.basename(a.model),
        "threads": a.threads, "batch": a.batch, "mode": mode,
        "ms_median": round(median, 4), "ms_p90": round(p90, 4), "ms_min": round(ms[0], 4),
        "iters": a.iters,
    }, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
