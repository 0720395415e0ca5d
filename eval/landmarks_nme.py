#!/usr/bin/python3
"""68-point landmark error of `argus detect --landmarks68` on dlib's example faces.

Ground truth: stills/dlib_faces/examples/faces/{training,testing}_with_face_landmarks.xml
(9 PASCAL VOC photos, 43 boxes with 68 iBUG-300W points each; note that dlib's
points were themselves produced by its shape_predictor_68_face_landmarks model,
so this measures agreement with dlib, on small faces of 37-110 px).

Each ground-truth face is matched to the detected face of highest IoU (>= 0.3,
a detection is used at most once); unmatched faces are misses and listed. The
normalised mean error (NME) of a face is the mean point-to-point distance over
the 68 points divided by the inter-ocular distance (outer eye corners, points
36 and 45, 0-based), and also by the ground-truth box diagonal.

  eval/landmarks_nme.py [--argus build/argus] [--models models]
                        [--data ../shared/data/stills/dlib_faces] [--setting NAME=ARGS ...]
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET

try:
    import numpy as np
except ImportError:
    sys.exit("landmarks_nme: needs numpy (Debian python3-numpy; scripts/setup.sh installs it)")

DEFAULT_SETTINGS = ["480=--size 480", "640=--size 640", "960=--size 960"]
XMLS = ["training_with_face_landmarks.xml", "testing_with_face_landmarks.xml"]


def parse_gt(faces_dir):
    gt = {}  # file -> list of (box x1,y1,x2,y2, pts[68,2])
    for x in XMLS:
        root = ET.parse(os.path.join(faces_dir, x)).getroot()
        for im in root.iter("image"):
            lst = gt.setdefault(im.get("file"), [])
            for b in im.iter("box"):
                t, l = float(b.get("top")), float(b.get("left"))
                w, h = float(b.get("width")), float(b.get("height"))
                pts = np.zeros((68, 2))
                for p in b.iter("part"):
                    pts[int(p.get("name"))] = (float(p.get("x")), float(p.get("y")))
                lst.append((np.array([l, t, l + w, t + h]), pts))
    return gt


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / ua if ua > 0 else 0.0


def run_detect(argus, models, faces_dir, files, opts):
    cmd = [argus, "detect", "--json", "--landmarks68", "--models", models] + \
        shlex.split(opts) + [os.path.join(faces_dir, f) for f in files]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, check=False, text=True).stdout
    det = {}
    for line in out.splitlines():
        r = json.loads(line)
        det[os.path.basename(r["file"])] = r.get("faces", [])
    return det


def evaluate(gt, det):
    io, diag, misses, total = [], [], [], 0
    for f, faces in sorted(gt.items()):
        d = [x for x in det.get(f, []) if "landmarks68" in x]
        used = set()
        for k, (box, pts) in enumerate(faces):
            total += 1
            best, bi = 0.0, -1
            for j, x in enumerate(d):
                if j in used:
                    continue
                v = iou(box, x["box"])
                if v > best:
                    best, bi = v, j
            if bi < 0 or best < 0.3:
                misses.append("%s#%d (%dx%d px, best IoU %.2f)" %
                              (f, k, box[2] - box[0], box[3] - box[1], best))
                continue
            used.add(bi)
            p = np.asarray(d[bi]["landmarks68"], dtype=np.float64)
            err = np.linalg.norm(p - pts, axis=1).mean()
            io.append(err / np.linalg.norm(pts[36] - pts[45]))
            diag.append(err / np.hypot(box[2] - box[0], box[3] - box[1]))
    return np.array(io), np.array(diag), misses, total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--argus", default=os.path.join(here, "..", "build", "argus"))
    ap.add_argument("--models", default=os.path.join(here, "..", "models"))
    ap.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "data",
                                                   "stills", "dlib_faces"))
    ap.add_argument("--setting", action="append", help="NAME=detect options")
    a = ap.parse_args()
    faces_dir = os.path.join(a.data, "examples", "faces")
    if not os.path.isdir(faces_dir):
        sys.exit("landmarks_nme: %s not found" % faces_dir)
    gt = parse_gt(faces_dir)
    print("dlib_faces: %d images, %d faces with 68 points" %
          (len(gt), sum(len(v) for v in gt.values())))
    for s in a.setting or DEFAULT_SETTINGS:
        name, _, opts = s.partition("=")
        det = run_detect(a.argus, a.models, faces_dir, sorted(gt), opts)
        io, diag, misses, total = evaluate(gt, det)
        print("\n[%s] argus detect %s" % (name, opts))
        print("  faces matched:            %d / %d" % (len(io), total))
        if len(io):
            print("  NME inter-ocular:         mean %.4f  median %.4f" %
                  (io.mean(), np.median(io)))
            print("  NME box diagonal:         mean %.4f  median %.4f" %
                  (diag.mean(), np.median(diag)))
            print("  failure rate (NME>0.1):   %.1f %% of matched (%d), %.1f %% counting misses" %
                  (100.0 * (io > 0.1).mean(), int((io > 0.1).sum()),
                   100.0 * ((io > 0.1).sum() + len(misses)) / total))
        for m in misses:
            print("  miss: " + m)


if __name__ == "__main__":
    main()
