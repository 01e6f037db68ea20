// ws_server.js - Node's `ws` as an echo server for loom's WebSocket client
// (tests/check_ws.c). Prints "listening on 127.0.0.1:PORT". On connection it
// pings the client and sends a text in two fragments with a ping between them;
// then echoes every message. Prints what it saw and exits when the client
// closes (exit 1 after 15 s).
'use strict';
const { WebSocketServer } = require('ws');
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
setTimeout(() => { console.log('FAIL timeout'); process.exit(1); }, 15000).unref();
wss.on('listening', () => console.log(`listening on 127.0.0.1:${wss.address().port}`));
wss.on('connection', (ws, req) => {
  console.log(`path ${req.url} protocol ${ws.protocol || '-'}`);
  ws.on('pong', (data) => console.log(`pong ${data}`));
  ws.ping('from-node');
  ws.send('frag', { fin: false });
  ws.ping('mid');
  ws.send('mented \u00e9', { fin: true });
  ws.on('message', (data, isBinary) => {
    console.log(`echo ${isBinary ? 'binary' : 'text'} ${data.length}`);
    ws.send(data, { binary: isBinary });
  });
  ws.on('close', (code, reason) => {
    console.log(`server saw close ${code} ${reason}`);
    wss.close();
    setTimeout(() => process.exit(0), 20);
  });
});
