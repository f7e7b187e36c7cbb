// Socket.IO clients for the notification tests and benchmark, driven by one JSON argument (or
// `@file` holding it, for configurations too long for a command line):
//   { "url": "http://127.0.0.1:8080", "transport": "websocket" | "polling",
//     "sockets": [{ "name": "alice", "token": "<access token>" }, ...],
//     "abuse": "flood" | "garbage" (optional: misbehave instead of listening),
//     "reconnect": true (optional: reconnect by itself after a disconnection, as browsers do) }
// Every connection outcome and every event is printed as one JSON line on stdout, with the
// time it arrived (milliseconds since the epoch, fractional). Runs until stdin closes.
import { io } from "socket.io-client";
import { readFileSync } from "node:fs";
import WebSocket from "ws";

const argument = process.argv[2];
const config = JSON.parse(argument.startsWith("@") ? readFileSync(argument.slice(1), "utf8") : argument);
const now = () => performance.timeOrigin + performance.now();
const say = (line) => process.stdout.write(JSON.stringify({ ...line, at: now() }) + "\n");

process.stdin.on("end", () => process.exit(0));
process.stdin.resume();

function listen({ name, token }) {
  const socket = io(config.url, {
    transports: [config.transport],
    auth: token === undefined ? undefined : { token },
    reconnection: config.reconnect === true,
    timeout: 20000,
  });
  socket.on("connect", () => say({ socket: name, type: "connect", transport: socket.io.engine.transport.name }));
  socket.on("connect_error", (err) => say({ socket: name, type: "connect_error", message: err.message }));
  socket.on("disconnect", (reason) => say({ socket: name, type: "disconnect", reason }));
  socket.onAny((event, data) => say({ socket: name, type: "event", event, data }));
  return socket;
}

// A connected client that sends as many large messages as it can, forever.
function flood({ name, token }) {
  const socket = listen({ name, token });
  const payload = "x".repeat(8 * 1024);
  socket.on("connect", function burst() {
    if (!socket.connected) return;
    for (let i = 0; i < 100; i++) socket.emit("spam", payload);
    setImmediate(burst);
  });
}

// Raw WebSockets that speak no protocol at all: random bytes and malformed packets, reopened
// whenever the server closes them.
function garbage() {
  const target = config.url.replace(/^http/, "ws") + "/socket.io/?EIO=4&transport=websocket";
  const junk = ["", "4", "42[", "0{bad json", "\u0000\u0001\u0002", "9".repeat(10000), "40/nope,"];
  let opened = 0;
  const open = () => {
    const ws = new WebSocket(target);
    ws.on("open", () => {
      opened += 1;
      if (opened === 1) say({ socket: "garbage", type: "connect" });
      const timer = setInterval(() => {
        if (ws.readyState !== WebSocket.OPEN) return clearInterval(timer);
        ws.send(junk[Math.floor(Math.random() * junk.length)]);
        ws.send(Buffer.from(Array.from({ length: 512 }, () => Math.floor(Math.random() * 256))));
      }, 1);
    });
    ws.on("error", () => {});
    ws.on("close", () => setTimeout(open, 5));
  };
  open();
}

if (config.abuse === "garbage") {
  garbage();
} else {
  for (const socket of config.sockets) {
    if (config.abuse === "flood") flood(socket);
    else listen(socket);
  }
}
