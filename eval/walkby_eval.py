#!/usr/bin/python3
"""Walk-by recall evaluation of `argus watch` against naive per-frame matching
(issue 10).

Steps, all through the argus command line in a fresh temporary folder:
  1. a scene from eval/walkby.py (or an existing one, --scene DIR);
  2. a fresh database with watchlist W; every enrolled person of the scene
     is added with `argus person add --db DB --watchlist W --name NAME PHOTO`
     from a photo OTHER than the one that walks by (the quality gate's
     refusals are reported with their reasons);
  3. `argus watch VIDEO --watchlist W --json --db DB --fps F`, as fast as it
     decodes ("fast") and with --realtime; the alert lines (JSON) on stdout
     and the counters of the final status lines on stderr are read;
  4. the baseline: the video's frames at the same analysed rate (ffmpeg
     fps=F) searched one by one with `argus identify --watchlist W --json`;
     every face whose best candidate clears the threshold is a "match" (the
     naive per-frame alert).

Scoring, per appearance of an enrolled person (one person crossing once):
  alerted        an alert (baseline: a matching frame) for that person at a
                 media time within [enter - tol, exit + tol] (--tolerance,
                 default 0.5 s: the time of a shot vs. the drawn times);
  within 2 s     the first of them at most 2 s after `enter` (the first
                 frame any part of the face is in view);
  false alerts   alerts (matches) for a person who is not on screen at that
                 time (or not enrolled);
  alerts per appearance   over the alerted appearances (mean, max); for the
                 baseline every matching frame counts.
The denominator is the appearances of the people whose enrolment was
accepted ("enrollable"); the planned count is printed beside it.

  eval/walkby_eval.py [--scene DIR | --seed S --people N --enrolled K
                       --video-fps 10] [--fps F] [--mode fast|realtime|both] [--fusion M]
                      [--realtime] [--no-baseline] [--enrol-aligned]
                      [--tolerance S] [--json] [--keep] [--workdir DIR]
                      [--argus build/argus] [--models models]
                      [--data ../shared/data]

With --json one JSON object (the summary) is printed on stdout and the
progress goes to stderr. Python 3 standard library and ffmpeg only.
"""
import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

WATCHLIST = "W"


def log(msg):
    sys.stderr.write("walkby_eval: %s\n" % msg)
    sys.stderr.flush()


def die(msg):
    sys.exit("walkby_eval: " + msg)


def run(cmd, what, check=True, env=None):
    t0 = time.time()
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env)
    took = time.time() - t0
    if check and res.returncode != 0:
        sys.stderr.write(res.stderr[-4000:])
        die("%s failed (exit %d): %s" % (what, res.returncode, shlex.join(cmd[:6])))
    return res, took


def shown(cmd, work):
    """A command as text, the temporary folder written as $WORK."""
    return shlex.join(cmd).replace(work, "$WORK")


# ---- scene ------------------------------------------------------------------

def scene(args, work):
    if args.scene:
        path = os.path.join(args.scene, "scene.json")
        cmd = None
    else:
        out = os.path.join(work, "scene")
        cmd = ["python3", os.path.join(args.here, "walkby.py"), "--out", out,
               "--seed", str(args.seed), "--people", str(args.people),
               "--enrolled", str(args.enrolled), "--fps", str(args.video_fps),
               "--data", args.data]
        log("generating the scene: " + shown(cmd, work))
        res, took = run(cmd, "eval/walkby.py")
        args.generate_s = round(took, 1)
        path = os.path.join(out, "scene.json")
    try:
        with open(path) as f:
            truth = json.load(f)
    except (OSError, ValueError) as e:
        die("cannot read %s: %s" % (path, e))
    if args.scene and not os.path.isabs(truth["video"]):
        truth["video"] = os.path.join(args.scene, truth["video"])
    return truth, cmd


# ---- enrolment --------------------------------------------------------------

def enrol(args, truth, db, work):
    cmd = [args.argus, "watchlist", "create", "--db", db, WATCHLIST]
    run(cmd, "argus watchlist create", env=args.env)
    cmds = [shown(cmd, work)]
    results = []
    for a in truth["appearances"]:
        if not a["enrolled"]:
            continue
        if args.enrol_aligned:
            photo, extra = a["enrol_source"], ["--aligned"]
        else:
            photo, extra = a["enrol_photo"] or a["enrol_source"], []
        cmd = [args.argus, "person", "add", "--db", db, "--watchlist", WATCHLIST,
               "--name", a["person"], "--json"] + extra + [photo]
        res, _ = run(cmd, "argus person add", check=False, env=args.env)
        if len(cmds) < 2:
            cmds.append(shown(cmd, work) + "   (one per enrolled person)")
        accepted, reason = False, None
        for line in res.stdout.splitlines():
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            for p in doc.get("photos", []):
                accepted = bool(p.get("accepted"))
                if not accepted:
                    reason = "; ".join(p.get("reasons") or [p.get("reason", "?")])
                    if p.get("detail"):
                        reason += " (%s)" % p["detail"]
        if res.returncode not in (0, 1) or (not accepted and reason is None):
            reason = "exit %d: %s" % (res.returncode, res.stderr.strip()[-300:])
        results.append({"person": a["person"], "photo": photo,
                        "source": a["enrol_source"], "accepted": accepted,
                        "reason": reason})
        if not accepted:
            log("enrolment of %s refused: %s" % (a["person"], reason))
    return results, cmds


# ---- scoring ----------------------------------------------------------------

def on_screen(truth, person, t, tol):
    for a in truth["appearances"]:
        if a["person"] == person and a["enter"] - tol <= t <= a["exit"] + tol:
            return a
    return None


def score(truth, enrolled_ok, events, tol):
    """events: [(person, media_time)]. The figures of one method."""
    apps = [a for a in truth["appearances"] if a["person"] in enrolled_ok]
    per = {a["id"]: [] for a in apps}
    by_id = {a["id"]: a for a in apps}
    false = []
    for person, t in events:
        a = on_screen(truth, person, t, tol)
        if a is None or a["id"] not in per:
            false.append({"person": person, "media_time": t})
        else:
            per[a["id"]].append(t)
    alerted = [a for a in apps if per[a["id"]]]
    early = [a for a in alerted if min(per[a["id"]]) - a["enter"] <= 2.0]
    counts = [len(per[a["id"]]) for a in alerted]
    delays = sorted(min(per[a["id"]]) - a["enter"] for a in alerted)
    n = len(apps)
    return {
        "appearances": n,
        "alerted": len(alerted),
        "recall": round(len(alerted) / n, 4) if n else None,
        "alerted_2s": len(early),
        "recall_2s": round(len(early) / n, 4) if n else None,
        "false_alerts": len(false),
        "false": false,
        "alerts": len(events),
        "alerts_true": sum(counts),
        "alerts_per_appearance_mean": round(sum(counts) / len(counts), 2) if counts else 0.0,
        "alerts_per_appearance_max": max(counts) if counts else 0,
        "first_alert_delay_median": round(delays[len(delays) // 2], 2) if delays else None,
        "missed": [a["person"] for a in apps if not per[a["id"]]],
        "per_appearance": {str(k): [round(t - by_id[k]["enter"], 2) for t in v]
                           for k, v in per.items()},
        "late": [a["person"] for a in alerted if a not in early],
    }


# ---- argus watch ------------------------------------------------------------

NUM = r"(\d+)"
COUNTERS = {
    "frames_analysed": NUM + r" frames analysed, ",
    "frames_dropped": r"frames analysed, " + NUM + r" dropped",
    "faces": r"\bfaces " + NUM,
    "tracks": r"\btracks " + NUM,
    "matches": r"\bmatches " + NUM,
    "alerts": r"\balerts " + NUM + r"\s*(?:[;,]|$)",
    "faces_searched": NUM + r" faces searched",
    "alerts_stored": r"\((\d+) stored\)",
}


def counters(stderr):
    """The counters of the final status lines (the last block printed)."""
    lines = stderr.splitlines()
    start = 0
    for i, line in enumerate(lines):
        if re.match(r"\[\d\d:\d\d:\d\d\] \d+ cameras?:", line):
            start = i
    final = lines[start:]
    text = "\n".join(final)
    out = {}
    for key, pat in COUNTERS.items():
        m = re.findall(pat, text, re.M)
        out[key] = int(m[-1]) if m else None
    return out, [l for l in final if l.strip()]


def watch(args, truth, db, realtime, work):
    cmd = [args.argus, "watch", truth["video"], "--watchlist", WATCHLIST, "--json",
           "--db", db, "--fps", "%g" % args.fps]
    if realtime:
        cmd.append("--realtime")
    if args.fusion > 0:
        cmd += ["--fusion", "%g" % args.fusion]
    if args.motion:
        cmd += ["--motion", args.motion]
    log("running " + shown(cmd, work))
    res, took = run(cmd, "argus watch", env=args.env)
    events, alerts = [], []
    for line in res.stdout.splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if doc.get("type", "alert") != "alert" or "person" not in doc:
            continue
        events.append((doc["person"], float(doc["media_time"])))
        alerts.append({k: doc.get(k) for k in ("person", "media_time", "track", "score",
                                                "box", "latency_ms")})
    count, status = counters(res.stderr)
    return {"command": shown(cmd, work), "wall_s": round(took, 1), "events": events,
            "alerts_raw": alerts, "counters": count, "status": status}


# ---- baseline ---------------------------------------------------------------

def baseline(args, truth, db, work):
    frames = os.path.join(work, "frames")
    os.makedirs(frames, exist_ok=True)
    ff = [args.ffmpeg, "-v", "error", "-y", "-i", truth["video"], "-vf",
          "fps=%g" % args.fps, "-q:v", "2", os.path.join(frames, "f%05d.jpg")]
    log("extracting frames: " + shown(ff, work))
    _, t_ff = run(ff, "ffmpeg (frames)")
    files = sorted(os.listdir(frames))
    cmd = [args.argus, "identify", "--db", db, "--watchlist", WATCHLIST, "--json",
           "--top", "1"]
    events, matches_raw = [], []
    t_id = 0.0
    chunk = 400
    for i in range(0, len(files), chunk):
        part = [os.path.join(frames, f) for f in files[i:i + chunk]]
        res, took = run(cmd + part, "argus identify", env=args.env)
        t_id += took
        for line in res.stdout.splitlines():
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            m = re.search(r"f(\d+)\.jpg$", doc.get("file", ""))
            if not m:
                continue
            t = (int(m.group(1)) - 1) / float(args.fps)
            for face in doc.get("faces", []):
                cands = face.get("candidates") or []
                if face.get("match") and cands:
                    events.append((cands[0]["name"], t))
                    matches_raw.append({"person": cands[0]["name"], "media_time": t,
                                        "score": cands[0].get("score")})
    return {"commands": [shown(ff, work),
                         shown(cmd, work) + " $WORK/frames/f*.jpg"],
            "frames": len(files), "wall_s": round(t_ff + t_id, 1),
            "events": events, "alerts_raw": matches_raw}


# ---- report -----------------------------------------------------------------

def pct(x):
    return "-" if x is None else "%.1f %%" % (100 * x)


def table(summary):
    cols = [(name, m) for name, m in summary["methods"].items()]
    rows = [
        ("enrolled appearances", lambda s, m: "%d" % s["appearances"]),
        ("alerted (recall)", lambda s, m: "%d  %s" % (s["alerted"], pct(s["recall"]))),
        ("within 2 s of entering", lambda s, m: "%d  %s" % (s["alerted_2s"], pct(s["recall_2s"]))),
        ("false alerts", lambda s, m: "%d" % s["false_alerts"]),
        ("alerts (all)", lambda s, m: "%d" % s["alerts"]),
        ("alerts per alerted appearance mean", lambda s, m: "%.2f" % s["alerts_per_appearance_mean"]),
        ("alerts per alerted appearance max", lambda s, m: "%d" % s["alerts_per_appearance_max"]),
        ("median delay to first alert (s)", lambda s, m: "-" if s["first_alert_delay_median"] is None else "%.2f" % s["first_alert_delay_median"]),
        ("frames analysed", lambda s, m: fmt(m.get("counters", {}).get("frames_analysed", m.get("frames")))),
        ("frames dropped", lambda s, m: fmt(m.get("counters", {}).get("frames_dropped"))),
        ("faces detected", lambda s, m: fmt(m.get("counters", {}).get("faces"))),
        ("tracks", lambda s, m: fmt(m.get("counters", {}).get("tracks"))),
        ("faces searched", lambda s, m: fmt(m.get("counters", {}).get("faces_searched"))),
        ("matches", lambda s, m: fmt(m.get("counters", {}).get("matches", s["alerts"] if m.get("frames") else None))),
        ("wall time (s)", lambda s, m: "%.1f" % m["wall_s"]),
    ]
    head = ["", *[name for name, _ in cols]]
    body = [[label, *[f(m["score"], m) for _, m in cols]] for label, f in rows]
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    out = []
    for r in [head] + body:
        out.append("| " + " | ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i])
                                     for i, c in enumerate(r)) + " |")
        if r is head:
            out.append("|" + "|".join("-" * (w + 2) if i == 0 else "-" * (w + 1) + ":"
                                      for i, w in enumerate(widths)) + "|")
    return "\n".join(out)


def fmt(v):
    return "-" if v is None else str(v)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scene", help="an existing scene folder (eval/walkby.py --out)")
    ap.add_argument("--seed", type=int, default=10)
    ap.add_argument("--people", type=int, default=24)
    ap.add_argument("--enrolled", type=int, default=12)
    ap.add_argument("--video-fps", type=int, default=10, choices=[10, 25],
                    help="frame rate of a generated scene")
    ap.add_argument("--fps", type=float, default=5,
                    help="analysed frames per second (watch --fps and the "
                         "baseline's sampling; default 5, watch's default)")
    ap.add_argument("--fusion", type=float, default=0,
                    help="watch --fusion M: score fusion over a track (default 0: off)")
    ap.add_argument("--motion", choices=["on", "off"],
                    help="argus watch --motion (default: argus' own default, on)")
    ap.add_argument("--mode", choices=["fast", "realtime", "both"], default="both")
    ap.add_argument("--realtime", action="store_true", help="= --mode realtime")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--enrol-aligned", action="store_true",
                    help="enrol the original 112x112 crops with person add --aligned")
    ap.add_argument("--tolerance", type=float, default=0.5)
    ap.add_argument("--json", action="store_true", help="the summary as one JSON object")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--workdir", help="parent of the temporary folder")
    ap.add_argument("--argus", default=os.path.join(root, "build", "argus"))
    ap.add_argument("--models", default=os.environ.get("ARGUS_MODELS",
                                                       os.path.join(root, "models")))
    ap.add_argument("--data", default=os.path.join(root, "..", "shared", "data"))
    ap.add_argument("--ffmpeg", default="ffmpeg")
    args = ap.parse_args()
    args.here = here
    if args.realtime:
        args.mode = "realtime"
    args.argus = os.path.abspath(args.argus)
    if not os.access(args.argus, os.X_OK):
        die("no argus command at %s (build it: ninja -C build argus_cli)" % args.argus)
    if shutil.which(args.ffmpeg) is None:
        die("no ffmpeg command")
    args.env = dict(os.environ, ARGUS_MODELS=os.path.abspath(args.models))
    args.generate_s = None

    work = tempfile.mkdtemp(prefix="argus-walkby-", dir=args.workdir)
    try:
        truth, gen_cmd = scene(args, work)
        db = os.path.join(work, "db", "argus.db")
        os.makedirs(os.path.dirname(db), exist_ok=True)
        enrolment, enrol_cmds = enrol(args, truth, db, work)
        ok = {e["person"] for e in enrolment if e["accepted"]}
        methods = {}
        modes = {"fast": [False], "realtime": [True], "both": [False, True]}[args.mode]
        for realtime in modes:
            r = watch(args, truth, db, realtime, work)
            r["score"] = score(truth, ok, r["events"], args.tolerance)
            methods["argus watch" + (" --realtime" if realtime else "")] = r
        if not args.no_baseline:
            b = baseline(args, truth, db, work)
            b["score"] = score(truth, ok, b["events"], args.tolerance)
            methods["per-frame baseline"] = b
        planned = sum(1 for a in truth["appearances"] if a["enrolled"])
        summary = {
            "scene": {k: truth[k] for k in ("video", "width", "height", "fps", "duration",
                                             "seed", "people", "enrolled", "generator")
                      if k in truth},
            "generate_s": args.generate_s,
            "analysed_fps": args.fps,
            "tolerance_s": args.tolerance,
            "appearances": len(truth["appearances"]),
            "enrolled_planned": planned,
            "enrolled_accepted": len(ok),
            "enrolment": enrolment,
            "commands": ([shown(gen_cmd, work)] if gen_cmd else []) + enrol_cmds,
            "methods": {name: dict([("score", m["score"])] +
                                   [(k, v) for k, v in m.items()
                                    if k not in ("events", "score")])
                        for name, m in methods.items()},
            "workdir": work if args.keep else None,
        }
        if args.json:
            json.dump(summary, sys.stdout)
            sys.stdout.write("\n")
        else:
            report(summary, truth)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log("kept " + work)


def motion(a, fps):
    """Pixels a face moves between two analysed frames, and the IoU of its
    box with itself one analysed frame later (what a tracker that predicts
    no motion for a new track must bridge)."""
    w = a["crop_size"] * 0.8
    h = a["face_height"]
    tr = a["track"]
    vy = 0.0
    if len(tr) >= 2 and tr[-1][0] > tr[0][0]:
        vy = ((tr[-1][2] + tr[-1][4]) - (tr[0][2] + tr[0][4])) / 2 / (tr[-1][0] - tr[0][0])
    dx, dy = a["speed"] / fps, abs(vy) / fps
    inter = max(0.0, w - dx) * max(0.0, h - dy)
    return round((dx * dx + dy * dy) ** 0.5), round(inter / (2 * w * h - inter), 2)


def per_appearance(s, truth):
    ok = {e["person"] for e in s["enrolment"] if e["accepted"]}
    names = list(s["methods"])
    head = ["id", "person", "enrolled", "face px", "px/s", "step px", "step IoU"] + names
    rows = []
    for a in truth["appearances"]:
        step, iou = motion(a, s["analysed_fps"])
        state = "yes" if a["person"] in ok else ("refused" if a["enrolled"] else "no")
        row = [str(a["id"]), a["person"], state, "%.0f" % a["face_height"],
               "%.0f" % a["speed"], str(step), "%.2f" % iou]
        for n in names:
            t = s["methods"][n]["score"]["per_appearance"].get(str(a["id"]))
            row.append("-" if t is None else
                       ("missed" if not t else "%d, first +%.1f s" % (len(t), t[0])))
        rows.append(row)
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    out = ["| " + " | ".join(c.ljust(widths[i]) for i, c in enumerate(head)) + " |",
           "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for r in rows:
        out.append("| " + " | ".join(c.ljust(widths[i]) for i, c in enumerate(r)) + " |")
    return "\n".join(out)


def report(s, truth):
    sc = s["scene"]
    print("Scene: %s (%dx%d, %d fps, %.1f s), seed %s: %d appearances of %d people, "
          "%d enrolled from another photo (%d accepted by the quality gate); "
          "analysed at %g fps, alert time tolerance %.1f s"
          % (sc["video"], sc["width"], sc["height"], sc["fps"], sc["duration"],
             sc.get("seed"), s["appearances"], sc.get("people", 0), s["enrolled_planned"],
             s["enrolled_accepted"], s["analysed_fps"], s["tolerance_s"]))
    for e in s["enrolment"]:
        if not e["accepted"]:
            print("  enrolment refused: %s (%s): %s" % (e["person"], e["source"], e["reason"]))
    print()
    print(table(s))
    print()
    for name, m in s["methods"].items():
        sc_ = m["score"]
        print("%s: missed %s; late (> 2 s) %s; false %s"
              % (name, ", ".join(sc_["missed"]) or "none", ", ".join(sc_["late"]) or "none",
                 ", ".join("%s@%.1f" % (f["person"], f["media_time"]) for f in sc_["false"])
                 or "none"))
        for line in m.get("status", []):
            print("    " + line)
    print()
    print("Per appearance (step: the face's motion between two analysed frames; "
          "cells: alerts or matching frames, and the first one's time after entering):")
    print(per_appearance(s, truth))
    print()
    print("Commands ($WORK is the temporary folder):")
    for c in s["commands"]:
        print("  " + c)
    for name, m in s["methods"].items():
        for c in ([m["command"]] if "command" in m else m["commands"]):
            print("  " + c)


if __name__ == "__main__":
    main()
