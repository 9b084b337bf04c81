// One WebSocket: /ws/train (the client speaks first, so it opens lazily on the first send) or a
// viewer's /ws/room/CODE (opened with open(), never sends). Incoming JSON goes to one dispatch
// table keyed on `type`. After a drop it reconnects by itself, with backoff; `retry(closeEvent,
// ms)` may choose another delay, or null to stay closed.

export function createSocket({ path = "/ws/train", handlers, onOpen, onLost, retry }) {
  let ws = null;
  let queue = [];
  let retryMs = 500;
  let wanted = false; // true once we have spoken (or open() was called): reconnect after a drop
  let reconnectTimer = null;
  let opens = 0;

  function url() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    return `${proto}//${location.host}${path}`;
  }

  function dispatch(msg) {
    if (!msg || typeof msg !== "object") return;
    const fn = handlers[msg.type];
    if (fn) fn(msg);
  }

  function connect() {
    if (ws && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)) return;
    const sock = new WebSocket(url());
    ws = sock;
    sock.onopen = () => {
      retryMs = 500;
      const pending = queue;
      queue = [];
      for (const m of pending) sock.send(m);
      opens += 1;
      if (onOpen) onOpen(opens);
    };
    sock.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch (_) { return; }
      dispatch(msg);
    };
    sock.onerror = () => { /* onclose follows */ };
    sock.onclose = (ev) => {
      if (ws !== sock) return;
      ws = null;
      if (!wanted) return;
      if (onLost) onLost(ev);
      const ms = retry ? retry(ev, retryMs) : retryMs;
      clearTimeout(reconnectTimer);
      if (ms === null || !wanted) { wanted = false; return; }
      reconnectTimer = setTimeout(connect, ms);
      retryMs = Math.min(retryMs * 2, 8000);
    };
  }

  function send(obj) {
    wanted = true;
    const text = JSON.stringify(obj);
    if (ws && ws.readyState === WebSocket.OPEN) {
      ws.send(text);
    } else {
      // Only the latest start matters after a drop; keep the queue short.
      if (obj.type === "start") queue = queue.filter((m) => !m.startsWith('{"type":"start"'));
      queue.push(text);
      connect();
    }
  }

  function open() { wanted = true; connect(); }
  function close() { wanted = false; clearTimeout(reconnectTimer); if (ws) ws.close(); }
  return { send, open, close };
}
