#!/usr/bin/python3
"""Offline study of 1:N score normalisations and template fusion on LFW-112.

The protocol of eval/lfw_1n.py (gallery: the first image, or up to N images,
of every person with two or more; mated probes: their other images; non-mated
probes: the people with one image), applied with numpy to the embeddings of
`argus embed --aligned` (as eval/lfw_verify.py --cache saves them), so that
many techniques can be compared in seconds. The ones argus adopted are
measured through the command line by eval/lfw_1n.py; both agree to 0.0005
(docs/gallery.md has the table). Thresholds for FPIR 1 % and 0.1 % are set on
the non-mated searches, FNIR counts mated searches whose mate is not rank 1
above them.

  /usr/bin/python3 eval/lfw_verify.py --cache /tmp/lfw-emb.npz     # once
  eval/lfw_1n_offline.py --emb /tmp/lfw-emb.npz [--gallery-photos 1,3]
                         [--cohort STILLS.jsonl] [--quality]

--cohort: `argus embed --json` output of photos that are neither watchlist
nor probe faces (e.g. ../shared/data/stills): the largest face of each is an
outside cohort for Z-/T-norm. --quality: argus's sharpness measure recomputed
on the crops (decoded with ffmpeg) for quality-weighted scores.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    sys.exit("lfw_1n_offline: needs numpy (Debian python3-numpy)")


def load(path):
    z = np.load(path, allow_pickle=False)
    files = [str(f) for f in z["files"]]
    E = z["emb"].astype(np.float32)
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    return files, E


def protocol(files, ngal):
    byp = {}
    for i, f in enumerate(files):
        byp.setdefault(os.path.basename(os.path.dirname(f)), []).append(i)
    gt, go, mt, mo, nt = [], [], [], [], []
    pid = 0
    for name in sorted(byp):
        ix = sorted(byp[name], key=lambda i: files[i])
        if len(ix) >= 2:
            g = ix[:min(ngal, len(ix) - 1)]
            gt += g
            go += [pid] * len(g)
            mt += ix[len(g):]
            mo += [pid] * (len(ix) - len(g))
            pid += 1
        else:
            nt += ix
    return [np.asarray(v) for v in (gt, go, mt, mo, nt)] + [pid]


def thr_at(nm, f):
    s = np.sort(nm)[::-1]
    return np.nextafter(np.float32(s[int(np.floor(f * len(s)))]), np.float32(np.inf))


def metrics(Sm, mo, Sn):
    top = Sm.argmax(1)
    hit = top == mo
    ms = Sm[np.arange(len(Sm)), top]
    nm = Sn.max(1)
    return [float(np.mean(~(hit & (ms >= thr_at(nm, f))))) for f in (0.01, 0.001)] + \
        [float(hit.mean())]


def sharpness(files):
    """argus's aligned-enrolment sharpness s = m / (m + 0.04), m = var(Laplacian) /
    var(grey) over x 25-75 %, y 35-90 % of the crop."""
    with tempfile.TemporaryDirectory() as d:
        lst, raw = os.path.join(d, "list.txt"), os.path.join(d, "all.gray")
        with open(lst, "w") as f:
            for p in files:
                f.write("file '%s'\n" % p)
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", lst,
                        "-vsync", "0", "-f", "rawvideo", "-pix_fmt", "gray", raw], check=True)
        a = np.fromfile(raw, np.uint8).reshape(-1, 112, 112).astype(np.float64)
    if len(a) != len(files):
        sys.exit("lfw_1n_offline: ffmpeg decoded %d of %d crops" % (len(a), len(files)))
    r = a[:, 112 * 35 // 100:112 * 35 // 100 + 112 * 55 // 100, 28:28 + 56]
    lap = r[:, 1:-1, 1:-1] * 4 - r[:, :-2, 1:-1] - r[:, 2:, 1:-1] - r[:, 1:-1, :-2] - r[:, 1:-1, 2:]
    m = lap.reshape(len(a), -1).var(1) / np.maximum(r.reshape(len(a), -1).var(1), 1e-9)
    return m / (m + 0.04)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--emb", required=True, help="npz of eval/lfw_verify.py --cache")
    ap.add_argument("--gallery-photos", default="1,3")
    ap.add_argument("--cohort", help="argus embed --json output of outside faces")
    ap.add_argument("--quality", action="store_true")
    a = ap.parse_args()
    files, E = load(a.emb)
    C = None
    if a.cohort:
        rows = []
        for line in open(a.cohort):
            d = json.loads(line)
            fs = [f for f in d.get("faces", []) if "embedding" in f]
            if fs:
                f = max(fs, key=lambda f: (f["box"][2] - f["box"][0]) * (f["box"][3] - f["box"][1]))
                rows.append(f["embedding"])
        C = np.asarray(rows, np.float32)
        C /= np.linalg.norm(C, axis=1, keepdims=True)
    sharp = sharpness(files) if a.quality else None

    for ngal in [int(x) for x in a.gallery_photos.split(",")]:
        gt, go, mt, mo, nt, npers = protocol(files, ngal)
        G = E[gt]
        order = np.argsort(go, kind="stable")
        starts = np.r_[0, np.nonzero(np.diff(go[order]))[0] + 1]

        def person(S):
            return np.maximum.reduceat(S[:, order], starts, axis=1)

        Smt, Snt = E[mt] @ G.T, E[nt] @ G.T
        Sm, Sn = person(Smt), person(Snt)
        print("== up to %d gallery photos per person: %d persons, %d templates, %d mated, "
              "%d non-mated probes" % (ngal, npers, len(gt), len(mt), len(nt)))
        print("%-58s %9s %9s %7s" % ("technique", "FNIR@1%", "FNIR@.1%", "rank-1"))

        def report(name, A, B):
            f1, f2, r1 = metrics(A, mo, B)
            print("%-58s %9.4f %9.4f %7.4f" % (name, f1, f2, r1), flush=True)

        def shift(S, w, N):
            s = -np.sort(-S, 1)
            return S - w * s[:, 1:N + 1].mean(1, keepdims=True)

        def zn(S, N):
            s = -np.sort(-S, 1)
            c = s[:, 1:N + 1]
            return (S - c.mean(1, keepdims=True)) / (c.std(1, keepdims=True) + 1e-6)

        report("cosine, best photo", Sm, Sn)
        for w, N in ((0.5, 8), (0.5, 4), (0.5, 16), (0.75, 8), (1.0, 16)):
            report("top-N shift w %.2f N %d%s" % (w, N, " (argus default)" if (w, N) == (0.5, 8)
                                                 else ""), shift(Sm, w, N), shift(Sn, w, N))
        for N in (32, 128):
            report("top-N z-score N %d" % N, zn(Sm, N), zn(Sn, N))
        s2m, s2n = -np.sort(-Sm, 1)[:, 1:2], -np.sort(-Sn, 1)[:, 1:2]
        report("gap to rank 2", Sm - s2m, Sn - s2n)

        def tfull(S):
            return (S - S.mean(1, keepdims=True)) / S.std(1, keepdims=True)
        report("T-norm against the whole gallery", tfull(Sm), tfull(Sn))
        same = go[:, None] == go[None, :]
        GG = np.where(same, np.nan, G @ G.T)
        mu_g, sd_g = np.nanmean(GG, 1), np.nanstd(GG, 1)
        zm, zs = person((Smt - mu_g) / sd_g), person((Snt - mu_g) / sd_g)
        report("Z-norm per template, cohort = other enrolled persons", zm, zs)
        report("S-norm (that Z + whole-gallery T) / 2", (zm + tfull(Sm)) / 2, (zs + tfull(Sn)) / 2)
        m = G.mean(0)

        def centre(X, k=0, V=None):
            Y = X - m
            if V is not None:
                Y = Y - (Y @ V.T) @ V
            return Y / np.linalg.norm(Y, axis=1, keepdims=True)
        Gc = centre(G)
        report("centring on the gallery mean", person(centre(E[mt]) @ Gc.T),
               person(centre(E[nt]) @ Gc.T))
        V = np.linalg.svd(G - m, full_matrices=False)[2][:8]
        Gp = centre(G, V=V)
        report("centring + removing the top 8 principal components",
               person(centre(E[mt], V=V) @ Gp.T), person(centre(E[nt], V=V) @ Gp.T))
        if ngal > 1:
            A = np.zeros((npers, E.shape[1]), np.float32)
            np.add.at(A, go, G)
            A /= np.linalg.norm(A, axis=1, keepdims=True)
            Am, An = E[mt] @ A.T, E[nt] @ A.T
            report("mean template", Am, An)
            report("mean template + top-N shift (argus defaults)", shift(Am, 0.5, 8),
                   shift(An, 0.5, 8))

            def mean_scores(S, wts=None):
                out = np.zeros((len(S), npers), np.float32)
                w = np.ones(len(gt)) if wts is None else wts
                np.add.at(out.T, go, (S * w).T)
                tot = np.zeros(npers)
                np.add.at(tot, go, w)
                return out / tot
            report("mean of the template scores", mean_scores(Smt), mean_scores(Snt))
            if sharp is not None:
                report("quality-weighted mean of the template scores",
                       mean_scores(Smt, sharp[gt]), mean_scores(Snt, sharp[gt]))
        if sharp is not None:
            qm, qn = sharp[mt][:, None], sharp[nt][:, None]
            report("quality, probe: s - 0.1 (1 - sharpness)", Sm - 0.1 * (1 - qm), Sn - 0.1 * (1 - qn))
            report("quality, probe: s * sharpness^0.5", Sm * qm ** 0.5, Sn * qn ** 0.5)
            qg = sharp[gt][None, :]
            report("quality, gallery photo: s - 0.1 (1 - sharpness)",
                   person(Smt - 0.1 * (1 - qg)), person(Snt - 0.1 * (1 - qg)))
        if C is not None:
            GC = G @ C.T
            mu, sd = GC.mean(1), GC.std(1)
            report("Z-norm per template, outside cohort (%d faces)" % len(C),
                   person((Smt - mu) / sd), person((Snt - mu) / sd))

            def tn(X, S):
                XC = X @ C.T
                return (S - XC.mean(1, keepdims=True)) / XC.std(1, keepdims=True)
            report("T-norm, outside cohort", tn(E[mt], Sm), tn(E[nt], Sn))
        print()


if __name__ == "__main__":
    main()
