#!/usr/bin/python3
"""Score fusion over a track: does combining several shots of one person raise
recall at the same false-alarm rate? (issue 10)

A live track gives several searched shots of one face (the early shot, better
shots, the best shot at the end). argus alerts when any one shot's best
candidate clears the watchlist threshold ("any shot", an OR over the shots).
This script compares that rule, on the same searches, with fusing the shots:

  any shot     alert when one shot's best candidate scores >= T
  mean         alert for the person whose mean score over the track's shots is
               highest, when that mean is >= T_mean
  any or mean  either of the two (T and T_mean' calibrated together)

Each rule's threshold is set so that the fraction of impostor tracks (people
not enrolled) that raise an alert, the track false-alarm rate (FAR), is at
most the FAR of "any shot" at the watchlist's own threshold; the figure of
merit is then the recall: genuine tracks (enrolled people) alerted with the
right person.

Data: LFW-112 (../shared/data/lfw-112). A "track" is K photos of one person
(default 3). The people with at least K + 1 photos are split by --seed into
enrolled (gallery: their first photo; genuine tracks: their next K photos)
and not enrolled (impostor tracks: their first K photos). Every other person
with >= 2 photos is enrolled from their first photo as a distractor, so the
gallery is as large as in eval/lfw_1n.py. Enrolment and searches go through
the argus command (`argus import --aligned`, `argus identify --aligned
--top 8`), as in eval/lfw_1n.py.

Caveat printed with the figures: K photos of LFW are taken at different
times, so their scores are less correlated than the shots of one video track
(seconds apart, same light and pose); the gain of fusion measured here is an
upper bound of its gain on live tracks, and its FAR calibration is optimistic
for them (correlated impostor shots do not average down).

  eval/fusion_eval.py [--shots K] [--seed S] [--distractors N] [--argus build/argus]
                      [--data ../shared/data/lfw-112] [--models models]
                      [--threads N] [--json] [--workdir DIR]
"""
import argparse
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lfw_1n  # noqa: E402  (the shared import and search helpers)

try:
    import numpy as np
except ImportError:
    sys.exit("fusion_eval: needs numpy (Debian python3-numpy; scripts/setup.sh installs it)")


def people(data):
    root = os.path.join(data, "images")
    out = []
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        if os.path.isdir(d):
            files = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".jpg"))
            out.append((name, files))
    return out


def design(data, k, seed, distractors=-1):
    """gallery {name: file}, genuine [(name, [files])], impostor [(name, [files])]."""
    all_people = people(data)
    rich = [(n, f) for n, f in all_people if len(f) >= k + 1]
    rng = random.Random(seed)
    order = list(range(len(rich)))
    rng.shuffle(order)
    half = len(rich) // 2
    enrolled = [rich[i] for i in sorted(order[:half])]
    strangers = [rich[i] for i in sorted(order[half:])]
    stranger_names = set(n for n, _ in strangers)
    gallery = {n: f[0] for n, f in enrolled}
    others = [(n, f) for n, f in all_people
              if len(f) >= 2 and n not in stranger_names and n not in gallery]
    if distractors >= 0:
        others = others[:distractors]
    for n, f in others:
        gallery[n] = f[0]
    genuine = [(n, f[1:k + 1]) for n, f in enrolled]
    impostor = [(n, f[:k]) for n, f in strangers]
    return gallery, genuine, impostor


def shot_scores(result):
    """{person: score} over the returned candidates, and the floor (the lowest
    returned score: an upper bound for anyone not returned)."""
    cands = result["candidates"]
    scores = {name: s for name, s in cands}
    floor = min(s for _, s in cands) if cands else -1.0
    return scores, floor


def track_stats(shots):
    """Per track: (best single-shot score, its person), (best mean, its person)."""
    best_one, who_one = -2.0, None
    people_seen = set()
    per = []
    for r in shots:
        scores, floor = shot_scores(r)
        per.append((scores, floor))
        people_seen.update(scores)
        for name, s in scores.items():
            if s > best_one:
                best_one, who_one = s, name
    best_mean, who_mean = -2.0, None
    for name in people_seen:
        m = sum(sc.get(name, fl) for sc, fl in per) / len(per)
        if m > best_mean:
            best_mean, who_mean = m, name
    return best_one, who_one, best_mean, who_mean


def threshold_for_far(imp_scores, far):
    """Smallest threshold whose FAR on these impostor track scores is <= far."""
    s = np.sort(np.asarray(imp_scores))[::-1]
    allowed = int(np.floor(far * len(s) + 1e-9))
    if allowed >= len(s):
        return -np.inf
    return float(np.nextafter(np.float32(s[allowed]), np.float32(np.inf)))


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shots", type=int, default=3, help="shots per track (K)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--argus", default=os.path.join(root, "build", "argus"))
    ap.add_argument("--data", default=os.path.join(root, "..", "shared", "data", "lfw-112"))
    ap.add_argument("--models", default=os.environ.get("ARGUS_MODELS", os.path.join(root, "models")))
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--distractors", type=int, default=-1,
                    help="other enrolled persons beside the genuine ones (default: all, "
                         "as in lfw_1n.py); a small gallery is a typical watchlist")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--workdir")
    a = ap.parse_args()
    a.top = 8
    if a.shots < 2:
        sys.exit("fusion_eval: --shots must be at least 2")
    if not os.path.isdir(os.path.join(a.data, "images")):
        sys.exit("fusion_eval: no %s/images (the LFW-112 set of ../shared/data)" % a.data)

    gallery, genuine, impostor = design(a.data, a.shots, a.seed, a.distractors)
    probes = [(f, n) for n, fs in genuine + impostor for f in fs]
    results, timing = lfw_1n.search_all(a, gallery, probes)
    T = next(iter(results.values()))["threshold"]

    gen = [track_stats([results[f] for f in fs]) + (n,) for n, fs in genuine]
    imp = [track_stats([results[f] for f in fs]) for _, fs in impostor]
    imp_one = [t[0] for t in imp]
    imp_mean = [t[2] for t in imp]

    def recall_one(t):
        return sum(1 for b1, w1, _, _, n in gen if b1 >= t and w1 == n) / len(gen)

    def recall_mean(t):
        return sum(1 for _, _, bm, wm, n in gen if bm >= t and wm == n) / len(gen)

    def far_one(t):
        return sum(1 for s in imp_one if s >= t) / len(imp)

    def far_mean(t):
        return sum(1 for s in imp_mean if s >= t) / len(imp)

    def either(t1, tm):
        rec = sum(1 for b1, w1, bm, wm, n in gen
                  if (b1 >= t1 and w1 == n) or (b1 < t1 and bm >= tm and wm == n)) / len(gen)
        far = sum(1 for b1, _, bm, _ in imp if b1 >= t1 or bm >= tm) / len(imp)
        return rec, far

    rows = []
    for label, far_target in (("at the watchlist threshold", None), ("FAR 1 %", 0.01),
                              ("FAR 5 %", 0.05)):
        t1 = T if far_target is None else threshold_for_far(imp_one, far_target)
        far = far_one(t1)
        tm = threshold_for_far(imp_mean, far)
        # any-or-mean: keep the single-shot threshold one step stricter than
        # needed and give the freed false alarms to the mean
        best = (recall_one(t1), far, t1, float("inf"))
        for t1b in sorted(set(s for s in imp_one if s >= t1))[:8]:
            t1c = float(np.nextafter(np.float32(t1b), np.float32(np.inf)))
            for tmc in sorted(set(imp_mean)):
                tmc = float(np.nextafter(np.float32(tmc), np.float32(np.inf)))
                rec, f2 = either(t1c, tmc)
                if f2 <= far and rec > best[0]:
                    best = (rec, f2, t1c, tmc)
        rows.append({
            "operating_point": label, "far": far,
            "any_shot": {"threshold": t1, "recall": recall_one(t1), "far": far},
            "mean": {"threshold": tm, "recall": recall_mean(tm), "far": far_mean(tm)},
            "any_or_mean": {"threshold_one": best[2], "threshold_mean": best[3],
                            "recall": best[0], "far": best[1]},
        })

    # The rule argus implements (watch --fusion M): any shot at the
    # watchlist threshold T, or the mean at T - M; recall and FAR at T.
    margins = []
    for mg in (0.0, 0.02, 0.04, 0.06, 0.08, 0.10):
        rec, far = either(T, T - mg if mg > 0 else float("inf"))
        margins.append({"margin": mg, "recall": rec, "far": far})

    out = {"shots": a.shots, "margins": margins, "seed": a.seed, "gallery": len(gallery), "genuine_tracks": len(gen),
           "impostor_tracks": len(imp), "watchlist_threshold": T, "rows": rows, "timing": timing}
    if a.json:
        print(json.dumps(out))
        return
    print("Score fusion over %d-shot tracks (LFW-112, seed %d): gallery %d persons, %d genuine "
          "tracks (enrolled), %d impostor tracks (not enrolled); watchlist threshold %.4f"
          % (a.shots, a.seed, len(gallery), len(gen), len(imp), T))
    print()
    print("| operating point | track FAR | any shot: recall (T) | mean: recall (T) | any or mean: recall (FAR) |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print("| %s | %.2f %% | %.1f %% (%.4f) | %.1f %% (%.4f) | %.1f %% (%.2f %%) |" % (
            r["operating_point"], 100 * r["far"], 100 * r["any_shot"]["recall"],
            r["any_shot"]["threshold"], 100 * r["mean"]["recall"], r["mean"]["threshold"],
            100 * r["any_or_mean"]["recall"], 100 * r["any_or_mean"]["far"]))
    print()
    print("At the watchlist threshold, as argus watch --fusion M alerts (any shot >= T, or the "
          "mean >= T - M):")
    print()
    print("| M | recall | track FAR |")
    print("|---:|---:|---:|")
    for r in margins:
        print("| %.2f | %.1f %% | %.2f %% |" % (r["margin"], 100 * r["recall"], 100 * r["far"]))
    print()
    print("Recall: genuine tracks alerted with the right person; FAR: impostor tracks that raise "
          "an alert. LFW photos of one person are taken at different times, so this is an upper "
          "bound of what fusion gains on the shots of one video track.")


if __name__ == "__main__":
    main()
