// The lawful-use controls in the console (docs/lawful-use.md), in a real
// browser against `argus serve`: an admin sets a camera's recognition policy
// (mode, a time window, a privacy mask typed as points, and one drawn on the
// camera's picture when it is streaming, the legal reference) on the cameras
// page; the REST API then returns exactly that policy and the audit log has
// the camera.update row with the legal reference; a mask of 2 points shows
// the API's refusal next to the form and changes nothing; an operator sees
// the policy read-only. A supervisor records a watchlist's legal basis and
// expiry; a list whose expiry passed shows as expired (read-only, no
// enrolment) and is renewed; a person whose review-by date passed shows as
// overdue and is renewed. Every form control has a label. The past dates are
// made with the CLI under ARGUS_TEST_NOW (the store's test clock). Skips (77)
// without chromium, playwright-core, the models or ../shared/data.
import path from 'node:path';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import {
  prerequisites, launch, tempDir, addUser, serve, Checks, watchdog, shot, watchConsole, login,
  checkLabels, checkNoOverflow, data, sleep, argus, cli, models,
} from './harness.mjs';

const NAME = 'web_lawful';
const chromium = prerequisites();
watchdog(420, NAME);
const checks = new Checks(NAME);

const photo = path.join(data, 'stills/face_recognition_examples/examples/lin-manuel-miranda.png');
const video = path.join(data, 'video/hamilton_clip_10s.mp4');
const dir = tempDir('lawful');
const db = path.join(dir, 'argus.db');
const pw = (n) => `pw-${n}-12345`;

// `argus ARGS` with the store's clock set back to `now` (dates that are in
// the past today are "in the future" then).
function argusAt(now, args) {
  const r = spawnSync(cli, args, { encoding: 'utf8', env: { ...process.env, ARGUS_MODELS: models || '', ARGUS_TEST_NOW: now } });
  if (r.status !== 0) throw new Error(`ARGUS_TEST_NOW=${now} argus ${args.join(' ')}: exit ${r.status}: ${r.stderr || r.stdout}`);
  return r.stdout;
}
const past = new Date(Date.now() - 200 * 86400e3);
const day = (d) => d.toISOString().slice(0, 10);
const then = day(past); // the test clock of the CLI
const gone = day(new Date(past.getTime() + 30 * 86400e3)); // in the future then, in the past now

argusAt(then, ['watchlist', 'create', 'old', '--purpose', 'a closed case', '--expires', gone, '--db', db]);
argus(['watchlist', 'create', 'wanted', '--db', db]);
argusAt(then, ['person', 'add', '--watchlist', 'wanted', '--name', 'Lin', '--reason', 'warrant 7/26', '--review-by', gone, photo, '--db', db]);
for (const [n, r] of [['adm', 'admin'], ['sup', 'supervisor'], ['op', 'operator']]) addUser(db, n, r, pw(n));

const srv = await serve(db);
const browser = await launch(chromium);
// UTC: the window's local date and time in the form is then its UTC instant.
const desk = { viewport: { width: 1280, height: 900 }, timezoneId: 'UTC' };

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

// GET /api/v1/PATH with the page's session.
const api = (p, route) => p.evaluate(async (u) => {
  const r = await fetch(`/api/v1${u}`, { credentials: 'same-origin' });
  return { status: r.status, body: await r.json().catch(() => null) };
}, route);

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const POLICY = {
  mode: 'detect',
  windows: [{ from: '2027-01-01T10:00:00Z', to: '2027-01-01T22:00:00Z', mode: 'off' },
    { every: 'day', from: '22:00', to: '06:00', mode: 'detect' }],
  masks: [[[0, 0], [320, 0], [320, 120], [0, 120]]],
  legal_ref: 'court order 123/26',
};
let camId = 0;
let saved = null;

await checks.step('admin: a camera\'s recognition policy is set on the cameras page', async () => {
  const { ctx, p } = await session('adm', 'cameras');
  const before = await api(p, '/cameras');
  checks.ok(before.status === 200 && before.body.items.length === 0, 'no camera yet');
  // The camera plays the sample clip; added with the page's form.
  await p.locator('button[data-action=add]').first().click();
  const add = p.locator('form.camera-form');
  await add.locator('input[name=name]').fill('gate');
  await add.locator('input[name=url]').fill(video);
  await add.locator('button[type=submit]').click();
  await add.waitFor({ state: 'detached', timeout: 10000 });
  const cams = (await api(p, '/cameras')).body.items;
  checks.ok(cams.length === 1 && cams[0].name === 'gate', `the camera is added (${cams.length})`);
  camId = cams.length ? cams[0].id : 0;
  await open(p, '/cameras', 'cameras');
  const card = p.locator(`li.camera-card[data-id="${camId}"]`);
  await card.waitFor({ timeout: 10000 });
  const line = card.locator('[data-policy]');
  checks.ok(/Policy\s*◉?\s*match/.test(await line.innerText()), `the card shows the default policy (${(await line.innerText()).replace(/\s+/g, ' ')})`);
  await card.locator('button[data-action=policy]').click();
  const form = p.locator('form.policy-form');
  await form.waitFor({ timeout: 5000 });
  await form.locator('select[name=mode]').selectOption('detect');
  await form.locator('button[data-action=add-window]').click();
  const win = form.locator('li[data-window]').first();
  await win.locator('select[name=window-kind]').selectOption('once');
  await win.locator('input[name=window-from]').fill('2027-01-01T10:00');
  await win.locator('input[name=window-to]').fill('2027-01-01T22:00');
  await win.locator('select[name=window-mode]').selectOption('off');
  await form.locator('button[data-action=add-window]').click();
  const night = form.locator('li[data-window]').nth(1);
  await night.locator('select[name=window-kind]').selectOption('day');
  await night.locator('input[name=window-from]').fill('22:00');
  await night.locator('input[name=window-to]').fill('06:00');
  await night.locator('select[name=window-mode]').selectOption('detect');
  await form.locator('button[data-action=add-mask]').click();
  await form.locator('input[name=mask]').first().fill('0,0 320,0 320,120 0,120');
  // A second mask drawn on the picture, when the camera streams.
  const img = form.locator('.policy-canvas img');
  const pic = await img.waitFor({ timeout: 8000 }).then(() => true, () => false);
  let drawn = null;
  if (pic) {
    await form.locator('button[data-action=add-mask]').click();
    const box = await img.boundingBox();
    for (const [fx, fy] of [[0.6, 0.6], [0.9, 0.6], [0.9, 0.9], [0.6, 0.9]]) await p.mouse.click(box.x + fx * box.width, box.y + fy * box.height);
    drawn = (await form.locator('input[name=mask]').nth(1).inputValue()).trim();
    checks.ok(drawn.split(/\s+/).length === 4, `four clicks on the picture give four points (${drawn})`);
    await form.locator('li[data-mask] button[data-action=draw]').nth(1).click();
  } else {
    console.log('note: the camera gave no picture in time (the clip may have ended); the mask is typed only');
  }
  await form.locator('input[name=legal_ref]').fill(POLICY.legal_ref);
  checks.ok(/Takes effect/.test(await form.locator('[data-effective]').innerText()), 'the form says when the change takes effect');
  await checkLabels(checks, p, '/cameras (policy form)');
  await shot(p, 'lawful-policy-form');
  await form.locator('button[type=submit]').click();
  await form.waitFor({ state: 'detached', timeout: 10000 });
  await p.waitForFunction((id) => document.querySelector(`li.camera-card[data-id="${id}"]`)?.dataset.policyMode === 'detect', camId, { timeout: 5000 });
  const text = (await line.innerText()).replace(/\s+/g, ' ');
  checks.ok(/detect/.test(text) && /2 windows/.test(text) && new RegExp(`${drawn ? 2 : 1} mask`).test(text) && /court order 123\/26/.test(text), `the card shows the new policy (${text})`);
  const got = await api(p, `/cameras/${camId}`);
  saved = got.body && got.body.settings ? got.body.settings.policy : null;
  const want = drawn ? { ...POLICY, masks: [...POLICY.masks, drawn.split(/\s+/).map((s) => s.split(',').map(Number))] } : POLICY;
  checks.ok(same(saved, want), `GET /cameras/${camId} returns exactly that policy (${JSON.stringify(saved)})`);
  const st = got.body && got.body.status;
  if (st) {
    checks.ok(typeof st.policy_mode === 'string' && typeof st.faces_masked === 'number', `the status carries policy_mode and the counters (${st.policy_mode}, masked ${st.faces_masked})`);
    await p.waitForTimeout(5500); // the page's next poll
    checks.ok(await card.locator('[data-policy-live]').count() === 1, 'the card shows the last frame\'s mode and counters');
  }
  const audit = await api(p, '/audit?action=camera.update&limit=50');
  const rows = (audit.body && audit.body.items) || [];
  const row = rows.find((r) => JSON.stringify(r).includes('court order 123/26'));
  checks.ok(!!row, `the audit has a camera.update row with the legal reference (${rows.length} camera.update rows)`);
  if (row) checks.ok(/effective/.test(JSON.stringify(row)) && row.actor !== undefined, `the row names when it takes effect (${JSON.stringify(row).slice(0, 300)})`);
  await shot(p, 'lawful-cameras-after');

  // A mask of 2 points: the API's refusal, nothing changed.
  await card.locator('button[data-action=policy]').click();
  await form.waitFor({ timeout: 5000 });
  await form.locator('button[data-action=add-mask]').click();
  await form.locator('input[name=mask]').last().fill('10,10 20,20');
  await form.locator('button[type=submit]').click();
  const perr = form.locator('[data-policy-error]');
  await perr.waitFor({ state: 'visible', timeout: 5000 });
  const msg = await perr.innerText();
  checks.ok(/mask/i.test(msg), `the API's refusal is shown next to the form ("${msg.trim()}")`);
  await shot(p, 'lawful-policy-refused');
  const after = await api(p, `/cameras/${camId}`);
  checks.ok(same(after.body.settings.policy, saved), 'the refused change left the policy as it was');
  await ctx.close();
});

await checks.step('admin on a phone: the policy form fits', async () => {
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, timezoneId: 'UTC', isMobile: true, hasTouch: true });
  const p = await ctx.newPage();
  watchConsole(p, 'adm-phone');
  await login(p, srv.base, 'adm', pw('adm'), { expectPage: 'cameras' });
  const card = p.locator(`li.camera-card[data-id="${camId}"]`);
  await card.waitFor({ timeout: 10000 });
  await card.locator('button[data-action=policy]').click();
  await p.locator('form.policy-form').waitFor({ timeout: 5000 });
  await sleep(1500);
  await checkNoOverflow(checks, p, '/cameras (policy form)', 390);
  await shot(p, 'lawful-policy-phone');
  await ctx.close();
});

await checks.step('operator: the policy is read-only', async () => {
  const { ctx, p } = await session('op');
  await open(p, '/cameras', 'cameras');
  const card = p.locator(`li.camera-card[data-id="${camId}"]`);
  await card.waitFor({ timeout: 10000 });
  checks.ok(/detect/.test(await card.locator('[data-policy]').innerText()), 'the operator sees the policy mode on the card');
  checks.ok(await p.locator('button[data-action=add], button[data-action=edit], button[data-action=remove], button[data-action=toggle]').count() === 0,
    'no add, edit, enable/disable or remove for an operator');
  await card.locator('button[data-action=policy]').click();
  const view = p.locator('[data-policy-view]');
  await view.waitFor({ timeout: 5000 });
  const text = await view.innerText();
  checks.ok(/court order 123\/26/.test(text) && /detect/.test(text) && /0,0 320,0 320,120 0,120/.test(text), `the read-only view shows the policy (${text.replace(/\s+/g, ' ').slice(0, 200)})`);
  checks.ok(await p.locator('form.policy-form').count() === 0 && await view.locator('input, select, textarea').count() === 0, 'no editor for an operator');
  await checkLabels(checks, p, '/cameras (operator)');
  await shot(p, 'lawful-operator-policy');
  await ctx.close();
});

await checks.step('supervisor: legal basis, expiry and renewal of watchlists and persons', async () => {
  const { ctx, p } = await session('sup');
  const lists = (await api(p, '/watchlists')).body.items;
  const old = lists.find((w) => w.name === 'old');
  const wanted = lists.find((w) => w.name === 'wanted');
  checks.ok(old && old.expired === true, `the API says "old" is expired (${old && old.expires})`);
  await open(p, '/watchlists', 'watchlists');
  const oldRow = p.locator(`tr[data-id="${old.id}"]`);
  await oldRow.waitFor({ timeout: 10000 });
  checks.ok(await oldRow.getAttribute('data-expired') === 'true' && /expired/.test(await oldRow.innerText()), `the list shows "old" as expired (${(await oldRow.innerText()).replace(/\s+/g, ' ')})`);
  const wRow = p.locator(`tr[data-id="${wanted.id}"]`);
  checks.ok(!/expired/.test(await wRow.innerText()), '"wanted" is not shown as expired');

  // The legal basis of "wanted" in its edit form.
  await wRow.locator('button[data-action=edit]').click();
  const form = p.locator('form.watchlist-form');
  await form.waitFor({ timeout: 5000 });
  await form.locator('input[name=purpose]').fill('find wanted persons');
  await form.locator('input[name=legal_ref]').fill('warrant list W-12');
  await form.locator('input[name=owner]').fill('Inspector Ruiz');
  await form.locator('input[name=expires]').fill('2027-06-30');
  await checkLabels(checks, p, '/watchlists (edit form, legal basis)');
  await shot(p, 'lawful-watchlist-form');
  await form.locator('button[type=submit]').click();
  await form.waitFor({ state: 'detached', timeout: 10000 });
  const w2 = (await api(p, `/watchlists/${wanted.id}`)).body;
  checks.ok(w2.purpose === 'find wanted persons' && w2.legal_ref === 'warrant list W-12' && w2.owner === 'Inspector Ruiz' && /^2027-06-30/.test(w2.expires || '') && !w2.expired,
    `the API returns the legal basis (${JSON.stringify({ purpose: w2.purpose, legal_ref: w2.legal_ref, owner: w2.owner, expires: w2.expires })})`);
  await p.locator(`tr[data-id="${wanted.id}"]`, { hasText: 'warrant list W-12' }).waitFor({ timeout: 5000 }).then(
    () => checks.ok(true, 'the list shows the new legal reference'), () => checks.ok(false, 'the list shows the new legal reference'));
  await shot(p, 'lawful-watchlists');

  // A new list with its legal basis from the start.
  await p.locator('button[data-action=add]').click();
  const nform = p.locator('form.watchlist-form');
  await nform.locator('input[name=name]').fill('missing');
  await nform.locator('input[name=purpose]').fill('find missing persons');
  await nform.locator('input[name=legal_ref]').fill('case 99/26');
  await nform.locator('input[name=owner]').fill('Desk 4');
  await nform.locator('input[name=expires]').fill('2027-01-31');
  await nform.locator('button[type=submit]').click();
  await nform.waitFor({ state: 'detached', timeout: 10000 });
  const m = (await api(p, '/watchlists')).body.items.find((w) => w.name === 'missing');
  checks.ok(m && m.purpose === 'find missing persons' && m.legal_ref === 'case 99/26' && m.owner === 'Desk 4' && /^2027-01-31/.test(m.expires || ''),
    `a new list is created with its legal basis (${m ? JSON.stringify({ purpose: m.purpose, legal_ref: m.legal_ref, owner: m.owner, expires: m.expires }) : 'missing'})`);

  // The expired list: read-only, renewed with a new expiry.
  await open(p, `/watchlists/${old.id}`, 'watchlists');
  const banner = p.locator('[data-expired-banner]');
  await banner.waitFor({ timeout: 5000 });
  checks.ok(/expired/.test(await banner.innerText()) && /read-only/.test(await banner.innerText()), 'the expired list says it is expired and read-only');
  checks.ok(await p.locator('main button', { hasText: 'Add person' }).count() === 0, 'no enrolment into an expired list (no Add person button)');
  await checkLabels(checks, p, `/watchlists/${old.id} (expired)`);
  await shot(p, 'lawful-watchlist-expired');
  await banner.locator('input[name=renew_expires]').fill('2027-12-31');
  await banner.locator('button[type=submit]').click();
  await banner.waitFor({ state: 'detached', timeout: 10000 });
  const o2 = (await api(p, `/watchlists/${old.id}`)).body;
  checks.ok(o2.expired === false && /^2027-12-31/.test(o2.expires || ''), `the renewal is stored (${o2.expires}, expired ${o2.expired})`);
  checks.ok(await p.locator('button[data-action=add-person]').count() === 1, 'the renewed list takes enrolment again');

  // The overdue person of "wanted", renewed.
  await open(p, `/watchlists/${wanted.id}`, 'watchlists');
  const lin = p.locator('tr[data-review]', { hasText: 'Lin' });
  await lin.waitFor({ timeout: 10000 });
  checks.ok(await lin.getAttribute('data-review') === 'overdue' && /overdue/.test(await lin.innerText()) && /warrant 7\/26/.test(await lin.innerText()),
    `Lin is shown overdue with the reason (${(await lin.innerText()).replace(/\s+/g, ' ')})`);
  checks.ok(/overdue/.test(await p.locator('[data-review-summary]').innerText()), 'the list says how many entries are overdue');
  await lin.locator('button[data-action=review]').click();
  const rform = p.locator('form[data-renew=person]');
  await rform.waitFor({ timeout: 5000 });
  await checkLabels(checks, p, `/watchlists/${wanted.id} (review form)`);
  await shot(p, 'lawful-person-overdue');
  await rform.locator('input[name=review_by]').fill('2027-03-01');
  await rform.locator('button[type=submit]').click();
  await rform.waitFor({ state: 'detached', timeout: 10000 });
  const lin2 = p.locator('tr[data-review]', { hasText: 'Lin' });
  checks.ok(await lin2.getAttribute('data-review') === 'ok', `after renewal Lin's entry is in date (${await lin2.getAttribute('data-review')})`);
  const pid = Number(await lin2.getAttribute('data-id'));
  const person = (await api(p, `/persons/${pid}`)).body;
  checks.ok(person.review === 'ok' && /^2027-03-01/.test(person.review_by || '') && person.reason === 'warrant 7/26', `the API has the new review-by date (${person.review_by}, ${person.review})`);
  await shot(p, 'lawful-person-renewed');
  await ctx.close();
});

await browser.close();
const code = await srv.stop();
checks.ok(code === 0, `argus serve stopped cleanly (exit ${code})`);
if (!checks.failed.length) fs.rmSync(dir, { recursive: true, force: true });
else console.log(`kept ${dir}`);
checks.done();
