// The votewire live protocol, client side (docs/live-protocol.md).
//
// One websocket, many channels. Keeps, per channel, the view and the
// (seq, epoch) it came with; never applies a seq at or below the one held in
// the same epoch (so no number on screen goes backwards). On reconnect it
// re-subscribes every channel with `resume`, getting exactly what was missed
// or a snapshot flagged `resync`. Heartbeats both ways: answers server pings,
// pings the server itself and forces a reconnect if pongs stop coming.

const decoder = new TextDecoder("utf-8");

// Close codes after which retrying unchanged is pointless (services/live/close_codes.py).
const FINAL_CLOSES = new Set([4003]);
// Close codes that ask for a longer pause before coming back.
const BACK_OFF_CLOSES = new Set([4008, 4029]);

export class LiveClient {
  constructor(url, { onStatus = () => {}, onError = () => {}, pingEveryMs = 10000,
                     pongTimeoutMs = 5000 } = {}) {
    this.url = url;
    this.onStatus = onStatus;
    this.onError = onError;
    this.pingEveryMs = pingEveryMs;
    this.pongTimeoutMs = pongTimeoutMs;
    this.channels = new Map();   // channel -> {handler, seq, epoch, view, acked, missed}
    this.ws = null;
    this.attempt = 0;
    this.state = "connecting";
    this.detail = "";
    this.rttMs = null;
    this.lastFrameAt = 0;
    this.lastUpdateAt = null;
    this.serverIntervalMs = 15000;
    this.pingSentAt = 0;
    this.awaitingPong = false;
    this.reconnectAt = 0;
    this.stopped = false;
    this.updates = 0;
  }

  start() {
    this._connect();
    this._timer = setInterval(() => this._tick(), 500);
    window.addEventListener("online", () => this._reconnectNow());
    window.addEventListener("offline", () => this._setState("offline", "the device is offline"));
  }

  subscribe(channel, handler) {
    const known = this.channels.get(channel);
    if (known) { known.handler = handler; if (known.view) handler(known.view, known); return; }
    this.channels.set(channel, { handler, seq: null, epoch: null, view: null, acked: false, missed: 0 });
    this._sendSubscribe(channel);
  }

  unsubscribe(channel) {
    if (!this.channels.delete(channel)) return;
    this._send({ type: "unsubscribe", channel });
  }

  _sendSubscribe(channel) {
    const st = this.channels.get(channel);
    st.acked = false;
    const frame = { type: "subscribe", channel };
    if (st.seq !== null && st.epoch !== null) frame.resume = { seq: st.seq, epoch: st.epoch };
    this._send(frame);
    this._refreshState();
  }

  _send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  _connect() {
    this._setState(this.attempt ? "reconnecting" : "connecting", "opening the connection");
    const ws = new WebSocket(this.url);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.lastFrameAt = Date.now();
      this.awaitingPong = false;
      this.pingSentAt = Date.now();
      for (const channel of this.channels.keys()) this._sendSubscribe(channel);
      this._refreshState();
    };
    ws.onmessage = (event) => {
      const text = typeof event.data === "string" ? event.data : decoder.decode(event.data);
      this.lastFrameAt = Date.now();
      this._onFrame(JSON.parse(text));
    };
    ws.onclose = (event) => this._onClose(ws, event);
    ws.onerror = () => {};  // onclose follows with the code
  }

  _onClose(ws, event) {
    if (ws !== this.ws || this.stopped) return;
    this.ws = null;
    for (const st of this.channels.values()) st.acked = false;
    if (FINAL_CLOSES.has(event.code)) {
      this._setState("refused", `refused by the server: ${event.reason || event.code}`);
      return;
    }
    this.attempt += 1;
    const base = BACK_OFF_CLOSES.has(event.code) ? 5000 : 500;
    const delay = Math.min(30000, base * 2 ** (this.attempt - 1)) * (0.5 + Math.random());
    this.reconnectAt = Date.now() + delay;
    const why = event.reason ? ` (${event.reason})` : "";
    this._setState("reconnecting", `connection lost${why}`);
    setTimeout(() => { if (!this.ws) this._connect(); }, delay);
  }

  _reconnectNow() {
    if (this.ws) { this.ws.close(4000, "reconnect"); return; }
    this._connect();
  }

  _onFrame(frame) {
    const st = frame.channel ? this.channels.get(frame.channel) : null;
    switch (frame.type) {
      case "snapshot":
        if (st) { st.acked = true; st.missed = 0; this._apply(st, frame); }
        break;
      case "update":
        if (!st) break;
        if (st.epoch === frame.epoch && st.seq !== null && frame.seq <= st.seq) break;
        if (st.missed > 0) st.missed -= 1;
        this._apply(st, frame);
        break;
      case "subscribed":
        if (!st) break;
        st.acked = true;
        if (frame.empty) {
          st.seq = 0; st.epoch = null;
          if (frame.resync) { st.view = null; st.handler(null, st); }
        } else if (frame.resumed) {
          st.missed = frame.missed || 0;
        }
        break;
      case "ping":
        this.serverIntervalMs = frame.interval_ms || this.serverIntervalMs;
        this._send({ type: "pong" });
        break;
      case "pong":
        this.awaitingPong = false;
        this.rttMs = Date.now() - this.pingSentAt;
        break;
      case "error":
        this.onError(frame);
        if (st && frame.code !== "bad_resume") st.acked = true;
        break;
      default:
        break;
    }
    this._refreshState();
  }

  _apply(st, frame) {
    st.seq = frame.seq;
    st.epoch = frame.epoch;
    st.view = frame.view;
    this.updates += 1;
    if (!frame.channel.startsWith("status:")) this.lastUpdateAt = new Date();  // numbers only
    st.handler(frame.view, st);
  }

  _tick() {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
      if (this.state === "reconnecting") this._emit();  // refresh the countdown
      return;
    }
    const now = Date.now();
    if (!this.awaitingPong && now - this.pingSentAt >= this.pingEveryMs) {
      this.pingSentAt = now;
      this.awaitingPong = true;
      this._send({ type: "ping" });
    }
    if (this.awaitingPong && now - this.pingSentAt > 2 * this.pongTimeoutMs) {
      this.ws.close(4000, "no pong");  // a half-open connection: start over
      this._onClose(this.ws, { code: 4000, reason: "no answer to ping" });
      return;
    }
    this._refreshState();
  }

  _refreshState() {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    const now = Date.now();
    const unacked = [...this.channels.values()].filter((st) => !st.acked).length;
    const missing = [...this.channels.values()].reduce((n, st) => n + st.missed, 0);
    const silent = now - this.lastFrameAt > this.serverIntervalMs * 1.5 + 5000;
    const slowPong = this.awaitingPong && now - this.pingSentAt > this.pongTimeoutMs;
    if (unacked || missing) this._setState("behind", `catching up (${unacked + missing} pending)`);
    else if (silent || slowPong) this._setState("behind", "the server is not answering");
    else this._setState("live", "");
  }

  _setState(state, detail) {
    const changed = state !== this.state || detail !== this.detail;
    this.state = state;
    this.detail = detail;
    if (changed) this._emit();
  }

  _emit() {
    this.onStatus({
      state: this.state,
      detail: this.detail,
      rttMs: this.rttMs,
      lastUpdateAt: this.lastUpdateAt,
      retryInS: this.state === "reconnecting"
        ? Math.max(0, Math.ceil((this.reconnectAt - Date.now()) / 1000)) : null,
    });
  }
}
