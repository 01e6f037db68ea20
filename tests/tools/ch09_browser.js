// ch09_browser.js PORT [SCREENSHOT.png] - headless Chromium (/usr/bin/chromium,
// or $CHROMIUM) opens listing 9.10's page served by listing 9.9 on
// 127.0.0.1:PORT, sees "Connected users count: 1", opens a second page (both
// show 2), closes it (the first shows 1 again). Driven over the DevTools
// protocol with Node's `ws`. Prints each observation, then "OK"; exits 1 on
// anything else or after 40 s. Chromium and its profile dir are always removed.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const WebSocket = require('ws');

const port = process.argv[2];
const shot = process.argv[3];
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-ch09-chromium-'));
const chrome = spawn(process.env.CHROMIUM || '/usr/bin/chromium', [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage', `--user-data-dir=${profile}`, '--remote-debugging-address=127.0.0.1',
  '--remote-debugging-port=0', 'about:blank',
], { stdio: ['ignore', 'ignore', 'pipe'] });
let stderr = '';
const finish = (code, why) => {
  if (why) console.log('FAIL ' + why);
  try { chrome.kill('SIGKILL'); } catch (e) { /* gone */ }
  try { fs.rmSync(profile, { recursive: true, force: true }); } catch (e) { /* best effort */ }
  process.exit(code);
};
setTimeout(() => finish(1, 'timeout; chromium said:\n' + stderr.slice(-2000)), 40000).unref();
chrome.on('error', (e) => finish(1, `cannot run chromium: ${e.message}`));
chrome.on('exit', (code) => finish(1, `chromium exited (${code}):\n${stderr.slice(-2000)}`));

// The DevTools endpoint chromium prints on stderr.
const endpoint = new Promise((resolve) => chrome.stderr.on('data', (d) => {
  stderr += d;
  const m = /DevTools listening on (ws:\/\/\S+)/.exec(stderr);
  if (m) resolve(m[1]);
}));

let cdp, seq = 0;
const pending = new Map();
const send = (method, params = {}, sessionId) => new Promise((resolve, reject) => {
  const id = ++seq;
  pending.set(id, { resolve, reject, method });
  cdp.send(JSON.stringify({ id, method, params, sessionId }));
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function openPage() {
  const { targetId } = await send('Target.createTarget', { url: `http://127.0.0.1:${port}/` });
  const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
  return { targetId, sessionId };
}

async function evaluate(page, expression) {
  const r = await send('Runtime.evaluate', { expression, returnByValue: true }, page.sessionId);
  return r.result.value;
}

// Poll the page's counter until it shows want (10 s at most).
async function waitCount(page, name, want) {
  let got;
  for (let i = 0; i < 200; i++) {
    got = await evaluate(page, "(document.querySelector('#counter') || {}).textContent");
    if (got === want) {
      console.log(`${name} shows ${got}`);
      return;
    }
    await sleep(50);
  }
  finish(1, `${name} shows ${JSON.stringify(got)}, expected ${want}`);
}

(async () => {
  cdp = new WebSocket(await endpoint, { perMessageDeflate: false });
  cdp.on('message', (data) => {
    const msg = JSON.parse(data);
    const p = msg.id && pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
    else p.resolve(msg.result);
  });
  await new Promise((resolve, reject) => { cdp.once('open', resolve); cdp.once('error', reject); });
  const first = await openPage();
  await waitCount(first, 'page 1', '1');
  const title = await evaluate(first, 'document.title');
  const text = await evaluate(first, 'document.body.innerText');
  console.log(`title: ${title}`);
  console.log(`text: ${text.replace(/\s+/g, ' ').trim()}`);
  const second = await openPage();
  await waitCount(second, 'page 2', '2');
  await waitCount(first, 'page 1', '2');
  if (shot) {
    const { data } = await send('Page.captureScreenshot', { format: 'png' }, first.sessionId);
    fs.writeFileSync(shot, Buffer.from(data, 'base64'));
  }
  await send('Target.closeTarget', { targetId: second.targetId });
  console.log('page 2 closed');
  await waitCount(first, 'page 1', '1');
  console.log('OK');
  chrome.removeAllListeners('exit');
  finish(0);
})().catch((e) => finish(1, String(e)));
