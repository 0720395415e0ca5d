#!/usr/bin/python3
"""Walk-by scene generator: people from LFW-112 cross a background, one after
another or overlapping, at different sizes and speeds (issue 10).

The scene is made by one ffmpeg run whose filter graph is built here: a
background (a plain generated gradient, or a frame of a video under
../shared/data/video, blurred so that nobody in it is detected) and, per
appearance, one 112x112 aligned LFW photo scaled to its size and overlaid
with time-dependent x/y expressions while the person is on screen. Everything
is drawn from --seed, so the same seed gives the same scene (the same ground
truth byte for byte, and the same video with the same ffmpeg).

Each of the N people is a distinct LFW identity with at least two photos.
K of them are "enrolled": the enrolment photo is a DIFFERENT photo of the
same person than the one that walks by. The LFW photos are tight aligned
crops on which the detector finds no face, so by default the generator also
writes each enrolment photo as that crop centred on a neutral 2.5x canvas
(enrol/NAME.png in the scene folder), which `argus person add` then takes
through its full detection and quality gate like any user photo; the
original photo path is kept in the ground truth (enrol_source) for
`person add --aligned` instead. Nothing is copied into the repository: the
scene folder is wherever --out says (a temporary folder in the evaluation).

Outputs, in --out:
  scene.mp4     H.264, WIDTHxHEIGHT, --fps frames per second (10 or 25)
  scene.json    the ground truth:
    {"video","width","height","fps","duration","seed","background",
     "people": N, "enrolled": K,
     "appearances": [{"id","person","photo","enrolled","enrol_photo",
        "enrol_source","enter","exit","full_enter","full_exit",
        "crop_size","face_height","speed","direction",
        "track": [[t, x1, y1, x2, y2], ...]}, ...]}
    enter/exit: first and last instant any part of the photo is in the
    frame; full_enter/full_exit: the whole face box is in the frame (null
    when it never is). track: the face box (approximately the detector's
    box: the central 80 % x 89 % of the aligned crop) every 0.1 s while on
    screen, clipped to the frame. Times are media times in seconds.
  enrol/*.png   the enrolment photos (see above)

  eval/walkby.py --out DIR [--seed S] [--people N] [--enrolled K]
                 [--fps 10|25] [--size 1280x720] [--min-face 60]
                 [--max-face 200] [--min-on 2] [--max-on 5]
                 [--overlap P] [--background gradient|VIDEO[@SECONDS]]
                 [--data ../shared/data] [--ffmpeg ffmpeg]

Python 3 standard library and the ffmpeg command only.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import time

# The detector's box on a 112x112 aligned crop overlaid on a background,
# measured with `argus detect`: about 0.80 of the crop wide and 0.89 high,
# centred horizontally, from 0.05 to 0.94 vertically.
FACE_W, FACE_H, FACE_TOP = 0.80, 0.89, 0.05


def die(msg):
    sys.exit("walkby: " + msg)


def lfw_people(data):
    """Sorted [(name, [photo paths])] of LFW-112 identities with >= 2 photos."""
    root = os.path.join(data, "lfw-112", "images")
    if not os.path.isdir(root):
        die("no %s (the LFW-112 set of ../shared/data)" % root)
    out = []
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        if not os.path.isdir(d):
            continue
        photos = sorted(f for f in os.listdir(d) if f.lower().endswith(".jpg"))
        if len(photos) >= 2:
            out.append((name, [os.path.join(d, f) for f in photos]))
    return out


def plan(args, people):
    """The scene's appearances, drawn from the seed: a list of dicts."""
    rng = random.Random(args.seed)
    width, height = args.width, args.height
    chosen = rng.sample(people, args.people)
    enrolled = set(rng.sample(range(args.people), args.enrolled))
    apps = []
    t = 0.3
    for i, (name, photos) in enumerate(chosen):
        walk, enrol = rng.sample(photos, 2)
        face_h = rng.uniform(args.min_face, args.max_face)
        crop = int(round(face_h / FACE_H / 2.0)) * 2
        on = rng.uniform(args.min_on, args.max_on)
        direction = rng.choice(["left-to-right", "right-to-left"])
        # horizontal crossing from just outside one edge to just outside the
        # other in `on` seconds, with a slight vertical drift
        dist = width + crop
        vx = dist / on
        x0 = -crop if direction == "left-to-right" else width
        if direction == "right-to-left":
            vx = -vx
        # a lane that does not cover the people on screen at the same time
        t0 = t
        busy = [a for a in apps if a["enter"] < t0 + on and a["exit"] > t0]
        y0 = vy = 0.0
        for _ in range(40):
            ylo, yhi = 0.02 * height, 0.98 * height - crop
            y0 = rng.uniform(ylo, yhi)
            y1 = min(yhi, max(ylo, y0 + rng.uniform(-0.08, 0.08) * height))
            vy = (y1 - y0) / on  # the whole face stays within the height
            lo, hi = min(y0, y1), max(y0, y1) + crop
            if all(hi <= a["_ylo"] or lo >= a["_yhi"] for a in busy):
                break
        y1 = y0 + vy * on
        apps.append({
            "id": i, "person": name, "photo": walk,
            "enrolled": i in enrolled,
            "enrol_photo": None, "enrol_source": enrol if i in enrolled else None,
            "enter": round(t0, 3), "exit": round(t0 + on, 3),
            "crop_size": crop, "face_height": round(crop * FACE_H, 1),
            "speed": round(abs(vx), 1), "direction": direction,
            "_x0": x0, "_y0": y0, "_vx": vx, "_vy": vy,
            "_ylo": min(y0, y1), "_yhi": max(y0, y1) + crop,
        })
        # the next one: after the previous has crossed part of the way, or
        # (with probability --overlap) while it is still well on screen
        if rng.random() < args.overlap:
            t += on * rng.uniform(0.25, 0.6)
        else:
            t += on * rng.uniform(0.75, 1.15)
    return apps


def box_at(a, t, width, height):
    """The face box of appearance a at time t, clipped; None when off screen."""
    s = a["crop_size"]
    x = a["_x0"] + a["_vx"] * (t - a["enter"])
    y = a["_y0"] + a["_vy"] * (t - a["enter"])
    fx1 = x + s * (1 - FACE_W) / 2
    fy1 = y + s * FACE_TOP
    fx2, fy2 = fx1 + s * FACE_W, fy1 + s * FACE_H
    full = fx1 >= 0 and fy1 >= 0 and fx2 <= width and fy2 <= height
    cx1, cy1 = max(0.0, fx1), max(0.0, fy1)
    cx2, cy2 = min(float(width), fx2), min(float(height), fy2)
    if cx2 - cx1 < 2 or cy2 - cy1 < 2:  # a sliver at the edge: off screen
        return None, False
    return [round(cx1, 1), round(cy1, 1), round(cx2, 1), round(cy2, 1)], full


def finish(a, width, height):
    """Fills the box track and the full-visibility span of appearance a."""
    track, full = [], []
    n = int((a["exit"] - a["enter"]) / 0.1)
    for k in range(n + 1):
        t = round(a["enter"] + 0.1 * k, 3)
        box, whole = box_at(a, t, width, height)
        if box:
            track.append([t] + box)
        if whole:
            full.append(t)
    a["track"] = track
    a["full_enter"] = full[0] if full else None
    a["full_exit"] = full[-1] if full else None


def background_input(args):
    """ffmpeg input arguments and a filter chain for the background."""
    size = "%dx%d" % (args.width, args.height)
    if args.background == "gradient":
        src = ("gradients=s=%s:c0=0x46505a:c1=0x9a9484:x0=0:y0=0:x1=%d:y1=%d"
               ":d=%.3f:r=%d:speed=0.00001:seed=1" % (size, args.width, args.height,
                                                args.duration, args.fps))
        return ["-f", "lavfi", "-i", src], "[0:v]format=yuv420p[bg0]"
    path, _, at = args.background.partition("@")
    if not os.path.isabs(path) and not os.path.exists(path):
        path = os.path.join(args.data, "video", path)
    if not os.path.exists(path):
        die("no background video %s" % path)
    # one frame, blurred hard (no detectable face left in it), held
    return (["-ss", at or "1", "-i", path],
            "[0:v]trim=end_frame=1,scale=%d:%d,boxblur=20:2,loop=-1:1:0,"
            "fps=%d,trim=duration=%.3f,format=yuv420p[bg0]"
            % (args.width, args.height, args.fps, args.duration))


def build_command(args, apps, video):
    cmd = [args.ffmpeg, "-v", "error", "-y"]
    inputs, chains = background_input(args)
    cmd += inputs
    graph = [chains]
    last = "bg0"
    for k, a in enumerate(apps):
        on = a["exit"] - a["enter"]
        cmd += ["-loop", "1", "-framerate", str(args.fps), "-t", "%.3f" % (on + 0.2),
                "-i", a["photo"]]
        s = a["crop_size"]
        graph.append("[%d:v]scale=%d:%d:flags=bicubic,format=yuv420p,"
                     "setpts=PTS-STARTPTS+%.3f/TB[p%d]" % (k + 1, s, s, a["enter"], k))
        x = "%.2f+(%.4f)*(t-%.3f)" % (a["_x0"], a["_vx"], a["enter"])
        y = "%.2f+(%.4f)*(t-%.3f)" % (a["_y0"], a["_vy"], a["enter"])
        graph.append("[%s][p%d]overlay=x='%s':y='%s':eof_action=pass:eval=frame"
                     ":enable='between(t,%.3f,%.3f)'[v%d]"
                     % (last, k, x, y, a["enter"], a["exit"], k))
        last = "v%d" % k
    cmd += ["-filter_complex", ";".join(graph), "-map", "[%s]" % last,
            "-t", "%.3f" % args.duration, "-r", str(args.fps),
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
            "-pix_fmt", "yuv420p", "-g", str(2 * args.fps), "-an", video]
    return cmd


def enrol_photos(args, apps, outdir):
    """Writes the padded enrolment photos; fills enrol_photo."""
    d = os.path.join(outdir, "enrol")
    os.makedirs(d, exist_ok=True)
    for a in apps:
        if not a["enrolled"]:
            continue
        dst = os.path.join(d, a["person"] + ".png")
        side = 280  # 112 * 2.5: the crop with a margin of neutral grey
        res = subprocess.run(
            [args.ffmpeg, "-v", "error", "-y", "-i", a["enrol_source"], "-vf",
             "pad=%d:%d:(ow-iw)/2:(oh-ih)/2:color=0x808080" % (side, side),
             "-frames:v", "1", dst], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        if res.returncode != 0:
            die("ffmpeg could not write %s: %s" % (dst, res.stderr.strip()))
        a["enrol_photo"] = dst


def parse_size(text):
    try:
        w, h = text.lower().split("x")
        w, h = int(w), int(h)
    except ValueError:
        die("--size WIDTHxHEIGHT, e.g. 1280x720")
    if w < 320 or h < 240 or w > 4096 or h > 4096 or w % 2 or h % 2:
        die("--size: even sides from 320x240 to 4096x4096")
    return w, h


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="scene folder (created)")
    ap.add_argument("--seed", type=int, default=10)
    ap.add_argument("--people", type=int, default=24)
    ap.add_argument("--enrolled", type=int, default=12)
    ap.add_argument("--fps", type=int, default=10, choices=[10, 25])
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--min-face", type=float, default=60)
    ap.add_argument("--max-face", type=float, default=200)
    ap.add_argument("--min-on", type=float, default=2.0, help="seconds on screen")
    ap.add_argument("--max-on", type=float, default=5.0)
    ap.add_argument("--overlap", type=float, default=0.3,
                    help="probability that the next person enters while the "
                         "previous one is still well on screen")
    ap.add_argument("--background", default="gradient",
                    help="'gradient' or a video (name under DATA/video or a "
                         "path), optionally @SECONDS for the frame")
    ap.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "data"))
    ap.add_argument("--ffmpeg", default="ffmpeg")
    args = ap.parse_args()
    args.width, args.height = parse_size(args.size)
    if args.people < 1 or not 0 <= args.enrolled <= args.people:
        die("need --people >= 1 and 0 <= --enrolled <= --people")
    if not 0 < args.min_face <= args.max_face or args.max_face > args.height * 0.8:
        die("need 0 < --min-face <= --max-face <= 0.8 * frame height")
    if not 0.5 <= args.min_on <= args.max_on:
        die("need 0.5 <= --min-on <= --max-on")
    args.data = os.path.abspath(args.data)
    people = lfw_people(args.data)
    if len(people) < args.people:
        die("only %d LFW identities with two photos" % len(people))

    apps = plan(args, people)
    args.duration = round(max(a["exit"] for a in apps) + 0.5, 1)
    for a in apps:
        finish(a, args.width, args.height)
    os.makedirs(args.out, exist_ok=True)
    out = os.path.abspath(args.out)
    video = os.path.join(out, "scene.mp4")
    enrol_photos(args, apps, out)
    cmd = build_command(args, apps, video)
    t0 = time.time()
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if res.returncode != 0:
        die("ffmpeg failed (exit %d): %s" % (res.returncode, res.stderr.strip()[-2000:]))
    took = time.time() - t0
    truth = {
        "video": video, "width": args.width, "height": args.height,
        "fps": args.fps, "duration": args.duration, "seed": args.seed,
        "background": args.background, "people": args.people,
        "enrolled": args.enrolled, "data": args.data,
        "generator": "eval/walkby.py --seed %d --people %d --enrolled %d --fps %d "
                     "--size %dx%d --min-face %g --max-face %g --min-on %g "
                     "--max-on %g --overlap %g --background %s"
                     % (args.seed, args.people, args.enrolled, args.fps, args.width,
                        args.height, args.min_face, args.max_face, args.min_on,
                        args.max_on, args.overlap, args.background),
        "appearances": [{k: v for k, v in a.items() if not k.startswith("_")}
                        for a in apps],
    }
    with open(os.path.join(out, "scene.json"), "w") as f:
        json.dump(truth, f, indent=1)
        f.write("\n")
    sys.stderr.write("walkby: %s: %d people (%d enrolled), %.1f s at %d fps, "
                     "made in %.1f s\n" % (video, args.people, args.enrolled,
                                           args.duration, args.fps, took))


if __name__ == "__main__":
    main()
