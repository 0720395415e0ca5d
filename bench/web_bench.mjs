// Figures of the web console (issue 12), printed, not asserted:
//
//   1. the console shell: load time and bytes transferred, first load (cold
//      cache) and repeat load (warm: HTTP cache and service worker), of the
//      login page and of the live page after login; and the console's size
//      on disk before images (the goal: under 200 KB);
//   2. the first alert card: an operator has /live open when a camera
//      playing hamilton_clip_10s.mp4 is added (Lin-Manuel Miranda enrolled);
//      the time from the alert event's arrival in the page (EventSource) to
//      the frame that paints its card, and from the frame's capture to that
//      paint, on loopback;
//   3. the feed under load: alerts raised by the real pipeline at about
//      --rate per minute (default 100) for --seconds (default 60) while /live
//      is open, measured with Chromium's performance timeline: long tasks,
//      layout shifts (CLS), frames slower than 50 ms, and CDP
//      Performance.getMetrics before/after (layouts, style recalcs, their
//      durations, script time, DOM nodes, JS heap).
//
// The load comes the way alerts come in production: a second watchlist
// whose threshold is -1 (every face searched matches its one person), and
// cameras playing sample videos in a loop with no cooldown, so that the
// pipeline raises one alert per face track: crowd_walk_1080p_4s.mp4 (about
// 90 tracks a minute on two cores) and ceil((rate - 90) / 40) cameras on
// hamilton_clip_10s.mp4 (about 40 a minute each). The rate reached is
// measured in the page and printed. The alerts are stored and reach the
// page through GET /api/v1/events like any other.
//
//   node bench/web_bench.mjs [--build build] [--rate 100] [--seconds 60]
//
// Needs a release build (argus), the models, ../shared/data, Debian's
// chromium and playwright-core (scripts/web-tools.sh).
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const opt = { build: 'build', rate: 100, seconds: 60 };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const v = process.argv[i + 1];
  if (a === '--build') { opt.build = v; i++; }
  else if (a === '--rate') { opt.rate = Number(v); i++; }
  else if (a === '--seconds') { opt.seconds = Number(v); i++; }
  else if (a === '-h' || a === '--help') {
    console.log('usage: node bench/web_bench.mjs [--build DIR] [--rate ALERTS_PER_MINUTE] [--seconds S]');
    process.exit(0);
  } else {
    console.error(`web_bench: unknown option ${a}`);
    process.exit(2);
  }
}
if (!(opt.rate > 0 && opt.seconds > 0)) {
  console.error('web_bench: --rate and --seconds must be positive');
  process.exit(2);
}
process.env.ARGUS_CLI ||= path.resolve(root, opt.build, 'argus');
process.env.ARGUS_MODELS_DIR ||= path.join(root, 'models');
process.env.ARGUS_SHARED_DATA ||= path.resolve(root, '../shared/data');
process.env.ARGUS_SOURCE_DIR ||= root;
process.env.ARGUS_WEB_ARTIFACTS ||= path.resolve(root, opt.build, 'web-artifacts');
const H = await import('../tests/web/harness.mjs');
const chromium = H.prerequisites();
// SKIP from prerequisites exits 77; a bench says so plainly and fails.
const { data, models } = H;

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const ms = (n) => (n === null || n === undefined || Number.isNaN(n) ? '-' : `${n.toFixed(0)} ms`);
const pct = (xs, q) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

// ---- the console on disk ---------------------------------------------------------
function diskSize(dir) {
  let code = 0;
  let images = 0;
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(png|jpe?g|ico|svg|wav|mp3|webp)$/i.test(e.name)) images += fs.statSync(p).size;
      else code += fs.statSync(p).size;
    }
  };
  walk(dir);
  return { code, images };
}

// ---- the server --------------------------------------------------------------------
const dir = H.tempDir('bench');
const db = path.join(dir, 'argus.db');
const clip = path.join(data, 'video/hamilton_clip_10s.mp4');
const crowd = path.join(data, 'video/crowd_walk_1080p_4s.mp4');
const photo = path.join(data, 'stills/face_recognition_examples/examples/lin-manuel-miranda.png');
H.argus(['watchlist', 'create', 'vip', '--db', db]);
H.argus(['person', 'add', '--watchlist', 'vip', '--name', 'Lin-Manuel Miranda', '--models', models, '--db', db, photo]);
H.argus(['watchlist', 'create', 'load', '--threshold', '-1', '--db', db]);
H.argus(['person', 'add', '--watchlist', 'load', '--name', 'Anyone', '--models', models, '--db', db, photo]);
H.addUser(db, 'bench', 'operator', 'pw-bench-12345');
const extra = Math.max(0, Math.ceil((opt.rate - 90) / 40));
const srv = await H.serve(db, ['--loop', '--cooldown', '0']);
const browser = await H.launch(chromium);
const chromiumVersion = browser.version();

// Bytes the page fetched over the network (CDP), split into images and the
// rest, from the navigation on.
async function netMeter(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const reqs = new Map();
  const m = { bytes: 0, imageBytes: 0, requests: 0, fromCache: 0, fromSw: 0 };
  cdp.on('Network.responseReceived', (e) => {
    reqs.set(e.requestId, { type: e.type, sw: e.response.fromServiceWorker, cache: e.response.fromDiskCache });
  });
  cdp.on('Network.requestServedFromCache', () => { m.fromCache++; });
  cdp.on('Network.loadingFinished', (e) => {
    const r = reqs.get(e.requestId) || {};
    m.requests++;
    if (r.sw) m.fromSw++;
    if (r.cache) m.fromCache++;
    if (r.type === 'Image' || r.type === 'Media') m.imageBytes += e.encodedDataLength;
    else m.bytes += e.encodedDataLength;
  });
  return { m, cdp };
}

// Loads url (or reloads) and waits for the console's page; returns the
// navigation timing and the network bytes.
async function measureLoad(page, url, sel) {
  const { m, cdp } = await netMeter(page);
  if (url) await page.goto(url, { waitUntil: 'load' });
  else await page.reload({ waitUntil: 'load' });
  await page.locator(sel).waitFor({ timeout: 15000 });
  const t = await page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0];
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    return { dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd, ready: performance.now(), fcp: fcp ? fcp.startTime : null };
  });
  await new Promise((r) => setTimeout(r, 500)); // late requests (lists, sounds)
  await cdp.detach();
  return { ...t, ...m };
}

const lines = [];
const out = (s) => { lines.push(s); console.log(s); };

// ---- 1. the shell ------------------------------------------------------------------
const disk = diskSize(path.join(root, 'share/web'));
const ctx1 = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const p1 = await ctx1.newPage();
const cold = await measureLoad(p1, `${srv.base}/login`, 'main[data-page="login"]');
const warmLogin = await measureLoad(p1, null, 'main[data-page="login"]');
await H.login(p1, srv.base, 'bench', 'pw-bench-12345', { expectPage: 'live' });
const p1b = await ctx1.newPage();
const liveFirst = await measureLoad(p1b, `${srv.base}/live`, 'main[data-page="live"]');
await p1b.evaluate(() => navigator.serviceWorker && navigator.serviceWorker.ready.then(() => true)).catch(() => null);
const liveRepeat = await measureLoad(p1b, null, 'main[data-page="live"]');
await ctx1.close();
// The service worker's own fetches (it caches the shell on the first visit)
// are not the page's: with it blocked, a cold login + live page shows what
// the browser downloads for the console over HTTP.
const ctx0 = await browser.newContext({ viewport: { width: 1280, height: 900 }, serviceWorkers: 'block' });
const p0 = await ctx0.newPage();
const noSwLogin = await measureLoad(p0, `${srv.base}/login`, 'main[data-page="login"]');
await H.login(p0, srv.base, 'bench', 'pw-bench-12345', { expectPage: 'live' });
const p0b = await ctx0.newPage();
const noSwLive = await measureLoad(p0b, `${srv.base}/live`, 'main[data-page="live"]');
const noSwRepeat = await measureLoad(p0b, null, 'main[data-page="live"]');
await ctx0.close();

// ---- 2 and 3: the live page ----------------------------------------------------------
const ctx2 = await browser.newContext({ viewport: { width: 1280, height: 900 } });
await ctx2.addInitScript(() => {
  const b = { sse: {}, paint: {}, capture: {}, longtasks: [], cls: 0, shifts: 0, frames: 0, slow: 0, maxFrame: 0, run: false };
  window.__bench = b;
  const ES = window.EventSource;
  window.EventSource = class extends ES {
    constructor(...a) {
      super(...a);
      // Registered before the console's listeners: runs first on each alert.
      super.addEventListener('alert', (e) => {
        try {
          const j = JSON.parse(e.data);
          if (!(j.id in b.sse)) { b.sse[j.id] = performance.now(); b.capture[j.id] = Date.parse(j.time); }
        } catch { /* not JSON */ }
      });
    }
  };
  new MutationObserver((muts) => {
    for (const mu of muts) {
      for (const n of mu.addedNodes) {
        if (n.nodeType !== 1) continue;
        const cards = n.matches('.alert-card[data-alert-id]') ? [n] : [...n.querySelectorAll('.alert-card[data-alert-id]')];
        for (const c of cards) {
          const id = c.getAttribute('data-alert-id');
          if (id in b.paint) continue;
          b.paint[id] = -1;
          // The frame that paints it: when that frame's rendering begins
          // (its animation callbacks run, then style, layout and paint).
          requestAnimationFrame(() => { b.paint[id] = performance.now(); });
        }
      }
    }
  }).observe(document, { childList: true, subtree: true });
  try {
    new PerformanceObserver((l) => { if (b.run) for (const e of l.getEntries()) b.longtasks.push(e.duration); })
      .observe({ type: 'longtask', buffered: false });
    new PerformanceObserver((l) => {
      if (!b.run) return;
      for (const e of l.getEntries()) if (!e.hadRecentInput) { b.cls += e.value; b.shifts++; }
    }).observe({ type: 'layout-shift', buffered: false });
  } catch { /* unsupported */ }
  let last = 0;
  const tick = (t) => {
    if (b.run && last) {
      const d = t - last;
      b.frames++;
      if (d > 50) b.slow++;
      if (d > b.maxFrame) b.maxFrame = d;
    }
    last = t;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
});
const p2 = await ctx2.newPage();
await H.login(p2, srv.base, 'bench', 'pw-bench-12345', { expectPage: 'live' });
await p2.locator('#conn[data-state="live"]').waitFor({ timeout: 15000 }).catch(() => {});

const t0 = Date.now();
H.argus(['camera', 'add', 'stage', clip, '--db', db]);
await p2.locator('.alert-card[data-alert-id]').first().waitFor({ timeout: 120000 });
await p2.waitForFunction(() => Object.values(window.__bench.paint).some((t) => t > 0));
const first = await p2.evaluate(() => {
  const b = window.__bench;
  const id = Object.keys(b.paint).find((k) => b.paint[k] > 0);
  return { id, sse: b.sse[id], paint: b.paint[id], capture: b.capture[id], origin: performance.timeOrigin };
});
const firstWall = Date.now() - t0;
await H.shot(p2, 'bench-first-alert');
// The first camera goes (the server loops it): the load below is the load
// cameras' alone.
H.argus(['camera', 'remove', 'stage', '--db', db]);
await new Promise((r) => setTimeout(r, 3000));

const cdp = await ctx2.newCDPSession(p2);
await cdp.send('Performance.enable');
const metric = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((x) => [x.name, x.value]));
// The page idle (no alert arriving) for 10 s: what it costs by itself.
const idle0 = await metric();
await new Promise((r) => setTimeout(r, 10000));
const idle1 = await metric();
H.argus(['camera', 'add', 'crowd', crowd, '--db', db]);
for (let k = 0; k < extra; k++) H.argus(['camera', 'add', `hamilton-${k}`, clip, '--db', db]);
// The cameras start within 2 s and take a few more to raise the first
// alerts: measure from the first load alert on.
const nBefore = await p2.locator('.alert-card').count();
await p2.waitForFunction((n) => document.querySelectorAll('.alert-card').length > n, nBefore, { timeout: 60000 });
const before = await metric();
const cardsStart = await p2.locator('.alert-card').count();
const sseStart = await p2.evaluate(() => { window.__bench.run = true; return Object.keys(window.__bench.sse).length; });
await new Promise((r) => setTimeout(r, opt.seconds * 1000));
const after = await metric();
const load = await p2.evaluate(() => { const b = window.__bench; b.run = false; return { ...b, nsse: Object.keys(b.sse).length }; });
const cardsEnd = await p2.locator('.alert-card').count();
await H.shot(p2, 'bench-feed-after-load');
const lat = Object.keys(load.sse).filter((id) => load.paint[id] > 0).map((id) => load.paint[id] - load.sse[id]);
await ctx2.close();
await browser.close();
await srv.stop();
fs.rmSync(dir, { recursive: true, force: true });

// ---- the figures -----------------------------------------------------------------------
const d = (k) => (after[k] ?? 0) - (before[k] ?? 0);
const di = (k) => (idle1[k] ?? 0) - (idle0[k] ?? 0);
const arrived = load.nsse - sseStart;
out('');
out(`web_bench (${H.argus(['version']).split('\n')[0].trim()}; Chromium ${chromiumVersion} headless; server and browser on this machine, ${os.cpus().length} CPUs, loopback)`);
out(`console on disk: ${kb(disk.code)} of HTML/JS/CSS/manifest (goal < 200 KB), ${kb(disk.images)} of icons and sounds`);
out('shell load                  DOMContentLoaded   load   page shown   transferred (not images)   images   requests');
const row = (name, r) => out(`  ${name.padEnd(26)}${ms(r.dcl).padStart(9)}${ms(r.load).padStart(10)}${ms(r.ready).padStart(11)}${kb(r.bytes).padStart(20)}${kb(r.imageBytes).padStart(15)}${String(r.requests).padStart(8)}${r.fromSw ? ` (${r.fromSw} from the service worker)` : ''}`);
row('/login, first (cold)', cold);
row('/login, repeat', warmLogin);
row('/live, first after login', liveFirst);
row('/live, repeat', liveRepeat);
out('  without the service worker (blocked), cold cache:');
row('/login', noSwLogin);
row('/live after login', noSwLive);
row('/live, repeat (HTTP cache)', noSwRepeat);
out(`  first visit, all told: ${kb(noSwLogin.bytes + noSwLive.bytes)} for login + live over HTTP; the service worker also caches the shell (${kb(disk.code)} on disk at most) in the background`);
out(`first alert card: painted ${ms(first.paint - first.sse)} after its event reached the page; ${ms(first.origin + first.paint - first.capture)} after the alert's time stamp (the server's clock); ${(firstWall / 1000).toFixed(1)} s after the camera was added (camera start, decoding, detection and tracking included)`);
out(`feed under load: ${arrived} alerts in ${opt.seconds} s (${((arrived * 60) / opt.seconds).toFixed(0)}/min; cameras: crowd_walk_1080p_4s.mp4${extra ? ` and ${extra} x hamilton_clip_10s.mp4` : ''}, no cooldown); cards on the page ${cardsStart} -> ${cardsEnd}`);
out(`  event -> card painted: p50 ${ms(pct(lat, 0.5))}, p99 ${ms(pct(lat, 0.99))}, max ${ms(Math.max(...lat))} (${lat.length} cards)`);
out(`  long tasks (> 50 ms): ${load.longtasks.length}, longest ${ms(load.longtasks.length ? Math.max(...load.longtasks) : 0)}, total ${ms(load.longtasks.reduce((a, b) => a + b, 0))}`);
out(`  layout shift: CLS ${load.cls.toFixed(4)} over ${load.shifts} shifts; frames ${load.frames}, slower than 50 ms: ${load.slow}, slowest ${ms(load.maxFrame)}`);
out(`  CDP Performance.getMetrics deltas: layouts ${d('LayoutCount')} (${ms(d('LayoutDuration') * 1000)}), style recalcs ${d('RecalcStyleCount')} (${ms(d('RecalcStyleDuration') * 1000)}), script ${ms(d('ScriptDuration') * 1000)}, tasks ${ms(d('TaskDuration') * 1000)}`);
out(`  the same page idle for 10 s before the load: layouts ${di('LayoutCount')}, style recalcs ${di('RecalcStyleCount')} (${ms(di('RecalcStyleDuration') * 1000)}), script ${ms(di('ScriptDuration') * 1000)}, tasks ${ms(di('TaskDuration') * 1000)}`);
out(`  per alert: ${(d('LayoutCount') / Math.max(1, arrived)).toFixed(2)} layouts, ${(d('RecalcStyleCount') / Math.max(1, arrived)).toFixed(2)} style recalcs; DOM nodes ${before.Nodes} -> ${after.Nodes}; JS heap ${kb(before.JSHeapUsedSize)} -> ${kb(after.JSHeapUsedSize)}`);
fs.mkdirSync(process.env.ARGUS_WEB_ARTIFACTS, { recursive: true });
fs.writeFileSync(path.join(process.env.ARGUS_WEB_ARTIFACTS, 'web_bench.txt'), `${lines.join('\n')}\n`);
process.exit(0);
