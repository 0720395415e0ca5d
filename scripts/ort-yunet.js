#!/usr/bin/env node
// ONNX Runtime references for tests/test_face_yunet.c (the YuNet detector,
// anchor-free grid decoder). Two cases, written under tests/ref/:
//
//   yunet_n_rand   a seeded random input 1x3x256x320 in [0, 256) (the recipe
//                  of scripts/ort-reference.js, tests/ref/README.md): the 12
//                  raw outputs, to hold argus's engine (Resize included) to
//                  ONNX Runtime at a size other than the declared 640x640.
//   yunet_n_photo  the detector input argus makes from a real photo (written
//                  by `test_face_yunet --write-input FILE`): ONNX Runtime's
//                  raw outputs decoded here, independently of argus, into
//                  boxes, scores and 5 points (network pixels), and the
//                  sha256 of the input so the test knows the reference fits.
//
// ONNX Runtime checks inputs against declared shapes, so it runs the same
// network's export with symbolic height and width (yunet_n_dynamic.onnx,
// same weights: ../shared/models/README.md); argus runs the fixed 640 file
// with its input shape overridden.
//
//   node scripts/ort-yunet.js [--model FILE] [--out DIR] [--photo-input FILE
//                             --photo-shape 1,3,H,W]
// Needs onnxruntime-node from scripts/install-peers.sh.
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const root = path.resolve(__dirname, '..');
const peers = process.env.ARGUS_PEERS_DIR || path.join(root, '.cache', 'peers');
const ORT_VERSION = '1.30.0';
const STRIDES = [8, 16, 32];
// The photo case's decoding: the thresholds the test compares at.
const PHOTO_SCORE = 0.3;
const PHOTO_NMS = 0.45;

function fail(msg) {
  process.stderr.write(`ort-yunet: ${msg}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const a = {
    model: path.resolve(root, '..', 'shared', 'models', 'yunet_n_dynamic.onnx'),
    out: path.join(root, 'tests', 'ref'),
    'photo-input': null,
    'photo-shape': null,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '');
    if (!(k in a) || i + 1 >= argv.length) fail(`bad argument '${argv[i]}'`);
    a[k] = argv[++i];
  }
  return a;
}

function fmix32(x) {
  x = x >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b) >>> 0;
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35) >>> 0;
  x ^= x >>> 16;
  x >>>= 0;
  return x === 0 ? 0x9e3779b9 : x;
}

function fill(out, seed, lo, hi) {
  let s = fmix32(seed);
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    const u = (s >>> 8) / 16777216;
    out[i] = Math.fround(lo + (hi - lo) * u);
  }
}

function sha256(buf) {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

function f32Buffer(data) {
  const buf = Buffer.alloc(data.length * 4);
  for (let i = 0; i < data.length; i++) buf.writeFloatLE(data[i], i * 4);
  return buf;
}

function iou(a, b) {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const i = w * h;
  return i / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - i);
}

// The decoding of ../shared/models/README.md (upstream's evaluation code).
function decode(r, W, H, scoreThr, nmsIou) {
  const c = [];
  for (const s of STRIDES) {
    const fw = W / s, fh = H / s;
    const cls = r[`cls_${s}`].data, obj = r[`obj_${s}`].data;
    const bb = r[`bbox_${s}`].data, kp = r[`kps_${s}`].data;
    for (let row = 0; row < fh; row++) {
      for (let col = 0; col < fw; col++) {
        const a = row * fw + col;
        const clip = (v) => Math.min(Math.max(v, 0), 1);
        const score = Math.sqrt(clip(cls[a]) * clip(obj[a]));
        if (!(score >= scoreThr)) continue;
        const cx = (col + bb[4 * a]) * s, cy = (row + bb[4 * a + 1]) * s;
        const w = Math.exp(bb[4 * a + 2]) * s, h = Math.exp(bb[4 * a + 3]) * s;
        const points = [];
        for (let k = 0; k < 5; k++)
          points.push([(col + kp[10 * a + 2 * k]) * s, (row + kp[10 * a + 2 * k + 1]) * s]);
        c.push({ box: [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], score, points });
      }
    }
  }
  c.sort((p, q) => q.score - p.score);
  const kept = [];
  for (const d of c) if (kept.every((k) => iou(k.box, d.box) <= nmsIou)) kept.push(d);
  return kept;
}

function writeCase(dir, doc) {
  fs.mkdirSync(dir, { recursive: true });
  const text = JSON.stringify(doc, null, 2).replace(/\[\s+([-\d.e,\s]+?)\s+\]/g,
    (m, x) => `[${x.replace(/\s+/g, '')}]`);
  fs.writeFileSync(path.join(dir, 'meta.json'), text + '\n');
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  let ort;
  try {
    ort = require(path.join(peers, 'node_modules', 'onnxruntime-node'));
  } catch (e) {
    fail(`onnxruntime-node not found in ${peers}; run scripts/install-peers.sh`);
  }
  const ortPkg = require(path.join(peers, 'node_modules', 'onnxruntime-node', 'package.json'));
  if (ortPkg.version !== ORT_VERSION) fail(`need onnxruntime-node ${ORT_VERSION}, found ${ortPkg.version}`);
  if (!fs.existsSync(args.model)) fail(`${args.model} missing`);
  const opts = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' };
  const sess = await ort.InferenceSession.create(args.model, opts);
  const modelSha = sha256(fs.readFileSync(args.model));
  const runtime = `onnxruntime-node ${ortPkg.version}, intraOpNumThreads 1`;

  // Random case: raw outputs.
  {
    const shape = [1, 3, 256, 320];
    const x = new Float32Array(shape.reduce((p, q) => p * q, 1));
    fill(x, 505, 0, 256);
    const r = await sess.run({ input: new ort.Tensor('float32', x, shape) });
    const dir = path.join(args.out, 'yunet_n_rand');
    fs.mkdirSync(dir, { recursive: true });
    const outs = [];
    for (const n of sess.outputNames) {
      const fname = `output_${n}.f32`;
      fs.writeFileSync(path.join(dir, fname), f32Buffer(r[n].data));
      outs.push({ name: n, shape: r[n].dims.map(Number), file: fname });
    }
    writeCase(dir, {
      model: path.basename(args.model), model_sha256: modelSha, onnxruntime: runtime,
      inputs: [{ name: 'input', shape, seed: 505, items: 1, lo: 0, hi: 256,
        rng: 'as tests/ref/README.md' }],
      outputs: outs,
    });
    process.stdout.write(`ort-yunet: yunet_n_rand: ${outs.length} outputs\n`);
  }

  // Photo case: decoded detections.
  if (args['photo-input']) {
    const shape = (args['photo-shape'] || '').split(',').map(Number);
    if (shape.length !== 4 || shape.some((d) => !(d > 0))) fail('--photo-shape must be 1,3,H,W');
    const raw = fs.readFileSync(args['photo-input']);
    if (raw.length !== shape.reduce((p, q) => p * q, 4)) fail(`${args['photo-input']} does not hold ${shape} floats`);
    const x = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
    const r = await sess.run({ input: new ort.Tensor('float32', x, shape) });
    const dets = decode(r, shape[3], shape[2], PHOTO_SCORE, PHOTO_NMS);
    const round = (v) => Math.round(v * 1e4) / 1e4;
    writeCase(path.join(args.out, 'yunet_n_photo'), {
      model: path.basename(args.model), model_sha256: modelSha, onnxruntime: runtime,
      input_sha256: sha256(raw), input_shape: shape,
      decoding: `score sqrt(cls*obj) >= ${PHOTO_SCORE}, greedy NMS IoU > ${PHOTO_NMS}, network pixels`,
      score_threshold: PHOTO_SCORE, nms_iou: PHOTO_NMS,
      detections: dets.map((d) => ({ box: d.box.map(round), score: round(d.score),
        points: d.points.map((p) => p.map(round)) })),
    });
    process.stdout.write(`ort-yunet: yunet_n_photo: ${dets.length} detections\n`);
  }
}

main().catch((e) => fail(e.stack || String(e)));
