#!/usr/bin/env node
// Generates the console's binary assets from code (no copyrighted files):
//   share/web/icons/icon-192.png, icon-512.png   (rounded tile, "any")
//   share/web/icons/maskable-512.png             (full bleed, eye inside the 80% safe zone)
//   share/web/sounds/alert.wav                   (a 0.3 s two-tone chime, 16 kHz mono)
// Run: node scripts/web-assets.mjs   (Node >= 18; only node:zlib and node:fs)
// The icon: Argus's eye, a white almond with an amber iris on the header's
// dark blue. The outputs are committed; rerun only to change them.
import { deflateSync } from 'node:zlib';
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'share', 'web');
const BG = [0x14, 0x20, 0x2e];
const WHITE = [0xf4, 0xf7, 0xfa];
const AMBER = [0xf0, 0xa0, 0x20];

// ---- PNG --------------------------------------------------------------------
const CRC = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
function png(size, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0); ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; ihdr[9] = 6; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

// The colour at (u, v) in [0,1]^2, or null (transparent).
function shade(u, v, maskable) {
  const x = u - 0.5, y = v - 0.5;
  if (!maskable) {
    // rounded square tile, corner radius 0.2
    const r = 0.2, ax = Math.abs(x) - (0.5 - r), ay = Math.abs(y) - (0.5 - r);
    if (ax > 0 && ay > 0 && ax * ax + ay * ay > r * r) return null;
  }
  const s = maskable ? 0.8 : 1; // eye scaled into the safe zone
  const ex = x / s, ey = y / s;
  // almond: intersection of two circles (half width 0.32, half height 0.18)
  const R = 0.3744, d = 0.1944;
  const inEye = ex * ex + (ey - d) ** 2 < R * R && ex * ex + (ey + d) ** 2 < R * R;
  if (!inEye) return BG;
  const rr = Math.hypot(ex, ey);
  if (Math.hypot(ex + 0.045, ey + 0.045) < 0.03) return WHITE; // highlight
  if (rr < 0.065) return BG;     // pupil
  if (rr < 0.145) return AMBER;  // iris
  return WHITE;
}

function icon(size, maskable) {
  const N = 4; // 4x4 supersampling
  const out = Buffer.alloc(size * size * 4);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < N; sy++) {
        for (let sx = 0; sx < N; sx++) {
          const c = shade((px + (sx + 0.5) / N) / size, (py + (sy + 0.5) / N) / size, maskable);
          if (!c) continue;
          r += c[0]; g += c[1]; b += c[2]; a++;
        }
      }
      const o = (py * size + px) * 4;
      if (a) { out[o] = Math.round(r / a); out[o + 1] = Math.round(g / a); out[o + 2] = Math.round(b / a); }
      out[o + 3] = Math.round((a / (N * N)) * 255);
    }
  }
  return png(size, out);
}

// ---- WAV ----------------------------------------------------------------------
function chime() {
  const rate = 16000, tones = [[880, 0.12], [1318.5, 0.18]];
  const samples = [];
  for (const [f, dur] of tones) {
    const n = Math.round(rate * dur);
    for (let i = 0; i < n; i++) {
      const t = i / rate;
      const env = Math.min(1, i / (rate * 0.008)) * Math.exp(-t * 14);
      samples.push(Math.round(0.45 * 32767 * env * (Math.sin(2 * Math.PI * f * t) + 0.25 * Math.sin(4 * Math.PI * f * t)) / 1.25));
    }
  }
  const data = Buffer.alloc(samples.length * 2);
  samples.forEach((s, i) => data.writeInt16LE(Math.max(-32768, Math.min(32767, s)), i * 2));
  const hdr = Buffer.alloc(44);
  hdr.write('RIFF', 0); hdr.writeUInt32LE(36 + data.length, 4); hdr.write('WAVE', 8);
  hdr.write('fmt ', 12); hdr.writeUInt32LE(16, 16); hdr.writeUInt16LE(1, 20); hdr.writeUInt16LE(1, 22);
  hdr.writeUInt32LE(rate, 24); hdr.writeUInt32LE(rate * 2, 28); hdr.writeUInt16LE(2, 32); hdr.writeUInt16LE(16, 34);
  hdr.write('data', 36); hdr.writeUInt32LE(data.length, 40);
  return Buffer.concat([hdr, data]);
}

function put(rel, buf) {
  const p = join(root, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, buf);
  console.log(`${rel}: ${buf.length} bytes`);
}

put('icons/icon-192.png', icon(192, false));
put('icons/icon-512.png', icon(512, false));
put('icons/maskable-512.png', icon(512, true));
put('sounds/alert.wav', chime());
