// The training socket (/ws/train). The client speaks first, so the socket opens lazily on the
// first send. Incoming JSON goes to one dispatch table keyed on `type`.

export function createSocket({ path = "/ws/train", handlers, onOpen, onLost }) {
  let ws = null;
  let queue = [];
  let retryMs = 500;
  let wanted = false; // true once we have spoken: reconnect after a drop
  let reconnectTimer = null;

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
      if (onOpen) onOpen();
    };
    sock.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch (_) { return; }
      dispatch(msg);
    };
    sock.onerror = () => { /* onclose follows */ };
    sock.onclose = () => {
      if (ws !== sock) return;
      ws = null;
      if (!wanted) return;
      if (onLost) onLost();
      clearTimeout(reconnectTimer);
      reconnectTimer = setTimeout(connect, retryMs);
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

  function isOpen() { return !!ws && ws.readyState === WebSocket.OPEN; }

  return { send, isOpen, dispatch };
}
