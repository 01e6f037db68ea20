// ws_client.js PORT - Node's `ws` as a client of a loom WebSocket echo server
// (tests/check_ws.c). Sends text, binary, a large message, a fragmented text
// with a ping in between, checks every echo, then closes with 4000 "done".
// Prints "OK" and "closed CODE REASON"; exits 1 on any mismatch or after 15 s.
'use strict';
const WebSocket = require('ws');
const port = process.argv[2];
// Offers permessage-deflate as browsers do: loom declines it (no extension header).
const ws = new WebSocket(`ws://127.0.0.1:${port}/echo`);
const big = Buffer.alloc(300000, 7);
const expected = [
  ['hello', false],
  [Buffer.from([0, 1, 2, 255]), true],
  [big, true],
  ['fragmented \u20ac text', false],
];
let pongs = 0;
let ok = true;
const fail = (why) => { console.log('FAIL ' + why); process.exit(1); };
setTimeout(() => fail('timeout'), 15000).unref();
ws.on('open', () => {
  ws.send('hello');
  ws.send(Buffer.from([0, 1, 2, 255]));
  ws.send(big);
  ws.send('fragmented ', { fin: false });
  ws.ping('between');
  ws.send('\u20ac text', { fin: true });
});
ws.on('pong', (data) => { if (data.toString() === 'between') pongs++; });
ws.on('message', (data, isBinary) => {
  const [want, bin] = expected.shift() || fail('unexpected message');
  const same = bin ? Buffer.compare(Buffer.from(data), want) === 0 : data.toString() === want;
  if (!same || bin !== isBinary) { ok = false; console.log('mismatch'); }
  if (expected.length === 0) ws.close(4000, 'done');
});
ws.on('close', (code, reason) => {
  if (ok && pongs === 1) console.log('OK');
  console.log(`closed ${code} ${reason}`);
  process.exit(ok && pongs === 1 ? 0 : 1);
});
ws.on('error', (e) => fail('error ' + e.message));
