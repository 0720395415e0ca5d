#!/usr/bin/env node
// Times ONNX Runtime (onnxruntime-node) on a model the way `argus nn bench`
// times argus, and prints one JSON line. Used by bench/nn_bench.sh.
//
//   node bench/ort_bench.js MODEL [--threads N] [--batch N] [--iters N]
//                           [--warmup N] [--seed N] [--height H --width W]
//
// --height/--width give the free (symbolic) dims 2 and 3 of a 4-D input, as
// `argus nn bench --input-shape` does for argus (e.g. YuNet's dynamic export
// at 640x480 or 1920x1088).
// Session: intraOpNumThreads N, interOpNumThreads 1, sequential execution,
// graphOptimizationLevel "all". Inputs: the same seeded uniform values in
// [-1, 1) as argus (fmix32 + xorshift32). When the model fixes input dim 0
// at 1 (the default face models do) ONNX Runtime refuses a larger batch, so
// one timed iteration is then `batch` runs at batch 1 ("mode":"loop").
'use strict';
const path = require('path');

const root = path.resolve(__dirname, '..');
const peers = process.env.ARGUS_PEERS_DIR || path.join(root, '.cache', 'peers');

function fail(msg, code = 1) {
  process.stderr.write(`ort_bench: ${msg}\n`);
  process.exit(code);
}

function parseArgs(argv) {
  const a = { model: null, threads: 1, batch: 1, iters: 50, warmup: 5, seed: 1, height: 0, width: 0 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (!k.startsWith('--')) {
      if (a.model) fail(`unexpected argument '${k}'`, 2);
      a.model = k;
      continue;
    }
    const name = k.slice(2);
    if (!(name in a) || name === 'model' || i + 1 >= argv.length) fail(`bad option '${k}'`, 2);
    const v = Number(argv[++i]);
    if (!Number.isInteger(v) || v < (['warmup', 'seed', 'height', 'width'].includes(name) ? 0 : 1)) fail(`bad value for ${k}`, 2);
    a[name] = v;
  }
  if (!a.model) fail('usage: node bench/ort_bench.js MODEL [--threads N] [--batch N] [--iters N] [--warmup N] [--seed N]', 2);
  return a;
}

function fmix32(x) {
  x >>>= 0;
  x ^= x >>> 16; x = Math.imul(x, 0x85ebca6b) >>> 0;
  x ^= x >>> 13; x = Math.imul(x, 0xc2b2ae35) >>> 0;
  x ^= x >>> 16; x >>>= 0;
  return x === 0 ? 0x9e3779b9 : x;
}

function fill(out, seed) {
  let s = fmix32(seed);
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = Math.fround(-1 + 2 * ((s >>> 8) / 16777216));
  }
}

function stats(ms) {
  const v = ms.slice().sort((x, y) => x - y);
  const n = v.length;
  const median = n % 2 ? v[(n - 1) / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  const p90 = v[Math.max(0, Math.ceil(0.9 * n) - 1)];
  return { median, p90, min: v[0] };
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  let ort;
  try {
    ort = require(path.join(peers, 'node_modules', 'onnxruntime-node'));
  } catch (e) {
    fail(`onnxruntime-node not found in ${peers}; run scripts/install-peers.sh`);
  }
  const sess = await ort.InferenceSession.create(a.model, {
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  // Feeds: one per input, seeded like argus (seed + 0x9e3779b9 * index).
  const metas = sess.inputMetadata;
  const fixedBatch = metas.some((m) => typeof m.shape[0] === 'number' && m.shape[0] > 0 && m.shape[0] !== a.batch);
  const runBatch = fixedBatch ? 1 : a.batch;
  const loops = fixedBatch ? a.batch : 1;
  const feeds = {};
  metas.forEach((m, i) => {
    if (m.type !== 'float32') fail(`input '${m.name}' is ${m.type}; only float32 inputs are supported`);
    const shape = m.shape.map((d, k) => (k === 0 ? runBatch
      : k === 2 && a.height && typeof d !== 'number' ? a.height
        : k === 3 && a.width && typeof d !== 'number' ? a.width : d));
    if (shape.some((d) => typeof d !== 'number' || d < 1)) fail(`input '${m.name}' has a free dimension: ${JSON.stringify(m.shape)}`);
    const x = new Float32Array(shape.reduce((p, d) => p * d, 1));
    fill(x, (a.seed + Math.imul(0x9e3779b9, i)) >>> 0);
    feeds[m.name] = new ort.Tensor('float32', x, shape);
  });
  const ms = [];
  for (let i = 0; i < a.warmup + a.iters; i++) {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < loops; k++) await sess.run(feeds);
    const t1 = process.hrtime.bigint();
    if (i >= a.warmup) ms.push(Number(t1 - t0) / 1e6);
  }
  const s = stats(ms);
  const pkg = require(path.join(peers, 'node_modules', 'onnxruntime-node', 'package.json'));
  process.stdout.write(JSON.stringify({
    engine: 'onnxruntime', version: pkg.version, model: path.basename(a.model),
    threads: a.threads, batch: a.batch, mode: fixedBatch ? 'loop' : 'batch',
    ...(a.height || a.width ? { height: a.height, width: a.width } : {}),
    ms_median: +s.median.toFixed(4), ms_p90: +s.p90.toFixed(4), ms_min: +s.min.toFixed(4), iters: a.iters,
  }) + '\n');
}

main().catch((e) => fail(e.stack || String(e)));
