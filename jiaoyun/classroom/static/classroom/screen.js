// The main screen: draws the snapshots the server pushes, acknowledging each one after it
// is drawn (the server sends the next only then), and sends the teacher's commands.
"use strict";
(() => {
  const root = document.getElementById("screen");
  if (!root) return;
  const t = Live.strings();
  const $ = (id) => document.getElementById(id);
  const { el } = Live;
  let names = new Map();
  let current = null;

  const socket = Live.connect(root.dataset.ws, {
    status: (up) => { $("conn").textContent = up ? t.connected : t.reconnecting; $("conn").classList.toggle("down", !up); },
    onMessage: (m) => {
      if (m.type === "roster") {
        names = new Map(m.students.map((s) => [s.id, s.name]));
      } else if (m.type === "snapshot") {
        draw(m);
        // Acknowledge once drawn: a busy or hidden screen slows the server down, not up.
        requestAnimationFrame(() => socket.send({ type: "ack", seq: m.seq }));
      } else if (m.type === "error") {
        $("error").textContent = t.ask_error;
      }
    },
    onClose: (code) => { if (code === 4000) location.reload(); },
  });

  function draw(snap) {
    current = snap.question;
    $("total").textContent = snap.total;
    $("count").textContent = snap.answered.length;
    root.dataset.answered = String(snap.answered.length);
    const q = $("question");
    q.replaceChildren();
    $("close-q").disabled = !current || current.status !== "open";
    $("reveal-q").disabled = !current || current.status === "revealed";
    if (current) {
      q.append(el("div", { class: "q-meta" }, `${current.position}. ${current.knowledge_points.join("、")}`));
      q.append(el("div", { class: "q-prompt" }, current.prompt));
      if (current.kind === "single" || current.kind === "multiple") {
        q.append(el("ol", { class: "q-options" }, ...current.options.map((o, i) => el("li", {}, `${Live.letter(i)}. ${o}`))));
      }
      q.dataset.status = current.status;
      if (current.status === "revealed" && current.key !== null && current.key !== undefined) {
        q.append(el("div", { class: "q-key" }, `${t.key}: ${formatKey(current)}`));
      }
    }
    drawChart(snap);
    drawRoster(snap);
  }

  function formatKey(question) {
    const key = question.key;
    if (question.kind === "single") return Live.letter(key);
    if (question.kind === "multiple") return key.map(Live.letter).join("");
    if (question.kind === "true_false") return key ? question.options[0] : question.options[1];
    if (Array.isArray(key)) return key.join(" | ");
    return String(key);
  }

  function drawChart(snap) {
    const chart = $("chart");
    chart.replaceChildren();
    const d = snap.distribution;
    if (!d) return;
    if (d.chart === "bars" || d.chart === "histogram") {
      const items = d.chart === "bars"
        ? d.labels.map((label, i) => ({ label: snap.question.kind === "true_false" ? label : `${Live.letter(i)}. ${label}`, count: d.counts[i], right: isRight(snap.question, i) }))
        : d.bins.map((b) => ({ label: b.label, count: b.count, right: false }));
      const max = Math.max(1, ...items.map((i) => i.count));
      chart.className = "chart " + (d.chart === "bars" ? "bars" : "histogram");
      for (const item of items) {
        const bar = el("span", { class: "bar" + (item.right ? " right" : "") });
        bar.style.setProperty("--share", String(item.count / max));
        chart.append(el("div", { class: "bar-row", "data-label": item.label }, el("span", { class: "bar-label" }, item.label), el("span", { class: "bar-track" }, bar), el("span", { class: "bar-count" }, String(item.count))));
      }
    } else if (d.chart === "words") {
      chart.className = "chart words";
      if (!d.words.length) chart.append(el("p", { class: "muted" }, t.no_answers));
      const max = Math.max(1, ...d.words.map((w) => w[1]));
      for (const [word, count] of d.words) {
        const span = el("span", { class: "word", title: String(count) }, word);
        span.style.setProperty("--weight", String(count / max));
        chart.append(span, " ");
      }
    }
  }

  function isRight(question, index) {
    if (question.status !== "revealed" || question.key === null || question.key === undefined) return false;
    if (question.kind === "single") return question.key === index;
    if (question.kind === "multiple") return question.key.includes(index);
    if (question.kind === "true_false") return (index === 0) === question.key;
    return false;
  }

  function drawRoster(snap) {
    const answered = new Set(snap.answered);
    const correct = new Set(snap.correct || []);
    const revealed = snap.question && snap.question.status === "revealed";
    $("roster").replaceChildren(...[...names].map(([id, name]) => {
      let cls = "who";
      if (answered.has(id)) cls += " answered";
      if (revealed && answered.has(id)) cls += correct.has(id) ? " right" : " wrong";
      return el("span", { class: cls }, name);
    }));
  }

  document.querySelectorAll(".ask-prepared").forEach((button) => {
    button.addEventListener("click", () => socket.send({ type: "ask", source: Number(button.dataset.source) }));
  });
  $("ask-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const kind = form.get("kind");
    const options = String(form.get("options")).split("\n").map((s) => s.trim()).filter(Boolean);
    $("error").textContent = "";
    socket.send({
      type: "ask", kind, prompt: form.get("prompt"), options,
      key: parseKey(kind, String(form.get("key")).trim()),
      knowledge_points: String(form.get("knowledge_points")).split(/[,，]/).map((s) => s.trim()).filter(Boolean),
    });
    event.target.reset();
  });
  $("close-q").addEventListener("click", () => socket.send({ type: "close" }));
  $("reveal-q").addEventListener("click", () => {
    if (current && !current.has_key) {
      const typed = window.prompt(t.key_prompt, "");
      if (typed === null) return;
      const key = parseKey(current.kind, typed.trim());
      socket.send(key === null ? { type: "reveal" } : { type: "reveal", key });
    } else {
      socket.send({ type: "reveal" });
    }
  });
  $("fullscreen").addEventListener("click", () => {
    if (document.fullscreenElement) document.exitFullscreen();
    else document.documentElement.requestFullscreen().catch(() => {});
  });

  // Mirrors jiaoyun.classroom.forms.parse_key; the server validates again.
  function parseKey(kind, text) {
    if (!text) return null;
    const letterIndex = (ch) => "ABCDEFGHIJ".indexOf(ch.toUpperCase());
    if (kind === "single") return letterIndex(text);
    if (kind === "multiple") return [...text.replace(/[,，\s]/g, "")].map(letterIndex);
    if (kind === "true_false") return /^(true|t|yes|1|对|是|正确|√|✓)$/i.test(text);
    if (kind === "number") return Number(text);
    return text.split("|").map((s) => s.trim()).filter(Boolean);
  }
})();
