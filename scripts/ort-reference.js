#!/usr/bin/env node
// Produces the ONNX Runtime reference outputs that tests/test_models_ort.c
// compares argus with: for each default model, a fixed input made by a seeded
// PRNG, run through ONNX Runtime 1.30 (one thread), outputs written to
// tests/ref/<case>/output_<name>.f32 (raw little-endian float32) with a
// meta.json that records shapes, the input recipe and the model checksum.
//
// Inputs are not stored: the C test regenerates them bit for bit from the
// recipe (see tests/ref/README.md):
//   state = fmix32(seed + item)              (murmur3 finaliser; 0 -> 0x9e3779b9)
//   per element, in C order: state ^= state << 13; state ^= state >> 17;
//                            state ^= state << 5   (xorshift32)
//   u = (state >> 8) * 2^-24,  value = lo + (hi - lo) * u   (exact in float32)
//
//   node scripts/ort-reference.js [--models DIR] [--out DIR] [--inputs DIR]
//     --models DIR  the models (default: models/, or $ARGUS_MODELS_DIR)
//     --out DIR     where the references go (default: tests/ref/)
//     --inputs DIR  also write the inputs there as <case>.<input>.f32, for
//                   trying `argus nn run` by hand
// Needs onnxruntime-node from scripts/install-peers.sh.
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const root = path.resolve(__dirname, '..');
const peers = process.env.ARGUS_PEERS_DIR || path.join(root, '.cache', 'peers');
const ORT_VERSION = '1.30.0';

// The cases; tests/test_models_ort.c holds the same table.
// items > 1: a batch of that many inputs, item b from seed + b (item 0 is the
// batch-1 case's input).
const CASES = [
  { name: 'fr_detect', model: 'fr_detect.onnx', input: 'input', lo: -1, hi: 1, seed: 101, items: 1 },
  { name: 'fr_landmark', model: 'fr_landmark.onnx', input: 'input', lo: 0, hi: 1, seed: 202, items: 1 },
  { name: 'fr_feature', model: 'fr_feature.onnx', input: 'input', lo: -1, hi: 1, seed: 303, items: 1 },
  { name: 'fr_feature_b4', model: 'fr_feature.onnx', input: 'input', lo: -1, hi: 1, seed: 303, items: 4 },
  { name: 'fr_liveness', model: 'fr_liveness.onnx', input: 'input', lo: -1, hi: 1, seed: 404, items: 1 },
];

function usage(code) {
  (code ? process.stderr : process.stdout).write(
    'Usage: node scripts/ort-reference.js [--models DIR] [--out DIR] [--inputs DIR]\n');
  process.exit(code);
}

function parseArgs(argv) {
  const a = {
    models: process.env.ARGUS_MODELS_DIR || path.join(root, 'models'),
    out: path.join(root, 'tests', 'ref'),
    inputs: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '-h' || k === '--help') usage(0);
    if (!['--models', '--out', '--inputs'].includes(k) || i + 1 >= argv.length) {
      process.stderr.write(`ort-reference: bad argument '${k}'\n`);
      usage(2);
    }
    a[k.slice(2)] = argv[++i];
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

// Fills `out` (Float32Array) from the recipe; same values as the C test.
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

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function writeF32(file, data) {
  const buf = Buffer.alloc(data.length * 4);
  for (let i = 0; i < data.length; i++) buf.writeFloatLE(data[i], i * 4);
  fs.writeFileSync(file, buf);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  let ort;
  try {
    ort = require(path.join(peers, 'node_modules', 'onnxruntime-node'));
  } catch (e) {
    process.stderr.write(`ort-reference: onnxruntime-node not found in ${peers}; run scripts/install-peers.sh\n`);
    process.exit(1);
  }
  const ortPkg = require(path.join(peers, 'node_modules', 'onnxruntime-node', 'package.json'));
  if (ortPkg.version !== ORT_VERSION) {
    process.stderr.write(`ort-reference: need onnxruntime-node ${ORT_VERSION}, found ${ortPkg.version}\n`);
    process.exit(1);
  }
  const opts = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' };

  for (const c of CASES) {
    const file = path.join(args.models, c.model);
    if (!fs.existsSync(file)) {
      process.stderr.write(`ort-reference: ${file} missing; run scripts/fetch-models.sh\n`);
      process.exit(1);
    }
    const sess = await ort.InferenceSession.create(file, opts);
    const meta = sess.inputMetadata.find((m) => m.name === c.input);
    if (!meta) throw new Error(`${c.model} has no input '${c.input}'`);
    const itemShape = meta.shape.slice(1).map(Number);
    const itemCount = itemShape.reduce((a, b) => a * b, 1);
    const items = [];
    for (let b = 0; b < c.items; b++) {
      const x = new Float32Array(itemCount);
      fill(x, c.seed + b, c.lo, c.hi);
      items.push(x);
    }

    // A batch goes to ONNX Runtime whole when the model declares a free batch
    // dimension; with dim 0 fixed at 1 it refuses, so each item runs alone and
    // the outputs are stacked (what argus's batch must equal).
    let ortRuns;
    const outputs = {}; // name -> {dims, chunks[]}
    const declaredBatch = meta.shape[0];
    if (c.items === 1 || typeof declaredBatch !== 'number' || declaredBatch < 0) {
      const x = new Float32Array(itemCount * c.items);
      items.forEach((it, b) => x.set(it, b * itemCount));
      const feeds = { [c.input]: new ort.Tensor('float32', x, [c.items, ...itemShape]) };
      const r = await sess.run(feeds);
      for (const n of sess.outputNames) outputs[n] = { dims: r[n].dims.map(Number), chunks: [r[n].data] };
      ortRuns = c.items === 1 ? 'one run' : `one run at batch ${c.items}`;
    } else {
      for (const it of items) {
        const r = await sess.run({ [c.input]: new ort.Tensor('float32', it, [1, ...itemShape]) });
        for (const n of sess.outputNames) {
          if (!outputs[n]) outputs[n] = { dims: [c.items, ...r[n].dims.slice(1).map(Number)], chunks: [] };
          outputs[n].chunks.push(r[n].data);
        }
      }
      ortRuns = `${c.items} runs at batch 1, stacked: the model declares input dim 0 = ${declaredBatch}, ` +
        `so ONNX Runtime refuses batch ${c.items}`;
    }

    const dir = path.join(args.out, c.name);
    fs.mkdirSync(dir, { recursive: true });
    const outMeta = [];
    for (const n of sess.outputNames) {
      const o = outputs[n];
      const total = o.chunks.reduce((a, ch) => a + ch.length, 0);
      const data = new Float32Array(total);
      let off = 0;
      for (const ch of o.chunks) { data.set(ch, off); off += ch.length; }
      const fname = `output_${n.replace(/[^A-Za-z0-9._-]/g, '_')}.f32`;
      writeF32(path.join(dir, fname), data);
      outMeta.push({ name: n, shape: o.dims, file: fname });
    }
    const doc = {
      model: c.model,
      model_sha256: sha256(file),
      onnxruntime: `onnxruntime-node ${ortPkg.version}, intraOpNumThreads 1`,
      ort_runs: ortRuns,
      inputs: [{
        name: c.input,
        shape: [c.items, ...itemShape],
        rng: 'fmix32(seed + item) then xorshift32(13,17,5) per element; value = lo + (hi - lo) * (x >> 8) / 2^24',
        seed: c.seed, items: c.items, lo: c.lo, hi: c.hi,
      }],
      outputs: outMeta,
    };
    // Shapes stay on one line.
    const text = JSON.stringify(doc, null, 2).replace(/\[\s+([-\d,\s]+?)\s+\]/g,
      (m, a) => `[${a.replace(/\s+/g, '')}]`);
    fs.writeFileSync(path.join(dir, 'meta.json'), text + '\n');
    if (args.inputs) {
      fs.mkdirSync(args.inputs, { recursive: true });
      const x = new Float32Array(itemCount * c.items);
      items.forEach((it, b) => x.set(it, b * itemCount));
      writeF32(path.join(args.inputs, `${c.name}.${c.input}.f32`), x);
    }
    process.stdout.write(`ort-reference: ${c.name}: ${outMeta.map((o) => `${o.name} [${o.shape}]`).join(', ')} (${ortRuns})\n`);
  }
}

main().catch((e) => {
  process.stderr.write(`ort-reference: ${e.stack || e}\n`);
  process.exit(1);
});
