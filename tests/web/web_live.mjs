// The console in a real browser (headless Debian chromium through
// playwright-core), live: two operators are logged in on the live page when
// a camera playing a sample video (hamilton_clip_10s.mp4) is added to a
// server that has Lin-Manuel Miranda on a watchlist; the alert card arrives
// without a reload on both (and raises a system notification for the one
// who allowed them); the first operator confirms it with a comment
// and the second sees the decision on the card live; the alert is then in
// the history (confirmed), on its detail page with its audit trail, and in
// the audit log seen by an auditor; the live feed and the decision screen
// on a phone (360x740) do not scroll sideways; the second operator rejects
// the next alert with the keyboard (R); every form control on these
// pages has a label. Screenshots go to web-artifacts/.
//
// One `argus serve` (the pipeline loads the models once). Skips (77)
// without chromium, playwright-core, the models or ../shared/data.
import path from 'node:path';
import fs from 'node:fs';
import {
  prerequisites, launch, argus, tempDir, addUser, serve, Checks, watchdog, shot, watchConsole,
  login, checkLabels, checkNoOverflow, data, models, sleep,
} from './harness.mjs';

const NAME = 'web_live';
const chromium = prerequisites();
watchdog(420, NAME);
const checks = new Checks(NAME);

const clip = path.join(data, 'video/hamilton_clip_10s.mp4');
const photo = path.join(data, 'stills/face_recognition_examples/examples/lin-manuel-miranda.png');
const dir = tempDir('live');
const db = path.join(dir, 'argus.db');
const pw = (n) => `pw-${n}-12345`;

argus(['watchlist', 'create', 'vip', '--db', db]);
argus(['person', 'add', '--watchlist', 'vip', '--name', 'Lin-Manuel Miranda', '--models', models, '--db', db, photo]);
addUser(db, 'op1', 'operator', pw('op1'));
addUser(db, 'op2', 'operator', pw('op2'));
addUser(db, 'aud', 'auditor', pw('aud'));

const srv = await serve(db);
const browser = await launch(chromium);
const desk = { viewport: { width: 1280, height: 900 } };
const ctxA = await browser.newContext(desk);
// op1 allowed notifications: each new alert must raise one (recorded here;
// a headless browser shows none).
await ctxA.grantPermissions(['notifications'], { origin: srv.base });
await ctxA.addInitScript(() => {
  window.__notes = [];
  const rec = (title, opts) => window.__notes.push({ title: String(title), body: opts && opts.body ? String(opts.body) : '' });
  if (window.ServiceWorkerRegistration) {
    const show = ServiceWorkerRegistration.prototype.showNotification;
    ServiceWorkerRegistration.prototype.showNotification = function (title, opts) {
      rec(title, opts);
      return show.call(this, title, opts).catch(() => {});
    };
  }
  if (window.Notification) {
    const N = window.Notification;
    window.Notification = class extends N {
      constructor(title, opts) { super(title, opts); rec(title, opts); }
    };
  }
});
const ctxB = await browser.newContext(desk);
const A = await ctxA.newPage();
const B = await ctxB.newPage();
watchConsole(A, 'op1');
watchConsole(B, 'op2');

let alertId = null;
let alertId2 = null;
const card = (page, id) => page.locator(id ? `.alert-card[data-alert-id="${id}"]` : '.alert-card[data-alert-id]');

await checks.step('two operators log in and open the live page', async () => {
  await login(A, srv.base, 'op1', pw('op1'), { expectPage: 'live' });
  await login(B, srv.base, 'op2', pw('op2'), { expectPage: 'live' });
  checks.ok(new URL(A.url()).pathname === '/live', `an operator lands on /live (at ${new URL(A.url()).pathname})`);
  for (const [p, who] of [[A, 'op1'], [B, 'op2']]) {
    const st = await p.locator('#conn[data-state="live"]').waitFor({ timeout: 15000 }).then(() => 'live',
      async () => p.locator('#conn').getAttribute('data-state').catch(() => 'no #conn'));
    checks.ok(st === 'live', `${who}: the connection indicator #conn[data-state] says live (${st})`);
  }
  checks.ok(await card(A).count() === 0, 'no alert card before the camera exists');
  await shot(A, 'live-empty');
  await checkLabels(checks, A, '/live');
});

await checks.step('an alert from the sample video camera arrives live on both', async () => {
  const t0 = Date.now();
  argus(['camera', 'add', 'stage', clip, '--db', db]);
  await card(A).first().waitFor({ timeout: 150000 });
  const ms = Date.now() - t0;
  console.log(`first alert card painted ${(ms / 1000).toFixed(1)} s after the camera was added`);
  const c = card(A).first();
  alertId = await c.getAttribute('data-alert-id');
  checks.ok(/^\d+$/.test(alertId || ''), `the card has data-alert-id (${alertId})`);
  checks.ok(await c.getAttribute('data-status') === 'pending', `the new card is data-status=pending (${await c.getAttribute('data-status')})`);
  const text = await c.innerText();
  checks.ok(/Lin-Manuel Miranda/.test(text), 'the card names the person');
  checks.ok(/vip/.test(text), 'the card names the watchlist');
  checks.ok(/stage/.test(text), 'the card names the camera');
  checks.ok(await c.locator('img').count() >= 1, `the card shows the crop (${await c.locator('img').count()} images)`);
  checks.ok(await c.locator('time[title]').count() >= 1, 'the card has a <time> with the UTC time in title');
  checks.ok(/\d/.test(await A.title()), `the tab title counts new alerts ("${await A.title()}")`);
  await card(B, alertId).waitFor({ timeout: 20000 });
  checks.ok(true, 'the second operator got the same card live');
  const notes = await A.evaluate(() => window.__notes);
  checks.ok(notes.some((n) => /Lin-Manuel Miranda/.test(`${n.title} ${n.body}`)),
    `a system notification was raised for the alert (${JSON.stringify(notes).slice(0, 160)})`);
  await shot(A, 'live-alert');
});

await checks.step('op1 confirms with a comment; op2 sees the decision live', async () => {
  if (!alertId) throw new Error('no alert to decide');
  const c = card(A, alertId);
  const comment = 'seen at the stage door';
  const box = c.locator('textarea[name=comment]');
  if (await box.count()) {
    await box.fill(comment);
    await c.locator('button[data-action=confirm]').click();
  } else {
    // The comment may be asked for after the button (a dialog).
    await c.locator('button[data-action=confirm]').click();
    const dlg = A.locator('textarea[name=comment]:visible');
    await dlg.first().waitFor({ timeout: 5000 });
    await dlg.first().fill(comment);
    const form = A.locator('dialog[open], [role=dialog]').first();
    await form.locator('button[data-action=confirm], button[type=submit]').first().click();
  }
  await A.locator(`.alert-card[data-alert-id="${alertId}"][data-status="confirmed"]`).waitFor({ timeout: 15000 })
    .then(() => checks.ok(true, 'op1: the card says confirmed'),
      async () => checks.ok(false, `op1: the card says confirmed (data-status ${await c.getAttribute('data-status').catch(() => 'gone')})`));
  await B.locator(`.alert-card[data-alert-id="${alertId}"][data-status="confirmed"]`).waitFor({ timeout: 20000 })
    .then(() => checks.ok(true, 'op2: the decision appears on the card live'),
      async () => checks.ok(false, `op2: the decision appears on the card live (data-status ${await card(B, alertId).getAttribute('data-status').catch(() => 'gone')})`));
  const bText = await card(B, alertId).innerText().catch(() => '');
  checks.ok(/confirm/i.test(bText), 'op2: the card says "confirmed" in words, not colour only');
  await shot(A, 'live-confirmed-op1');
  await shot(B, 'live-confirmed-op2');
});

await checks.step('the alert is in the history, confirmed, and its detail page has the trail', async () => {
  if (!alertId) throw new Error('no alert');
  await A.goto(`${srv.base}/alerts`);
  await A.locator('main[data-page="alerts"], main[data-page="history"]').waitFor({ timeout: 15000 });
  const row = A.locator(`table[data-list] tr[data-id="${alertId}"]`);
  await row.waitFor({ timeout: 15000 });
  const t = await row.innerText();
  checks.ok(/confirm/i.test(t), `the history row says confirmed ("${t.replace(/\s+/g, ' ').slice(0, 120)}")`);
  await checkLabels(checks, A, '/alerts');
  await shot(A, 'history');
  await A.goto(`${srv.base}/alerts/${alertId}`);
  await A.locator('main[data-page]').waitFor({ timeout: 15000 });
  await A.getByText('seen at the stage door').first().waitFor({ timeout: 15000 })
    .then(() => checks.ok(true, 'the detail page shows the comment'),
      () => checks.ok(false, 'the detail page shows the comment'));
  checks.ok(await A.locator('main img').count() >= 1, 'the detail page shows images (crop / frame)');
  await checkLabels(checks, A, `/alerts/${alertId}`);
  await shot(A, 'alert-detail');
});

await checks.step('an auditor sees the decision in the audit log', async () => {
  if (!alertId) throw new Error('no alert');
  const ctx = await browser.newContext(desk);
  const p = await ctx.newPage();
  watchConsole(p, 'aud');
  await login(p, srv.base, 'aud', pw('aud'), { expectPage: 'audit' });
  const rows = p.locator('table[data-list="audit"] tr[data-id]');
  await rows.first().waitFor({ timeout: 15000 });
  const texts = await rows.allInnerTexts();
  const hit = texts.find((t) => /alert\.decision/.test(t) && t.includes(`alert ${alertId}`) && /op1/.test(t));
  checks.ok(!!hit, `the audit log has op1's decision on alert ${alertId} (${texts.length} rows)`);
  await checkLabels(checks, p, '/audit');
  await shot(p, 'audit');
  await ctx.close();
});

await checks.step('the live feed and the decision screen on a phone (360x740)', async () => {
  const ctx = await browser.newContext({ viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const p = await ctx.newPage();
  watchConsole(p, 'phone');
  await login(p, srv.base, 'op1', pw('op1'), { expectPage: 'live' });
  await p.locator('#conn[data-state="live"]').waitFor({ timeout: 15000 }).catch(() => {});
  // A second camera on the same clip: a new pending alert arrives on the
  // phone, with its decision buttons and comment box.
  const before = await card(p).count();
  argus(['camera', 'add', 'stage2', clip, '--db', db]);
  await p.waitForFunction((n) => document.querySelectorAll('.alert-card[data-status="pending"]').length > 0
    && document.querySelectorAll('.alert-card').length > n, before, { timeout: 150000 });
  await sleep(1000);
  const pending = p.locator('.alert-card[data-alert-id][data-status="pending"]').first();
  const id2 = await pending.getAttribute('data-alert-id');
  alertId2 = id2;
  console.log(`phone: ${await card(p).count()} alert cards on the live page; pending ${id2}`);
  await checkNoOverflow(checks, p, '/live with a pending alert', 360);
  await checkLabels(checks, p, '/live with a pending alert');
  const btn = await pending.locator('button[data-action=confirm]').boundingBox();
  checks.ok(btn && btn.height >= 40 && btn.width >= 40, `the confirm button is a touch target of at least 40x40 px (${btn ? `${btn.width.toFixed(0)}x${btn.height.toFixed(0)}` : 'none'})`);
  await shot(p, 'phone-live');
  await p.goto(`${srv.base}/alerts/${id2}`);
  await p.locator('main[data-page]').waitFor({ timeout: 15000 });
  await sleep(1000);
  await checkNoOverflow(checks, p, `/alerts/${id2} (the decision screen)`, 360);
  await checkLabels(checks, p, `/alerts/${id2} (pending)`);
  checks.ok(await p.locator('main button[data-action=confirm]').count() >= 1, 'the phone\'s decision screen has the confirm button');
  await shot(p, 'phone-alert');
  await ctx.close();
});

await checks.step('keyboard: op2 selects the new alert and rejects it with R', async () => {
  if (!alertId2) throw new Error('no pending alert');
  const c = card(B, alertId2);
  await c.waitFor({ timeout: 20000 });
  await c.locator('dt, .meta, h2, h3').first().click().catch(() => c.click({ position: { x: 5, y: 5 } }));
  await B.keyboard.press('r');
  await B.locator(`.alert-card[data-alert-id="${alertId2}"][data-status="rejected"]`).waitFor({ timeout: 15000 })
    .then(() => checks.ok(true, 'R rejects the selected alert'),
      async () => checks.ok(false, `R rejects the selected alert (data-status ${await c.getAttribute('data-status').catch(() => 'gone')})`));
  await shot(B, 'live-rejected-by-key');
});

await browser.close();
const code = await srv.stop();
checks.ok(code === 0, `argus serve stopped cleanly (exit ${code})`);
if (!checks.failed.length) fs.rmSync(dir, { recursive: true, force: true });
else console.log(`kept ${dir}`);
checks.done();
