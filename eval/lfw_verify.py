#!/usr/bin/python3
"""LFW face verification through `argus embed --aligned`, and threshold calibration.

Protocol: the official 6,000 pairs (10 folds of 300 same + 300 different). For each
fold, the accuracy-maximising threshold is chosen on the other nine folds and
accuracy is measured on the held-out fold; the figure is mean +- std over folds.
Two threshold rules are reported: the middle of the range of tied best
thresholds, and the common fixed-grid rule (first best on a 0.001 cosine grid).
They differ by a pair or two.

Calibration: the similarity thresholds at false-match rates 1e-2, 1e-3 and 1e-4
come from impostor scores (every pair of images of different people) among the
identities of the nine folds not tested on, excluding identities that also occur
in the tested fold; the held-out fold's identities then measure the FMR and TMR
actually reached. The shipped thresholds are the mean of the ten calibrations.

  eval/lfw_verify.py [--argus build/argus] [--data ../shared/data/lfw-112]
                     [--models models] [--threads N] [--cache FILE.npz]
                     [--write-card share/models/fr_feature.card.json]
"""
import argparse
import json
import os
import subprocess
import sys
import time

try:
    import numpy as np
except ImportError:
    sys.exit("lfw_verify: needs numpy (Debian python3-numpy; scripts/setup.sh installs it)")

FMRS = ("1e-2", "1e-3", "1e-4")


def parse_pairs(path):
    with open(path) as f:
        head = f.readline().split()
        nfolds, per = int(head[0]), int(head[1])
        folds = []
        for _ in range(nfolds):
            fold = []
            for same in (True, False):
                for _ in range(per):
                    p = f.readline().split()
                    if same:
                        a = (p[0], int(p[1]))
                        b = (p[0], int(p[2]))
                    else:
                        a = (p[0], int(p[1]))
                        b = (p[2], int(p[3]))
                    fold.append((a, b, same))
            folds.append(fold)
    return folds


def image_path(root, name, idx):
    return os.path.join(root, "images", name, "%s_%04d.jpg" % (name, idx))


def embed_all(argus, models, threads, files, chunk=1000):
    """Runs argus embed --aligned --json over files; returns {path: vector}."""
    out = {}
    t0 = time.time()
    for i in range(0, len(files), chunk):
        part = files[i:i + chunk]
        cmd = [argus, "embed", "--aligned", "--json", "--models", models,
               "--threads", str(threads)] + part
        res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        for line in res.stdout.splitlines():
            d = json.loads(line)
            if "embedding" in d:
                out[d["file"]] = np.asarray(d["embedding"], dtype=np.float32)
        if res.returncode != 0:
            sys.stderr.write(res.stderr)
            sys.exit("lfw_verify: argus embed failed (exit %d)" % res.returncode)
        done = min(i + chunk, len(files))
        sys.stderr.write("\rembedded %d/%d images (%.1f s)" % (done, len(files), time.time() - t0))
    sys.stderr.write("\n")
    return out, time.time() - t0


def best_threshold(scores, labels):
    order = np.argsort(-scores)
    s, l = scores[order], labels[order]
    # Accepting the top k: correct = same among them + different among the rest.
    tp = np.cumsum(l)
    fp = np.cumsum(~l)
    tn = (~l).sum() - fp
    acc = (tp + tn) / len(l)
    # Several cut points often tie on the training folds: take the middle
    # of the tied range rather than its edge.
    ties = np.nonzero(acc == acc.max())[0]
    lo, hi = int(ties[0]), int(ties[-1])
    upper = s[lo]
    lower = s[hi + 1] if hi + 1 < len(s) else s[hi] - 1e-6
    return float((upper + lower) / 2)


def grid_threshold(scores, labels, step=0.001):
    """The common LFW rule: cosine thresholds on a fixed grid, the first one
    of highest training accuracy."""
    grid = np.arange(-1.0, 1.0, step)
    s = np.sort(scores)
    n_same = labels.sum()
    # accepted = scores > t; correct = same accepted + different rejected
    order = np.argsort(scores)
    ls = labels[order]
    cum_same = np.concatenate([[0], np.cumsum(ls)])  # same among the lowest j
    j = np.searchsorted(s, grid, side="right")      # scores <= t
    rejected_diff = j - cum_same[j]
    acc = (n_same - cum_same[j] + rejected_diff) / len(scores)
    return float(grid[int(np.argmax(acc))])


def impostor_scores(emb_by_id):
    """All cross-identity scores among the given identities' images."""
    ids = sorted(emb_by_id)
    mats, owner = [], []
    for j, i in enumerate(ids):
        mats.append(emb_by_id[i])
        owner += [j] * len(emb_by_id[i])
    X = np.vstack(mats)
    owner = np.asarray(owner)
    out = []
    for a in range(0, len(X), 2048):
        S = X[a:a + 2048] @ X.T
        o = owner[a:a + 2048][:, None]
        mask = owner[None, :] > o  # each unordered cross pair once
        out.append(S[mask])
    return np.concatenate(out)


def genuine_scores(emb_by_id):
    out = []
    for v in emb_by_id.values():
        if len(v) > 1:
            S = v @ v.T
            iu = np.triu_indices(len(v), 1)
            out.append(S[iu])
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--argus", default=os.path.join(root, "build", "argus"))
    ap.add_argument("--data", default=os.path.join(root, "..", "shared", "data", "lfw-112"))
    ap.add_argument("--models", default=os.path.join(root, "models"))
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--cache", help="save/load embeddings here (npz)")
    ap.add_argument("--write-card", help="store the calibrated thresholds in this model card")
    a = ap.parse_args()
    if not os.path.isdir(a.data):
        sys.exit("lfw_verify: %s is absent (LFW-112 lives in ../shared/data)" % a.data)

    folds = parse_pairs(os.path.join(a.data, "pairs.txt"))
    people = sorted(os.listdir(os.path.join(a.data, "images")))
    files = []
    for p in people:
        d = os.path.join(a.data, "images", p)
        files += [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith(".jpg")]

    if a.cache and os.path.exists(a.cache):
        z = np.load(a.cache, allow_pickle=False)
        emb = dict(zip(z["files"].tolist(), z["emb"]))
        secs = float("nan")
    else:
        emb, secs = embed_all(a.argus, a.models, a.threads, files)
        if a.cache:
            np.savez(a.cache, files=np.asarray(list(emb)), emb=np.vstack(list(emb.values())))
    missing = [f for f in files if f not in emb]
    if missing:
        sys.exit("lfw_verify: %d images got no embedding, e.g. %s" % (len(missing), missing[0]))

    # --- 10-fold verification accuracy
    fold_scores, fold_labels = [], []
    for fold in folds:
        s = [float(emb[image_path(a.data, *x)] @ emb[image_path(a.data, *y)]) for x, y, _ in fold]
        fold_scores.append(np.asarray(s))
        fold_labels.append(np.asarray([same for _, _, same in fold]))
    accs, ths, accs_grid = [], [], []
    for k in range(len(folds)):
        tr_s = np.concatenate([fold_scores[i] for i in range(len(folds)) if i != k])
        tr_l = np.concatenate([fold_labels[i] for i in range(len(folds)) if i != k])
        th = best_threshold(tr_s, tr_l)
        pred = fold_scores[k] > th
        accs.append(float((pred == fold_labels[k]).mean()))
        ths.append(th)
        tg = grid_threshold(tr_s, tr_l)
        accs_grid.append(float(((fold_scores[k] > tg) == fold_labels[k]).mean()))
    accs = np.asarray(accs)
    accs_grid = np.asarray(accs_grid)

    # --- calibration on identities of the other folds
    by_id = {}
    for f in files:
        by_id.setdefault(os.path.basename(os.path.dirname(f)), []).append(emb[f])
    by_id = {k: np.vstack(v) for k, v in by_id.items()}
    fold_ids = []
    for fold in folds:
        ids = set()
        for x, y, _ in fold:
            ids.add(x[0])
            ids.add(y[0])
        fold_ids.append(ids)
    calib = {f: [] for f in FMRS}
    held = {f: {"fmr": [], "tmr": []} for f in FMRS}
    for k in range(len(folds)):
        test_ids = fold_ids[k]
        cal_ids = set().union(*[fold_ids[i] for i in range(len(folds)) if i != k]) - test_ids
        imp = impostor_scores({i: by_id[i] for i in cal_ids})
        t_imp = impostor_scores({i: by_id[i] for i in test_ids})
        t_gen = genuine_scores({i: by_id[i] for i in test_ids})
        for f in FMRS:
            th = float(np.quantile(imp, 1.0 - float(f)))
            calib[f].append(th)
            held[f]["fmr"].append(float((t_imp > th).mean()))
            held[f]["tmr"].append(float((t_gen > th).mean()) if len(t_gen) else float("nan"))
    thresholds = {f: round(float(np.mean(calib[f])), 4) for f in FMRS}

    print("LFW-112 verification, 6000 pairs, 10-fold (argus embed --aligned, %s)" % os.path.basename(a.models.rstrip("/")))
    print("  images embedded     %d%s" % (len(files), "" if secs != secs else " in %.1f s (%.2f ms/image, %d threads)" % (secs, 1000 * secs / len(files), a.threads)))
    print("  accuracy            %.2f %% +- %.2f (per fold: %s)" % (100 * accs.mean(), 100 * accs.std(), " ".join("%.2f" % (100 * x) for x in accs)))
    print("  best thresholds     %.3f .. %.3f" % (min(ths), max(ths)))
    print("  accuracy, grid rule %.2f %% +- %.2f (first best cosine threshold on a 0.001 grid)" % (
        100 * accs_grid.mean(), 100 * accs_grid.std()))
    print("calibration (impostors among the other folds' identities; FMR/TMR on the held-out fold's identities)")
    for f in FMRS:
        print("  FMR %-5s threshold %.4f (+- %.4f)  held-out FMR %.2e  TMR %.4f" % (
            f, thresholds[f], float(np.std(calib[f])), float(np.mean(held[f]["fmr"])),
            float(np.nanmean(held[f]["tmr"]))))

    if a.write_card:
        with open(a.write_card) as fh:
            card = json.load(fh)
        card["thresholds"] = thresholds
        card["calibration"] = {
            "status": "calibrated",
            # The card parser caps this text at 159 characters.
            "method": "LFW-112 impostor quantiles; per fold, impostors of the other 9 folds' identities; "
                      "mean of 10 folds (eval/lfw_verify.py)",
            "held_out": {f: {"fmr": round(float(np.mean(held[f]["fmr"])), 6),
                             "tmr": round(float(np.nanmean(held[f]["tmr"])), 4)} for f in FMRS},
            "measured": "LFW 6000 pairs, 10-fold: %.2f %% +- %.2f" % (100 * accs.mean(), 100 * accs.std()),
        }
        tmp = a.write_card + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(card, fh, indent=2)
            fh.write("\n")
        os.replace(tmp, a.write_card)
        print("thresholds written to %s" % a.write_card)


if __name__ == "__main__":
    main()
