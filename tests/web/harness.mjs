// What the console's browser tests share (not a test itself): finding
// playwright-core and Debian's chromium, starting `argus serve` on a
// temporary database and a free port, making users with the argus command,
// logging in through the console's login page, screenshots, the label check,
// and a list of named checks that goes on after a failed one so that a run
// reports every broken hook at once.
//
// Environment (set by CTest, tests/CMakeLists.txt): ARGUS_CLI (the argus
// binary), ARGUS_MODELS_DIR, ARGUS_SHARED_DATA (../shared/data),
// ARGUS_SOURCE_DIR, ARGUS_WEB_TOOLS (the folder scripts/web-tools.sh
// installs playwright-core into, default .cache/web of the source tree),
// ARGUS_WEB_ARTIFACTS (where screenshots go; default web-artifacts of the
// working directory), ARGUS_CHROMIUM (default /usr/bin/chromium).
// A test skips (exit 77, with the reason) when one of them is missing.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const SKIP = 77;

export function skip(why) {
  console.log(`SKIP: ${why}`);
  process.exit(SKIP);
}

const env = process.env;
export const cli = env.ARGUS_CLI;
export const models = env.ARGUS_MODELS_DIR;
export const data = env.ARGUS_SHARED_DATA;
export const source = env.ARGUS_SOURCE_DIR || path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const chromiumPath = env.ARGUS_CHROMIUM || '/usr/bin/chromium';
export const artifacts = path.resolve(env.ARGUS_WEB_ARTIFACTS || 'web-artifacts');

// Everything a test needs, or a skip saying what is missing. Returns
// playwright-core's chromium launcher.
export function prerequisites({ needModels = true, needData = true } = {}) {
  if (!cli || !fs.existsSync(cli)) skip(`ARGUS_CLI (the argus binary) not set or missing: ${cli}`);
  if (needModels && (!models || !fs.existsSync(path.join(models, 'fr_detect.onnx'))))
    skip(`no models in ${models} (scripts/fetch-models.sh fetches them)`);
  if (needData && (!data || !fs.existsSync(path.join(data, 'video/hamilton_clip_10s.mp4'))))
    skip(`no sample data in ${data} (../shared/data)`);
  if (!fs.existsSync(chromiumPath)) skip(`no chromium at ${chromiumPath} (scripts/setup.sh installs Debian's chromium)`);
  if (!fs.existsSync(path.join(source, 'share/web/index.html'))) skip(`no console in ${source}/share/web`);
  const tools = env.ARGUS_WEB_TOOLS || path.join(source, '.cache/web');
  let pw;
  try {
    pw = createRequire(path.join(tools, 'package.json'))('playwright-core');
  } catch (e) {
    skip(`playwright-core not found in ${tools} (scripts/web-tools.sh installs it): ${e.message.split('\n')[0]}`);
  }
  fs.mkdirSync(artifacts, { recursive: true });
  return pw.chromium;
}

export async function launch(chromium) {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--autoplay-policy=no-user-gesture-required'],
  });
}

// ---- the argus command and server ----------------------------------------------

// Runs `argus ARGS...` (stdin: input). Throws with its output when it fails.
export function argus(args, input) {
  const r = spawnSync(cli, args, { input: input ?? '', encoding: 'utf8', env: { ...env, ARGUS_MODELS: models || '' } });
  if (r.status !== 0) throw new Error(`argus ${args.join(' ')}: exit ${r.status}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

export function tempDir(tag) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `argus-web-${tag}-`));
}

export function addUser(db, name, role, password) {
  argus(['user', 'add', name, '--role', role, '--password-stdin', '--db', db], `${password}\n`);
}

const children = new Set();
function killChildren() {
  for (const c of children) {
    try { c.kill('SIGKILL'); } catch { /* gone */ }
  }
}
process.on('exit', killChildren);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => { killChildren(); process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1)); });
}

// `argus serve --db DB --listen 127.0.0.1:0 [--models M] EXTRA...` until it
// prints where it listens. Its stderr is echoed ("[serve] ") and kept.
// Returns {base, port, log(), stop(), setupCode}.
export async function serve(db, extra = [], opts = {}) {
  return start(['serve', '--db', db, '--listen', '127.0.0.1:0', ...(models ? ['--models', models] : []), ...extra], opts);
}

// `argus ARGS...` (a command that ends by running the server) until it
// prints "listening on"; as serve().
export async function start(args, { timeout = 120, tag = 'serve' } = {}) {
  const child = spawn(cli, args, { stdio: ['ignore', 'inherit', 'pipe'], env: { ...env, ARGUS_MODELS: models || '' } });
  children.add(child);
  let log = '';
  let buf = '';
  let resolveListen;
  let rejectListen;
  const listening = new Promise((res, rej) => { resolveListen = res; rejectListen = rej; });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s) => {
    log += s;
    if (log.length > 1 << 20) log = log.slice(-(1 << 19));
    buf += s;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      process.stderr.write(`[${tag}] ${line}\n`);
      const m = /listening on (https?):\/\/[^:\s]+:(\d+)/.exec(line);
      if (m) resolveListen(Number(m[2]));
    }
  });
  const exited = new Promise((res) => child.on('exit', (code, sig) => { children.delete(child); res(code ?? 128 + (sig === 'SIGKILL' ? 9 : 15)); }));
  exited.then((code) => rejectListen(new Error(`argus ${args[0]} exited (${code}) before listening`)));
  const timer = setTimeout(() => rejectListen(new Error(`argus ${args[0]} did not listen within ${timeout} s`)), timeout * 1000);
  let port;
  try {
    port = await listening;
  } finally {
    clearTimeout(timer);
  }
  const code = /setup code (\S+)/.exec(log);
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    setupCode: code ? code[1] : null,
    log: () => log,
    // SIGTERM, then the exit status (SIGKILL after 30 s).
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 30000);
      const c = await exited;
      clearTimeout(t);
      return c;
    },
  };
}

// ---- checks -------------------------------------------------------------------

// Named checks: a failed one is reported and counted, the test goes on;
// done() prints the summary and exits 1 when anything failed.
export class Checks {
  constructor(name) {
    this.name = name;
    this.failed = [];
    this.passed = 0;
    this.t0 = Date.now();
  }

  ok(cond, what) {
    if (cond) {
      this.passed++;
      console.log(`ok   ${what}`);
    } else {
      this.failed.push(what);
      console.log(`FAIL ${what}`);
    }
    return !!cond;
  }

  // Runs one scenario; an exception fails it (with its message) and the
  // test goes on with the next one.
  async step(what, fn) {
    const t = Date.now();
    console.log(`---- ${what}`);
    try {
      await fn();
      console.log(`---- ${what}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
      return true;
    } catch (e) {
      this.failed.push(`${what}: ${e.message.split('\n').slice(0, 6).join(' | ')}`);
      console.log(`FAIL ${what}: ${e.stack || e}`);
      return false;
    }
  }

  done() {
    const s = ((Date.now() - this.t0) / 1000).toFixed(1);
    if (this.failed.length) {
      console.log(`\n${this.name}: ${this.failed.length} failed, ${this.passed} checks passed (${s} s):`);
      for (const f of this.failed) console.log(`  - ${f}`);
      process.exit(1);
    }
    console.log(`\n${this.name}: all ${this.passed} checks passed (${s} s)`);
    process.exit(0);
  }
}

// Ends the test (exit 1, servers killed) when it runs past `seconds`.
export function watchdog(seconds, name) {
  const t = setTimeout(() => {
    console.log(`FAIL ${name}: still running after ${seconds} s; stopped`);
    killChildren();
    process.exit(1);
  }, seconds * 1000);
  t.unref();
}

// ---- the console ---------------------------------------------------------------

export async function shot(page, name) {
  const file = path.join(artifacts, `${name}.png`);
  try {
    await page.screenshot({ path: file, fullPage: true });
    console.log(`screenshot ${file}`);
  } catch (e) {
    console.log(`screenshot ${name} failed: ${e.message}`);
  }
}

// Console messages and uncaught errors of a page, echoed with a tag.
export function watchConsole(page, tag) {
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') console.log(`[${tag} console.${m.type()}] ${m.text()}`);
  });
  page.on('pageerror', (e) => console.log(`[${tag} page error] ${e.message}`));
}

// Logs in through /login: fills input[name=name] and input[name=password]
// and submits; waits until the console left /login and shows a page.
export async function login(page, base, name, password, { expectPage } = {}) {
  await page.goto(`${base}/login`);
  await page.locator('input[name=name]').fill(name);
  await page.locator('input[name=password]').fill(password);
  await Promise.all([
    page.waitForURL((u) => !u.pathname.startsWith('/login'), { timeout: 15000 }),
    page.locator('form button[type=submit], form input[type=submit]').first().click(),
  ]);
  const sel = expectPage ? `main[data-page="${expectPage}"]` : 'main[data-page]';
  await page.locator(sel).waitFor({ timeout: 15000 });
}

// The form controls of the page (input but hidden/submit/button/reset/image,
// select, textarea) that have no accessible label: label[for], a wrapping
// label, aria-label or aria-labelledby naming an element with text. Returns
// a description of each.
export async function unlabelled(page) {
  return page.evaluate(() => {
    const bad = [];
    const text = (el) => (el ? (el.textContent || '').trim() : '');
    for (const el of document.querySelectorAll('input, select, textarea')) {
      const type = (el.getAttribute('type') || '').toLowerCase();
      if (el.tagName === 'INPUT' && ['hidden', 'submit', 'button', 'reset', 'image'].includes(type)) continue;
      const aria = (el.getAttribute('aria-label') || '').trim();
      const by = (el.getAttribute('aria-labelledby') || '').split(/\s+/).filter(Boolean)
        .map((id) => text(document.getElementById(id))).join(' ').trim();
      const labels = [...(el.labels || [])].map(text).join(' ').trim();
      if (aria || by || labels) continue;
      const desc = el.outerHTML.replace(/\s+/g, ' ').slice(0, 160);
      bad.push(desc);
    }
    return bad;
  });
}

// The label check on the page now shown, as one named check.
export async function checkLabels(checks, page, where) {
  const bad = await unlabelled(page);
  const n = await page.locator('input, select, textarea').count();
  checks.ok(bad.length === 0, `every form control on ${where} has a label (${n} controls${bad.length ? `; unlabelled: ${bad.join(' ; ')}` : ''})`);
}

// The document is no wider than the viewport (no horizontal scrolling).
export async function checkNoOverflow(checks, page, where, width) {
  const w = await page.evaluate(() => ({
    doc: document.documentElement.scrollWidth,
    body: document.body ? document.body.scrollWidth : 0,
    wide: [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
      .slice(0, 5).map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}${e.className && typeof e.className === 'string' ? `.${e.className.split(/\s+/).join('.')}` : ''}`),
  }));
  checks.ok(w.doc <= width, `${where} at ${width} px: no horizontal overflow (scrollWidth ${w.doc}${w.doc > width ? `; wider elements: ${w.wide.join(', ')}` : ''})`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
