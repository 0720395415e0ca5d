// The console in a real browser (headless Debian chromium through
// playwright-core), page by page, on one `argus serve` with the models and
// no camera: the first-admin screen with the printed setup code; a wrong
// password shown in words; a supervisor creates a watchlist and enrols a
// person by uploading two photos, one refused with its reason shown before
// saving; search by photo finds that person; an operator cannot open Users
// (role=alert says so) and has no link to it; an admin sets a retention
// lifetime and previews a purge, an auditor reads it without buttons; the PWA manifest is served and
// the service worker registers, and the shell opens offline showing that
// the connection is not live; every form control (input, select, textarea)
// on every page, for every role, has an accessible label. Screenshots go to
// web-artifacts/.
//
// Skips (77) without chromium, playwright-core, the models or
// ../shared/data.
import path from 'node:path';
import fs from 'node:fs';
import {
  prerequisites, launch, tempDir, addUser, serve, Checks, watchdog, shot, watchConsole, login,
  checkLabels, data, sleep,
} from './harness.mjs';

const NAME = 'web_console';
const chromium = prerequisites();
watchdog(420, NAME);
const checks = new Checks(NAME);

const stills = path.join(data, 'stills/face_recognition_examples');
const obama = path.join(stills, 'tests/test_images/obama.jpg');
const obama2 = path.join(stills, 'tests/test_images/obama2.jpg');
const twoPeople = path.join(stills, 'examples/two_people.jpg');
const dir = tempDir('console');
const db = path.join(dir, 'argus.db');
const pw = (n) => `pw-${n}-12345`;

const srv = await serve(db);
const browser = await launch(chromium);
const desk = { viewport: { width: 1280, height: 900 } };

async function session(name, expectPage) {
  const ctx = await browser.newContext(desk);
  const p = await ctx.newPage();
  watchConsole(p, name);
  await login(p, srv.base, name, pw(name), { expectPage });
  return { ctx, p };
}

// Opens `url` and waits for its page; returns the main element.
async function open(p, url, pageName) {
  await p.goto(`${srv.base}${url}`);
  const main = p.locator(pageName ? `main[data-page="${pageName}"]` : 'main[data-page]');
  await main.waitFor({ timeout: 15000 });
  await sleep(500); // lists load after the page's first paint
  return main;
}

await checks.step('first admin through the setup screen', async () => {
  checks.ok(!!srv.setupCode, `the server printed a setup code (${srv.setupCode})`);
  const ctx = await browser.newContext(desk);
  const p = await ctx.newPage();
  watchConsole(p, 'setup');
  await p.goto(`${srv.base}/`);
  await p.waitForURL((u) => u.pathname.startsWith('/setup'), { timeout: 15000 });
  await p.locator('main[data-page="setup"]').waitFor({ timeout: 15000 });
  await checkLabels(checks, p, '/setup');
  await shot(p, 'setup');
  await p.locator('input[name=code]').fill(srv.setupCode || '');
  await p.locator('input[name=name]').fill('admin');
  for (const box of await p.locator('input[type=password]').all()) await box.fill(pw('admin'));
  await Promise.all([
    p.waitForURL((u) => !u.pathname.startsWith('/setup'), { timeout: 15000 }),
    p.locator('form button[type=submit]').first().click(),
  ]);
  await p.locator('main[data-page]').waitFor({ timeout: 15000 });
  checks.ok(true, `the first admin is made and in (${new URL(p.url()).pathname})`);
  await ctx.close();
});
// Either way the other accounts are made with the argus command, as an
// installer would.
try {
  addUser(db, 'admin', 'admin', pw('admin'));
  console.log('note: admin made with argus user add (the setup screen did not make it)');
} catch { /* made by the setup screen */ }
addUser(db, 'sup', 'supervisor', pw('sup'));
addUser(db, 'op', 'operator', pw('op'));
addUser(db, 'aud', 'auditor', pw('aud'));

await checks.step('the login page: a wrong password in words', async () => {
  const ctx = await browser.newContext(desk);
  const p = await ctx.newPage();
  watchConsole(p, 'login');
  await p.goto(`${srv.base}/login`);
  await p.locator('main[data-page="login"]').waitFor({ timeout: 15000 });
  await checkLabels(checks, p, '/login');
  await p.locator('input[name=name]').fill('op');
  await p.locator('input[name=password]').fill('not the password');
  await p.locator('form button[type=submit]').first().click();
  const box = p.locator('[role=alert]:visible');
  await box.first().waitFor({ timeout: 10000 });
  const t = (await box.allInnerTexts()).join(' ');
  checks.ok(t.trim().length > 5 && !/^\s*(error|401)\s*$/i.test(t), `a wrong password is explained in role=alert ("${t.trim()}")`);
  await shot(p, 'login-refused');
  await ctx.close();
});

await checks.step('admin pages: cameras, users, audit', async () => {
  const { ctx, p } = await session('admin');
  checks.ok(new URL(p.url()).pathname === '/cameras', `an admin lands on /cameras (${new URL(p.url()).pathname})`);
  await open(p, '/cameras', 'cameras');
  await checkLabels(checks, p, '/cameras');
  const add = p.locator('main button[data-action=add]');
  if (await add.count()) {
    await add.first().click();
    await sleep(300);
    await checkLabels(checks, p, '/cameras (add form open)');
  }
  await shot(p, 'cameras');
  await open(p, '/users', 'users');
  await p.locator('table[data-list="users"] tr[data-id]').first().waitFor({ timeout: 10000 });
  checks.ok(await p.locator('table[data-list="users"] tr[data-id]').count() === 4, 'the users table lists the 4 users');
  await checkLabels(checks, p, '/users');
  await shot(p, 'users');
  await open(p, '/audit', 'audit');
  await checkLabels(checks, p, '/audit');
  // Retention: alerts kept 30 days, saved, then a purge preview.
  await open(p, '/retention', 'retention');
  await checkLabels(checks, p, '/retention');
  const alerts = p.locator('table[data-list=retention] tr[data-class=alerts]');
  await alerts.locator('input[type=checkbox]').uncheck();
  await alerts.locator('input[type=number]').fill('30');
  await alerts.locator('select').selectOption('86400');
  await p.locator('button[data-action=save]').click();
  const now = p.locator('[data-current=alerts]', { hasText: '30 days' });
  await now.waitFor({ timeout: 10000 }).then(() => checks.ok(true, 'the alerts\' lifetime is saved and shown (30 days)'),
    () => checks.ok(false, 'the alerts\' lifetime is saved and shown (30 days)'));
  const r = await p.request.get(`${srv.base}/api/v1/retention`);
  checks.ok(r.status() === 200 && (await r.json()).alerts === 2592000, 'GET /api/v1/retention says 2592000 s for alerts');
  await p.locator('button[data-action=preview]').click();
  const rows = p.locator('table[data-list=purge] tr[data-class]');
  await rows.first().waitFor({ timeout: 10000 }).catch(() => {});
  checks.ok(await rows.count() === 7, `the purge preview lists the 7 data classes (${await rows.count()})`);
  checks.ok(/Would go now/.test(await p.locator('table[data-list=purge] caption').innerText().catch(() => '')),
    'the preview says it is one (nothing deleted)');
  await shot(p, 'retention');
  await ctx.close();
});

await checks.step('a supervisor enrols a person by upload; a refused photo says why', async () => {
  const { ctx, p } = await session('sup', 'watchlists');
  await checkLabels(checks, p, '/watchlists');
  await p.locator('main button[data-action=add]').first().click();
  await p.locator('form input[name=name]').fill('wanted');
  await checkLabels(checks, p, '/watchlists (new watchlist form)');
  await p.locator('form button[type=submit]').first().click();
  const row = p.locator('table[data-list="watchlists"] tr[data-id]', { hasText: 'wanted' });
  await row.waitFor({ timeout: 10000 });
  const wid = await row.getAttribute('data-id');
  await open(p, `/watchlists/${wid}`);
  await p.locator('main button[data-action=add-person]').first().click();
  const form = p.locator('form', { has: p.locator('input[type=file]') }).first();
  await form.locator('input[name=name]').fill('Barack Obama');
  await form.locator('input[type=file]').setInputFiles([obama, twoPeople]);
  const ok = p.locator('[data-file="obama.jpg"][data-verdict="accepted"]');
  const refused = p.locator('[data-file="two_people.jpg"][data-verdict="refused"]');
  await ok.waitFor({ timeout: 30000 }).then(() => checks.ok(true, 'obama.jpg is accepted before saving'),
    () => checks.ok(false, 'obama.jpg is accepted before saving'));
  await refused.waitFor({ timeout: 30000 });
  const why = await refused.innerText();
  checks.ok(/several faces|more than one face|two faces|faces/i.test(why), `two_people.jpg is refused with its reason ("${why.replace(/\s+/g, ' ').trim()}")`);
  await checkLabels(checks, p, `/watchlists/${wid} (enrolment form)`);
  await shot(p, 'enrol-verdicts');
  await form.locator('button[type=submit]').click();
  const person = p.locator('table[data-list="persons"] tr[data-id]', { hasText: 'Barack Obama' });
  await person.waitFor({ timeout: 20000 });
  checks.ok(/\b1\b/.test(await person.innerText()), 'the person is saved with the one accepted photo');
  // The person's photos panel (its own drop zone).
  const toggle = person.locator('button[aria-expanded]');
  if (await toggle.count()) {
    await toggle.first().click();
    await p.locator('[data-list="photos"] [data-id]').first().waitFor({ timeout: 10000 }).catch(() => {});
    await checkLabels(checks, p, `/watchlists/${wid} (a person's photos)`);
  }
  await shot(p, 'enrolled');

  await open(p, '/search', 'search');
  await checkLabels(checks, p, '/search');
  await p.locator('main input[type=file]').setInputFiles(obama2);
  const cand = p.locator('table[data-list="candidates"]', { hasText: 'Barack Obama' });
  await cand.first().waitFor({ timeout: 30000 }).then(() => checks.ok(true, 'search by photo finds the enrolled person'),
    () => checks.ok(false, 'search by photo finds the enrolled person'));
  await shot(p, 'search');
  await open(p, '/alerts');
  await checkLabels(checks, p, '/alerts (supervisor)');
  await ctx.close();
});

await checks.step('an operator cannot open Users', async () => {
  const { ctx, p } = await session('op', 'live');
  checks.ok(await p.locator('nav a[href="/users"]').count() === 0, 'the operator\'s nav has no link to Users');
  await checkLabels(checks, p, '/live (operator)');
  await p.goto(`${srv.base}/users`);
  const denial = p.locator('[role=alert]', { hasText: /cannot open Users/ });
  await denial.first().waitFor({ timeout: 10000 }).then(() => checks.ok(true, 'role=alert says the operator cannot open Users'),
    async () => checks.ok(false, `role=alert says "Your role (operator) cannot open Users." (alerts: ${(await p.locator('[role=alert]').allInnerTexts()).join(' | ')})`));
  checks.ok(await p.locator('table[data-list="users"]').count() === 0, 'no users table for an operator');
  await shot(p, 'operator-denied-users');
  await open(p, '/search', 'search');
  await checkLabels(checks, p, '/search (operator)');
  await ctx.close();
});

await checks.step('the auditor\'s pages', async () => {
  const { ctx, p } = await session('aud', 'audit');
  await checkLabels(checks, p, '/audit (auditor)');
  await open(p, '/retention', 'retention');
  await p.locator('[data-current=alerts]').waitFor({ timeout: 10000 }).catch(() => {});
  checks.ok(/30 days/.test(await p.locator('[data-current=alerts]').innerText().catch(() => '')),
    'an auditor reads the lifetimes (alerts: 30 days)');
  checks.ok(await p.locator('button[data-action=save]').count() === 0 && await p.locator('button[data-action=purge]').count() === 0,
    'an auditor has no save or purge button');
  await shot(p, 'retention-auditor');
  await p.goto(`${srv.base}/live`);
  const denial = p.locator('[role=alert]', { hasText: /cannot open/ });
  await denial.first().waitFor({ timeout: 10000 }).then(() => checks.ok(true, 'an auditor is refused the live page in words'),
    () => checks.ok(false, 'an auditor is refused the live page in words (role=alert "... cannot open ...")'));
  await ctx.close();
});

await checks.step('PWA: manifest, service worker, the shell offline', async () => {
  const { ctx, p } = await session('op', 'live');
  const href = await p.locator('link[rel=manifest]').getAttribute('href').catch(() => null);
  checks.ok(!!href, `index.html links a manifest (${href})`);
  if (href) {
    const r = await p.request.get(new URL(href, srv.base).href);
    checks.ok(r.ok() && /manifest\+json|application\/json/.test(r.headers()['content-type'] || ''),
      `the manifest is served as JSON (${r.status()} ${r.headers()['content-type']})`);
    let m = {};
    try { m = await r.json(); } catch { /* checked below */ }
    checks.ok(!!(m.name || m.short_name), `the manifest has a name (${m.name})`);
    checks.ok(!!m.start_url && ['standalone', 'fullscreen', 'minimal-ui'].includes(m.display), `start_url and an app display (${m.start_url}, ${m.display})`);
    const icons = Array.isArray(m.icons) ? m.icons : [];
    checks.ok(icons.some((i) => /192|512|any/.test(i.sizes || '')), `icons of 192/512 px or any size (${icons.map((i) => i.sizes).join(', ')})`);
    for (const i of icons) {
      const ir = await p.request.get(new URL(i.src, new URL(href, srv.base)).href);
      checks.ok(ir.ok(), `icon ${i.src} is served (${ir.status()})`);
    }
  }
  const sw = await p.evaluate(() => Promise.race([
    navigator.serviceWorker.ready.then((r) => (r.active ? r.active.scriptURL : 'no active worker')),
    new Promise((res) => setTimeout(() => res(null), 15000)),
  ]));
  checks.ok(!!sw, `the service worker registers (navigator.serviceWorker.ready: ${sw})`);
  // Controlled from the next load on; then the shell must open offline.
  await p.reload();
  await p.locator('main[data-page]').waitFor({ timeout: 15000 });
  await sleep(1000);
  await ctx.setOffline(true);
  try {
    await p.reload({ timeout: 15000 });
    await p.locator('main[data-page]').waitFor({ timeout: 15000 });
    await sleep(1500);
    const st = await p.locator('#conn').getAttribute('data-state').catch(() => null);
    const ctl = await p.evaluate(() => !!navigator.serviceWorker.controller);
    checks.ok(ctl, 'offline, the page is served by the service worker (navigator.serviceWorker.controller)');
    checks.ok(st === 'reconnecting' || st === 'offline', `offline, the shell opens and #conn says so (data-state ${st})`);
    await shot(p, 'offline');
  } catch (e) {
    checks.ok(false, `the shell opens offline (${e.message.split('\n')[0]})`);
  }
  await ctx.setOffline(false);
  await ctx.close();
});

await browser.close();
const code = await srv.stop();
checks.ok(code === 0, `argus serve stopped cleanly (exit ${code})`);
if (!checks.failed.length) fs.rmSync(dir, { recursive: true, force: true });
else console.log(`kept ${dir}`);
checks.done();
