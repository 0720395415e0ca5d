#!/usr/bin/python3
"""Open-set 1:N identification on LFW-112 through argus's own gallery and index.

Protocol (as in issue 4): the gallery holds the first image (by file name) of
every person with at least two images (1,680 people); the mated probes are
those people's other images (7,484), the non-mated probes the images of every
person with exactly one image (4,069). Every search returns the best
candidates of the whole gallery.

Metrics, with NIST FRTE 1:N definitions:
  FPIR(t) = fraction of non-mated searches whose best score is >= t;
  FNIR(t) = fraction of mated searches whose mate is not returned at rank 1
            with a score >= t;
  rank-1  = fraction of mated searches whose best candidate is the mate (no
            threshold; the closed-set figure).
The thresholds for FPIR = 1 % and 0.1 % are set on the non-mated searches
themselves (4,069 of them: 0.1 % is 4 searches, so that figure is coarse).

Everything goes through the argus command, not numpy: `argus import --aligned
--no-quality-gate` enrols the gallery (a folder per person made of symlinks in
a temporary folder) into a temporary database, and `argus identify --aligned
--json` searches the probes in batches through the gallery's index.

--gallery-photos N: the variant with several templates per person: the
gallery holds up to N images of each person with at least two (the first N,
always leaving one as a probe), the rest are the mated probes.
--score-norm topn|none and --fuse mean|max: passed to `argus identify`
(default: its defaults, topn and mean). The thresholds that `argus watchlist
set --fpir` derives from the embedder card and the watchlist's size are
evaluated too.

  eval/lfw_1n.py [--argus build/argus] [--data ../shared/data/lfw-112]
                 [--models models] [--threads N] [--top K]
                 [--gallery-photos N] [--score-norm topn|none] [--fuse mean|max]
                 [--cache FILE.json] [--workdir DIR]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
except ImportError:
    sys.exit("lfw_1n: needs numpy (Debian python3-numpy; scripts/setup.sh installs it)")

WATCHLIST = "lfw"
CHUNK = 2000  # probes per `argus identify` run (command-line length)


def run(cmd, what):
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if res.returncode != 0:
        sys.stderr.write(res.stderr)
        sys.exit("lfw_1n: %s failed (exit %d): %s" % (what, res.returncode, " ".join(cmd[:3])))
    return res.stdout


def split(data, per_person=1):
    """Gallery (name -> [files]), mated probes [(file, name)], non-mated [(file, name)]."""
    root = os.path.join(data, "images")
    gallery, mated, nonmated = {}, [], []
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        if not os.path.isdir(d):
            continue
        files = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".jpg"))
        if len(files) >= 2:
            n = min(per_person, len(files) - 1)
            gallery[name] = files[:n]
            mated += [(f, name) for f in files[n:]]
        elif len(files) == 1:
            nonmated.append((files[0], name))
    return gallery, mated, nonmated


def search_all(a, gallery, probes):
    """Runs the import and the searches; returns (results, timings)."""
    work = a.workdir or tempfile.mkdtemp(prefix="argus-lfw1n-")
    os.makedirs(work, exist_ok=True)
    try:
        tree = os.path.join(work, "gallery")
        dbdir = os.path.join(work, "db")
        for p in (tree, dbdir):
            if os.path.exists(p):
                shutil.rmtree(p)
        os.makedirs(dbdir, mode=0o700)
        for name, fs in gallery.items():
            os.makedirs(os.path.join(tree, name))
            for f in fs:
                os.symlink(os.path.abspath(f), os.path.join(tree, name, os.path.basename(f)))
        db = ["--db", os.path.join(dbdir, "argus.db")]
        common = ["--models", a.models, "--threads", str(a.threads)]
        run([a.argus, "watchlist", "create", WATCHLIST] + db, "watchlist create")

        t0 = time.time()
        out = run([a.argus, "import", "--watchlist", WATCHLIST, "--aligned", "--no-quality-gate",
                   "--json", tree] + db + common, "argus import")
        t_import = time.time() - t0
        summary = json.loads(out.strip().splitlines()[-1])
        if summary["persons_enrolled"] != len(gallery):
            sys.exit("lfw_1n: %d of %d gallery persons enrolled: %s"
                     % (summary["persons_enrolled"], len(gallery), out[:2000]))
        sys.stderr.write("import: %d persons in %.1f s\n" % (len(gallery), t_import))

        results = {}
        files = [f for f, _ in probes]
        t0 = time.time()
        for i in range(0, len(files), CHUNK):
            part = files[i:i + CHUNK]
            norm = ["--score-norm", a.score_norm] if a.score_norm else []
            norm += ["--fuse", a.fuse] if a.fuse else []
            out = run([a.argus, "identify", "--watchlist", WATCHLIST, "--aligned", "--json",
                       "--top", str(a.top)] + norm + db + common + part, "argus identify")
            for line in out.splitlines():
                d = json.loads(line)
                if "error" in d:
                    sys.exit("lfw_1n: %s: %s" % (d["file"], d["error"]))
                face = d["faces"][0]
                results[d["file"]] = {
                    "threshold": face["threshold"],
                    "candidates": [(c["external_id"], c["score"], "raw_score" in c)
                                   for c in face["candidates"]],
                }
            sys.stderr.write("\ridentify: %d/%d probes (%.1f s)"
                             % (min(i + CHUNK, len(files)), len(files), time.time() - t0))
        sys.stderr.write("\n")
        t_search = time.time() - t0
        # After the searches: the thresholds `watchlist set --fpir` would set.
        fpir_thr = {}
        for target in (0.01, 0.001):
            out = run([a.argus, "watchlist", "set", WATCHLIST, "--fpir", str(target),
                       "--models", a.models] + db, "watchlist set --fpir")
            fpir_thr[str(target)] = float(out.split("threshold")[1].split()[0])
        missing = [f for f in files if f not in results]
        if missing:
            sys.exit("lfw_1n: no result for %d probes (first %s)" % (len(missing), missing[0]))
        return results, {"import_s": t_import, "identify_s": t_search, "fpir_thr": fpir_thr}
    finally:
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)


def threshold_at(nonmated_top, fpir):
    """Smallest threshold whose FPIR on these scores is at most fpir."""
    s = np.sort(nonmated_top)[::-1]
    allowed = int(np.floor(fpir * len(s)))
    if allowed >= len(s):
        return -np.inf
    return float(np.nextafter(np.float32(s[allowed]), np.float32(np.inf)))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--argus", default=os.path.join(root, "build", "argus"))
    ap.add_argument("--data", default=os.path.join(root, "..", "shared", "data", "lfw-112"))
    ap.add_argument("--models", default=os.path.join(root, "models"))
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--top", type=int, default=10, help="candidates per search (rank-k figures)")
    ap.add_argument("--gallery-photos", type=int, default=1,
                    help="gallery images per person (variant protocol; default 1)")
    ap.add_argument("--score-norm", choices=("topn", "none"),
                    help="argus identify --score-norm (default: its default)")
    ap.add_argument("--fuse", choices=("mean", "max"),
                    help="argus identify --fuse (default: its default)")
    ap.add_argument("--cache", help="save/load the search results here (JSON)")
    ap.add_argument("--workdir", help="keep the gallery tree and database here (default: a "
                    "temporary folder, removed)")
    a = ap.parse_args()
    if not os.path.isdir(a.data):
        sys.exit("lfw_1n: %s is absent (LFW-112 lives in ../shared/data)" % a.data)

    gallery, mated, nonmated = split(a.data, a.gallery_photos)
    probes = mated + nonmated
    print("LFW-112 open-set 1:N: gallery %d persons (%d images, up to %d each), %d mated probes, "
          "%d non-mated probes; score normalisation: %s; photos of a person: %s"
          % (len(gallery), sum(len(v) for v in gallery.values()), a.gallery_photos, len(mated),
             len(nonmated), a.score_norm or "identify's default", a.fuse or "identify's default"))

    key = {"gallery": len(gallery), "mated": len(mated), "nonmated": len(nonmated),
           "top": a.top, "gallery_photos": a.gallery_photos, "score_norm": a.score_norm,
           "fuse": a.fuse}
    results = None
    if a.cache and os.path.exists(a.cache):
        with open(a.cache) as f:
            c = json.load(f)
        if c.get("key") == key:
            results, timing = c["results"], c["timing"]
            print("(search results from the cache %s)" % a.cache)
    if results is None:
        results, timing = search_all(a, gallery, probes)
        if a.cache:
            with open(a.cache, "w") as f:
                json.dump({"key": key, "results": results, "timing": timing}, f)

    # Mated: the best candidate and whether it is the mate; rank of the mate.
    m_score = np.empty(len(mated))
    m_hit = np.zeros(len(mated), bool)
    m_rank = np.full(len(mated), np.inf)
    for i, (f, name) in enumerate(mated):
        cands = results[f]["candidates"]
        m_score[i] = cands[0][1] if cands else -np.inf
        m_hit[i] = bool(cands) and cands[0][0] == name
        for r, (ext, *_) in enumerate(cands):
            if ext == name:
                m_rank[i] = r + 1
                break
    nm_top = np.array([results[f]["candidates"][0][1] if results[f]["candidates"] else -np.inf
                       for f, _ in nonmated])

    def fnir(t):
        return float(np.mean(~(m_hit & (m_score >= t))))

    def fpir(t):
        return float(np.mean(nm_top >= t))

    print()
    print("%-34s %10s %10s %10s" % ("operating point", "threshold", "FPIR", "FNIR"))
    for target in (0.01, 0.001):
        t = threshold_at(nm_top, target)
        print("%-34s %10.4f %9.2f%% %9.2f%%" % ("FPIR = %g %%" % (target * 100), t,
                                               100 * fpir(t), 100 * fnir(t)))
    card_t = next((results[f]["threshold"] for f, _ in probes
                   if results[f]["threshold"] is not None), None)
    if card_t is not None:
        print("%-34s %10.4f %9.2f%% %9.2f%%" % ("watchlist threshold (card default)", card_t,
                                               100 * fpir(card_t), 100 * fnir(card_t)))
    for target, t in sorted(timing.get("fpir_thr", {}).items(), reverse=True):
        print("%-34s %10.4f %9.2f%% %9.2f%%" % ("watchlist set --fpir %s" % target, t,
                                               100 * fpir(t), 100 * fnir(t)))
    normalised = sum(1 for f, _ in probes for c in results[f]["candidates"][:1]
                     if len(c) > 2 and c[2])
    print()
    print("searches with normalised scores: %d of %d" % (normalised, len(probes)))
    print("rank-1 accuracy (closed set, mated probes): %.2f %%" % (100 * np.mean(m_hit)))
    for k in (5, a.top):
        if k <= a.top and k > 1:
            print("rank-%d accuracy: %.2f %%" % (k, 100 * np.mean(m_rank <= k)))
    n = len(probes)
    print()
    if "import_s" in timing:
        print("time: import of %d gallery persons %.1f s (%.1f ms per person); "
              "identify of %d probes %.1f s (%.2f ms per probe, embedding included)"
              % (len(gallery), timing["import_s"], 1000 * timing["import_s"] / len(gallery),
                 n, timing["identify_s"], 1000 * timing["identify_s"] / n))


if __name__ == "__main__":
    main()
