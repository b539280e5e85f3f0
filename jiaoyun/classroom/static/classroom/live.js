// A WebSocket that reconnects with backoff, shared by the screen and the student pages.
"use strict";
window.Live = {
  strings: () => JSON.parse(document.getElementById("live-i18n").textContent),
  connect(path, { onOpen, onMessage, onClose, status }) {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    let delay = 500;
    let socket = null;
    let stopped = false;
    const open = () => {
      socket = new WebSocket(scheme + location.host + path);
      socket.addEventListener("open", () => {
        delay = 500;
        if (status) status(true);
        if (onOpen) onOpen();
      });
      socket.addEventListener("message", (event) => onMessage(JSON.parse(event.data)));
      socket.addEventListener("close", (event) => {
        if (status) status(false);
        // 4000: the session ended; 4403: not allowed. Neither gets better by retrying.
        if (stopped || event.code === 4000 || event.code === 4403) {
          if (onClose) onClose(event.code);
          return;
        }
        setTimeout(open, delay + Math.random() * delay);
        delay = Math.min(delay * 2, 8000);
      });
    };
    open();
    return {
      send(message) {
        if (socket && socket.readyState === WebSocket.OPEN) {
          socket.send(JSON.stringify(message));
          return true;
        }
        return false;
      },
      stop() { stopped = true; if (socket) socket.close(); },
    };
  },
  el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else if (key.startsWith("data-")) node.setAttribute(key, value);
      else node[key] = value;
    }
    for (const child of children) node.append(child);
    return node;
  },
  letter: (i) => "ABCDEFGHIJ"[i],
};
