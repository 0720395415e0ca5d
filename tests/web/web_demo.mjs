// The demo opens the console (issue 12): `argus demo --serve` prepares its
// database (finds the person who is in two of six photos, enrols them, makes
// the simulated camera with ffmpeg), runs the server and prints the login;
// with that login the live page shows the demo's alerts within 60 s of the
// command. The photos are the Big Bang Theory group stills of
// ../shared/data (stills/faceapi_bbt), so that the test needs no network
// (scripts/demo.sh fetches the demo's own photos from npm). Screenshot:
// web-artifacts/demo-live.png.
//
// Skips (77) without chromium, playwright-core, the models,
// ../shared/data or ffmpeg.
import path from 'node:path';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import {
  prerequisites, launch, tempDir, start, Checks, watchdog, shot, watchConsole, login, skip, data, models,
} from './harness.mjs';

const NAME = 'web_demo';
const chromium = prerequisites();
if (spawnSync('ffmpeg', ['-version']).status !== 0) skip('no ffmpeg (scripts/setup.sh installs it)');
const stills = path.join(data, 'stills/faceapi_bbt/examples/images');
const pick = ['bbt1.jpg', 'bbt2.jpg', 'bbt3.jpg', 'bbt4.jpg', 'bbt5.jpg', 'happy.jpg'];
for (const f of pick) if (!fs.existsSync(path.join(stills, f))) skip(`no ${stills}/${f}`);
watchdog(300, NAME);
const checks = new Checks(NAME);

const dir = tempDir('demo');
const photos = path.join(dir, 'photos');
fs.mkdirSync(photos);
pick.forEach((f, i) => fs.symlinkSync(path.join(stills, f), path.join(photos, `sample${i + 1}.jpg`)));

const t0 = Date.now();
const srv = await start(['demo', '--serve', '--listen', '127.0.0.1:0', '--dir', path.join(dir, 'work'),
  '--photos', photos, '--models', models], { timeout: 180, tag: 'demo' });
const log = srv.log();
const user = /log in as '([^']+)'/.exec(log);
const pass = /with the password (\S+)/.exec(log);
checks.ok(!!user && !!pass, `the demo prints the login (${user ? user[1] : '?'} / ${pass ? pass[1] : '?'})`);
checks.ok(/the console: http:\/\/127\.0\.0\.1:/.test(log), 'the demo prints the console\'s URL');
console.log(`the server listened ${((Date.now() - t0) / 1000).toFixed(1)} s after the command`);

const browser = await launch(chromium);
await checks.step('the demo operator sees the demo\'s alerts on the live page', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const p = await ctx.newPage();
  watchConsole(p, 'demo');
  await login(p, srv.base, user ? user[1] : 'demo', pass ? pass[1] : '', { expectPage: 'live' });
  const left = Math.max(1000, 60000 - (Date.now() - t0));
  const got = await p.locator('.alert-card[data-alert-id]').first().waitFor({ timeout: left }).then(() => true, () => false);
  const s = (Date.now() - t0) / 1000;
  checks.ok(got, `an alert card is on the live page within 60 s of the command (${got ? `${s.toFixed(1)} s` : 'none'})`);
  if (!got) {
    // How late: up to 60 s more, to tell slow from broken.
    const late = await p.locator('.alert-card[data-alert-id]').first().waitFor({ timeout: 60000 }).then(() => true, () => false);
    console.log(late ? `the first card came after ${((Date.now() - t0) / 1000).toFixed(1)} s` : 'no card in 120 s');
  }
  const text = await p.locator('.alert-card').first().innerText().catch(() => '');
  checks.ok(/Person of sample\d\.jpg/.test(text) && /demo-camera/.test(text), 'the card names the demo person and camera');
  await shot(p, 'demo-live');
  await ctx.close();
});

await browser.close();
const code = await srv.stop();
checks.ok(code === 0, `the demo stopped cleanly on SIGTERM (exit ${code})`);
if (!checks.failed.length) fs.rmSync(dir, { recursive: true, force: true });
else console.log(`kept ${dir}`);
checks.done();
