#!/usr/bin/python3
"""WIDER FACE average precision (easy / medium / hard) of `argus detect`.

Protocol of the WIDER FACE evaluation code: predictions of all images are
min-max normalised in score, each prediction (best first) is matched to the
ground-truth box of highest IoU; IoU >= 0.5 with an unmatched valid face is a
true positive, with a face not counted in the setting (flag 0) the prediction
is ignored; precision/recall are sampled at 1000 score thresholds and AP is the
area under the interpolated precision-recall curve.

  eval/widerface_ap.py [--argus build/argus] [--data ../shared/data/widerface-dev]
                       [--half even|odd|both] [--misses] [--fp]
                       [--setting NAME=ARGS ...]

Each --setting is a name and the detection options passed to argus detect,
e.g. --setting "320=--size 320" --setting "tiled=--size 480 --tile 640".
"--detector CARD" among them picks the detector card (through
$ARGUS_DETECTOR), so that several detectors are measured in one run:
--setting "rfb=--detector fr_detect --size 480" --setting "yunet_n=--detector yunet_n".

--fp prints, per setting, for score thresholds 0.5 .. 0.9, the share of
detections at or above the threshold that overlap no annotated face at all
(IoU < 0.3 with every box, ignored faces included) and the medium recall at
IoU 0.5 there: what a card's default score_threshold trades.

--half even|odd evaluates the even- or odd-indexed images only (index in the
sorted list of image names), so that choices tuned on one half can be
reported on the other; --half both prints all, even and odd for each setting.
--misses counts, per setting, why the valid faces of each difficulty are
missed at the operating point of 0.5 score: not found at all (no prediction of
IoU >= 0.3), found with IoU < 0.5, or found but matched by nothing at
score >= 0.5 (ranked low).
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import time

try:
    import numpy as np
except ImportError:
    sys.exit("widerface_ap: needs numpy (Debian python3-numpy; scripts/setup.sh installs it)")

DEFAULT_SETTINGS = [
    "320x240=--size 320",
    "640=--size 640",
    "480=--size 480",
    "pyramid=--tile 640",
]


def parse_gt(path):
    gt = {}
    with open(path) as f:
        lines = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    i = 0
    while i < len(lines):
        name = lines[i]
        n = int(lines[i + 1])
        boxes = []
        for j in range(n):
            v = lines[i + 2 + j].split()
            x, y, w, h = map(float, v[:4])
            e, m, hd = map(int, v[4:7])
            boxes.append((x, y, x + w, y + h, e, m, hd))
        gt[name] = np.asarray(boxes, dtype=np.float64).reshape(-1, 7)
        i += 2 + max(n, 0)
    return gt


def run_detect(argus, models, threads, root, names, opts):
    args = shlex.split(opts)
    env = dict(os.environ)
    if "--detector" in args:
        i = args.index("--detector")
        if i + 1 >= len(args):
            sys.exit("widerface_ap: --detector needs a card name")
        env["ARGUS_DETECTOR"] = args[i + 1]
        del args[i:i + 2]
    cmd = [argus, "detect", "--json", "--models", models, "--threads", str(threads),
           "--min-score", "0.05", "--max-faces", "1000", "--boxes-only"] + args
    t0 = time.time()
    res = subprocess.run(cmd + [os.path.join(root, "images", n) for n in names],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    secs = time.time() - t0
    if res.returncode != 0:
        sys.stderr.write(res.stderr)
        sys.exit("widerface_ap: argus detect failed (exit %d)" % res.returncode)
    preds = {}
    prefix = os.path.join(root, "images") + os.sep
    for line in res.stdout.splitlines():
        d = json.loads(line)
        name = d["file"][len(prefix):] if d["file"].startswith(prefix) else d["file"]
        preds[name] = np.asarray([f["box"] + [f["score"]] for f in d["faces"]],
                                 dtype=np.float64).reshape(-1, 5)
    return preds, secs


def iou_matrix(a, b):
    ix1 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy1 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix2 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix2 - ix1 + 1, 0, None) * np.clip(iy2 - iy1 + 1, 0, None)
    area = lambda r: (r[:, 2] - r[:, 0] + 1) * (r[:, 3] - r[:, 1] + 1)
    return inter / (area(a)[:, None] + area(b)[None, :] - inter)


def image_pr(pred, gt, valid, thresholds):
    """Returns per-threshold (proposals counted, faces recalled) for one image."""
    out = np.zeros((len(thresholds), 2))
    if len(pred) == 0:
        return out
    order = np.argsort(-pred[:, 4], kind="stable")
    pred = pred[order]
    recalled = np.zeros(len(pred))
    counted = np.ones(len(pred))
    if len(gt):
        ious = iou_matrix(pred[:, :4], gt[:, :4])
        matched = np.zeros(len(gt), bool)
        hits = 0
        for h in range(len(pred)):
            j = int(np.argmax(ious[h]))
            if ious[h, j] >= 0.5:
                if not valid[j]:
                    counted[h] = 0  # a face the setting ignores
                elif not matched[j]:
                    matched[j] = True
                    hits += 1
            recalled[h] = hits
    for t, th in enumerate(thresholds):
        idx = np.nonzero(pred[:, 4] >= th)[0]
        if len(idx) == 0:
            continue
        r = idx[-1]
        out[t, 0] = counted[: r + 1].sum()
        out[t, 1] = recalled[r]
    return out


def voc_ap(rec, prec):
    mrec = np.concatenate(([0.0], rec, [1.0]))
    mpre = np.concatenate(([0.0], prec, [0.0]))
    for i in range(len(mpre) - 1, 0, -1):
        mpre[i - 1] = max(mpre[i - 1], mpre[i])
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def evaluate(gt, preds):
    scores = np.concatenate([p[:, 4] for p in preds.values() if len(p)] or [np.zeros(0)])
    lo, hi = (scores.min(), scores.max()) if len(scores) else (0.0, 1.0)
    span = hi - lo if hi > lo else 1.0
    thresholds = 1.0 - (np.arange(1000) + 1) / 1000.0
    aps = []
    for col in (4, 5, 6):  # easy, medium, hard flags
        pr = np.zeros((1000, 2))
        total = 0
        for name, g in gt.items():
            p = preds.get(name, np.zeros((0, 5))).copy()
            if len(p):
                p[:, 4] = (p[:, 4] - lo) / span
            valid = g[:, col] > 0 if len(g) else np.zeros(0, bool)
            total += int(valid.sum())
            pr += image_pr(p, g, valid, thresholds)
        prec = np.divide(pr[:, 1], pr[:, 0], out=np.zeros(1000), where=pr[:, 0] > 0)
        rec = pr[:, 1] / max(total, 1)
        aps.append(voc_ap(rec, prec))
    return aps


def miss_causes(gt, preds, col, thr=0.5):
    """Counts valid faces that are: hit at score >= thr, hit only below thr,
    overlapped with IoU in [0.3, 0.5) by some prediction, or not found."""
    c = {"hit": 0, "low_score": 0, "iou<0.5": 0, "not_found": 0}
    for name, g in gt.items():
        valid = g[:, col] > 0 if len(g) else np.zeros(0, bool)
        if not valid.any():
            continue
        p = preds.get(name, np.zeros((0, 5)))
        best_hi = np.zeros(len(g))
        best_all = np.zeros(len(g))
        if len(p):
            ious = iou_matrix(p[:, :4], g[:, :4])
            best_all = ious.max(axis=0)
            hi = p[:, 4] >= thr
            if hi.any():
                best_hi = ious[hi].max(axis=0)
        for j in np.nonzero(valid)[0]:
            if best_hi[j] >= 0.5:
                c["hit"] += 1
            elif best_all[j] >= 0.5:
                c["low_score"] += 1
            elif best_all[j] >= 0.3:
                c["iou<0.5"] += 1
            else:
                c["not_found"] += 1
    return c


def false_positives(gt, preds, thresholds=(0.5, 0.6, 0.7, 0.8, 0.9)):
    """Per threshold: (detections >= t, share overlapping no annotated face
    at IoU 0.3, medium recall at IoU 0.5)."""
    out = []
    for t in thresholds:
        n = lone = hit = total = 0
        for name, g in gt.items():
            p = preds.get(name, np.zeros((0, 5)))
            p = p[p[:, 4] >= t] if len(p) else p
            valid = g[:, 5] > 0 if len(g) else np.zeros(0, bool)
            total += int(valid.sum())
            n += len(p)
            if not len(p):
                continue
            if not len(g):
                lone += len(p)
                continue
            ious = iou_matrix(p[:, :4], g[:, :4])
            lone += int((ious.max(axis=1) < 0.3).sum())
            hit += int((ious.max(axis=0)[valid] >= 0.5).sum())
        out.append((t, n, lone / max(n, 1), hit / max(total, 1)))
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--argus", default=os.path.join(root, "build", "argus"))
    ap.add_argument("--data", default=os.path.join(root, "..", "shared", "data", "widerface-dev"))
    ap.add_argument("--models", default=os.path.join(root, "models"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--setting", action="append", help="NAME=detect options")
    ap.add_argument("--half", choices=("all", "even", "odd", "both"), default="all",
                    help="images to evaluate: all, even- or odd-indexed, or all three")
    ap.add_argument("--misses", action="store_true", help="count misses by cause")
    ap.add_argument("--fp", action="store_true",
                    help="share of detections overlapping no face, per score threshold")
    a = ap.parse_args()
    if not os.path.isdir(a.data):
        sys.exit("widerface_ap: %s is absent (WIDER FACE dev lives in ../shared/data)" % a.data)
    gt = parse_gt(os.path.join(a.data, "gt.txt"))
    names = sorted(gt)
    halves = {"all": names, "even": names[0::2], "odd": names[1::2]}
    shown = ["all", "even", "odd"] if a.half == "both" else [a.half]
    names = names if a.half in ("all", "both") else halves[a.half]
    settings = a.setting or DEFAULT_SETTINGS
    print("WIDER FACE dev split: %d images, %d faces (IoU 0.5, WIDER protocol)" % (
        len(names), sum(len(gt[n]) for n in names)))
    print("%-14s %-5s %-46s %7s %7s %7s %10s" % ("setting", "half", "argus detect options",
                                                 "easy", "medium", "hard", "seconds"))
    for s in settings:
        name, _, opts = s.partition("=")
        preds, secs = run_detect(a.argus, a.models, a.threads, a.data, names, opts)
        for h in shown:
            sub = {n: gt[n] for n in halves[h]}
            easy, med, hard = evaluate(sub, preds)
            print("%-14s %-5s %-46s %7.3f %7.3f %7.3f %10.1f" % (name, h, opts, easy, med, hard,
                                                               secs))
        if a.fp:
            for t, n, share, rec in false_positives({n: gt[n] for n in names}, preds):
                print("  score >= %.1f: %5d detections, %5.1f %% overlap no face, medium recall %.3f"
                      % (t, n, 100 * share, rec))
        if a.misses:
            for col, what in ((4, "easy"), (5, "medium"), (6, "hard")):
                c = miss_causes({n: gt[n] for n in names}, preds, col)
                print("  misses %-6s %s" % (what, " ".join("%s %d" % kv for kv in c.items())))
        sys.stdout.flush()
    print("(speed per 1080p frame: bench/face_bench)")


if __name__ == "__main__":
    main()
