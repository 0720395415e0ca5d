// Verdict feedback in the console (docs/alerts.md), in a real browser: a
// four-eyes watchlist with Lin enrolled, one real alert from `argus watch`
// on the Hamilton clip; operator 1 confirms it on the alert page, which then
// says "1 of 2 confirmations" and offers no second confirmation; operator 2
// sees 1 of 2 and confirms it (confirmed); the supervisor's watchlist page
// shows the four-eyes setting and the verdict statistics, and its edit form
// sets the negative-example setting (read back over the API). Every form
// control has an accessible label. Skips (77) without chromium,
// playwright-core, the models or ../shared/data.
import path from 'node:path';
import fs from 'node:fs';
import {
  prerequisites, launch, tempDir, addUser, serve, Checks, watchdog, shot, watchConsole, login,
  checkLabels, data, sleep, argus,
} from './harness.mjs';

const NAME = 'web_verdicts';
const chromium = prerequisites();
watchdog(420, NAME);
const checks = new Checks(NAME);

const photo = path.join(data, 'stills/face_recognition_examples/examples/lin-manuel-miranda.png');
const video = path.join(data, 'video/hamilton_clip_10s.mp4');
const dir = tempDir('verdicts');
const db = path.join(dir, 'argus.db');
const pw = (n) => `pw-${n}-12345`;

argus(['watchlist', 'create', 'vip', '--four-eyes', '--db', db]);
argus(['person', 'add', '--watchlist', 'vip', '--name', 'Lin', photo, '--db', db]);
argus(['watch', video, '--cooldown', '0', '--db', db]);
const alerts = JSON.parse(`[${argus(['alert', 'list', '--json', '--db', db]).trim().split('\n').join(',')}]`);
checks.ok(alerts.length >= 1, `argus watch stored an alert (${alerts.length})`);
const alertId = alerts.length ? alerts[alerts.length - 1].id : 0;
for (const [n, r] of [['sup', 'supervisor'], ['op', 'operator'], ['op2', 'operator']]) addUser(db, n, r, pw(n));

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

async function open(p, url, pageName) {
  await p.goto(`${srv.base}${url}`);
  const main = p.locator(pageName ? `main[data-page="${pageName}"]` : 'main[data-page]');
  await main.waitFor({ timeout: 15000 });
  await sleep(500);
  return main;
}

await checks.step('four-eyes: the first operator\'s confirmation is 1 of 2', async () => {
  const { ctx, p } = await session('op');
  await open(p, `/alerts/${alertId}`);
  const count = p.locator('[data-four-eyes]');
  await count.waitFor({ timeout: 10000 });
  checks.ok(/0 of 2 confirmations/.test(await count.innerText()), `the alert page says 0 of 2 (${await count.innerText()})`);
  await checkLabels(checks, p, `/alerts/${alertId} (operator, four-eyes)`);
  await p.locator('button[data-action=confirm]').click();
  const note = p.locator('[data-four-eyes-note]');
  await note.waitFor({ timeout: 10000 });
  checks.ok(/1 of 2 confirmations/.test(await note.innerText()), `after confirming: "${await note.innerText()}"`);
  checks.ok(/1 of 2/.test(await count.innerText()), 'the facts say 1 of 2');
  checks.ok(await p.locator('button[data-action=confirm]').count() === 0, 'no second confirmation is offered to the same operator');
  checks.ok(await p.locator('article[data-status=pending]').count() === 1, 'the alert stays pending');
  await shot(p, 'four-eyes-1-of-2');
  await ctx.close();
});

await checks.step('four-eyes: a second operator confirms it', async () => {
  const { ctx, p } = await session('op2');
  await open(p, `/alerts/${alertId}`);
  const count = p.locator('[data-four-eyes]');
  await count.waitFor({ timeout: 10000 });
  checks.ok(/1 of 2/.test(await count.innerText()), `the second operator sees 1 of 2 (${await count.innerText()})`);
  await p.locator('button[data-action=confirm]').click();
  await p.locator('article[data-status=confirmed]').waitFor({ timeout: 10000 }).then(
    () => checks.ok(true, 'the second confirmation confirms it'),
    () => checks.ok(false, 'the second confirmation confirms it'));
  checks.ok(/2 of 2/.test(await count.innerText()), `the facts say 2 of 2 (${await count.innerText()})`);
  await ctx.close();
});

await checks.step('the watchlist page: settings and verdict statistics', async () => {
  const { ctx, p } = await session('sup');
  const list = JSON.parse(argus(['watchlist', 'list', '--json', '--db', db]));
  const wid = list.find((w) => w.name === 'vip').id;
  await open(p, `/watchlists/${wid}`);
  const settings = p.locator('[data-verdict-settings]');
  await settings.waitFor({ timeout: 10000 });
  checks.ok(/four-eyes/.test(await settings.innerText()), `the page says four-eyes (${await settings.innerText()})`);
  const stats = p.locator('[data-verdict-stats]');
  await stats.waitFor({ timeout: 10000 });
  const text = await stats.innerText();
  checks.ok(/1 confirmed, 0 rejected/.test(text), `the statistics count the confirmed alert (${text.replace(/\s+/g, ' ')})`);
  await p.locator('main button[data-action=edit]').click();
  await checkLabels(checks, p, `/watchlists/${wid} (edit form)`);
  await p.locator('select[name=negatives]').selectOption('mark');
  await p.locator('form.watchlist-form button[type=submit]').click();
  await sleep(1000);
  const after = JSON.parse(argus(['watchlist', 'list', '--json', '--db', db])).find((w) => w.name === 'vip');
  const out = argus(['watchlist', 'stats', 'vip', '--json', '--db', db]);
  checks.ok(JSON.parse(out).negatives_setting === 'mark', `the form set negatives to mark (${out.trim().slice(0, 120)})`);
  checks.ok(after && after.id === wid, 'the watchlist is still there');
  await shot(p, 'watchlist-verdicts');
  await ctx.close();
});

await browser.close();
const code = await srv.stop();
checks.ok(code === 0, `argus serve stopped cleanly (exit ${code})`);
if (!checks.failed.length) fs.rmSync(dir, { recursive: true, force: true });
else console.log(`kept ${dir}`);
checks.done();
