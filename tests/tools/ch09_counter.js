// ch09_counter.js PORT [BASE] - Node's `ws` against listing 9.9's /counter:
// client A connects and is told 1; B connects and both are told 2; B closes
// and A is told 1 (each plus BASE, the users already connected). Prints each
// message as "A 1" etc., then "OK"; exits 1 on anything else or after 15 s.
'use strict';
const WebSocket = require('ws');
const url = `ws://127.0.0.1:${process.argv[2]}/counter`;
const base = Number(process.argv[3] || 0);
const fail = (why) => { console.log('FAIL ' + why); process.exit(1); };
setTimeout(() => fail('timeout'), 15000).unref();

// Resolves with the next message of ws.
const next = (ws, name) => new Promise((resolve) => ws.once('message', (data) => {
  console.log(`${name} ${data}`);
  resolve(data.toString());
}));
const opened = (ws) => new Promise((resolve, reject) => {
  ws.once('open', resolve);
  ws.once('error', reject);
});
const expect = async (p, n) => {
  const got = await p;
  if (got !== String(base + n)) fail(`got ${got}, want ${base + n}`);
};

(async () => {
  const a = new WebSocket(url);
  await expect(next(a, 'A'), 1);
  const aNext = next(a, 'A');
  const b = new WebSocket(url);
  const bNext = next(b, 'B');
  await opened(b);
  await expect(aNext, 2);
  await expect(bNext, 2);
  const aAfter = next(a, 'A');
  b.close(1000);
  await expect(aAfter, 1);
  a.close(1000);
  a.on('close', (code) => { console.log(`closed ${code}`); console.log('OK'); process.exit(0); });
})().catch((e) => fail(String(e)));
