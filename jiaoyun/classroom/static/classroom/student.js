// A student's device: shows the open question, sends the answer, keeps it until the server
// acknowledges it (a reconnect resends it; the server counts it once), shows the result.
"use strict";
(() => {
  const root = document.getElementById("device");
  if (!root) return;
  const t = Live.strings();
  const $ = (id) => document.getElementById(id);
  const { el } = Live;
  const pendingKey = `classroom-pending-${root.dataset.session}`;
  let question = null;
  let mine = null;

  const socket = Live.connect(root.dataset.ws, {
    status: (up) => { $("conn").textContent = up ? "" : t.reconnecting; },
    onOpen: () => {},
    onMessage: (m) => {
      if (m.type === "state") {
        mine = m.my_answer === undefined ? null : m.my_answer;
        show(m.question, m.correct, mine !== null);
        resendPending();
      } else if (m.type === "question") {
        if (!question || m.question.id !== question.id) mine = null;
        show(m.question, m.correct, m.answered);
      } else if (m.type === "ack") {
        const pending = JSON.parse(sessionStorage.getItem(pendingKey) || "null");
        if (pending && pending.question === m.question) sessionStorage.removeItem(pendingKey);
        if (m.outcome === "accepted" || m.outcome === "changed" || m.outcome === "unchanged") mine = m.value;
        feedback(t[m.outcome] || "");
        root.dataset.outcome = m.outcome;
      } else if (m.type === "ended") {
        ended();
      }
    },
    onClose: (code) => { if (code === 4000) ended(); },
  });

  function ended() {
    $("question").replaceChildren(el("p", { class: "muted" }, t.ended));
    $("answer-area").replaceChildren();
    feedback("");
  }

  function feedback(text) { $("feedback").textContent = text; }

  function resendPending() {
    const pending = JSON.parse(sessionStorage.getItem(pendingKey) || "null");
    if (pending && question && pending.question === question.id && question.status === "open") {
      socket.send({ type: "answer", question: pending.question, value: pending.value });
    }
  }

  function answer(value) {
    const message = { type: "answer", question: question.id, value };
    sessionStorage.setItem(pendingKey, JSON.stringify(message));
    if (!socket.send(message)) feedback(t.reconnecting);
  }

  function show(q, correct, answered) {
    question = q;
    const box = $("question");
    const area = $("answer-area");
    box.replaceChildren();
    area.replaceChildren();
    root.dataset.question = q ? String(q.id) : "";
    if (!q) { box.append(el("p", { class: "muted" }, t.waiting)); feedback(""); return; }
    box.append(el("div", { class: "q-prompt" }, q.prompt));
    const open = q.status === "open";
    if (q.status === "revealed") {
      feedback(!answered ? t.no_answer : correct === true ? t.right : correct === false ? t.wrong : "");
      root.dataset.result = !answered ? "none" : String(correct);
    } else if (!open) {
      feedback(t.closed);
    } else if (mine === null) {
      feedback("");
    }
    if (q.kind === "single" || q.kind === "true_false") {
      q.options.forEach((label, i) => {
        const value = q.kind === "single" ? i : i === 0;
        const text = q.kind === "single" ? `${Live.letter(i)}. ${label}` : label;
        const button = el("button", { type: "button", class: "choice" + (mine === value ? " chosen" : ""), disabled: !open }, text);
        button.addEventListener("click", () => {
          area.querySelectorAll(".choice").forEach((b) => b.classList.remove("chosen"));
          button.classList.add("chosen");
          answer(value);
        });
        area.append(button);
      });
    } else if (q.kind === "multiple") {
      const form = el("form", { class: "multi" });
      q.options.forEach((label, i) => {
        const box = el("input", { type: "checkbox", value: String(i), disabled: !open, checked: Array.isArray(mine) && mine.includes(i) });
        form.append(el("label", { class: "choice" }, box, ` ${Live.letter(i)}. ${label}`));
      });
      form.append(el("button", { type: "submit", class: "primary", disabled: !open }, t.submit));
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        const picked = [...form.querySelectorAll("input:checked")].map((b) => Number(b.value));
        if (picked.length) answer(picked);
      });
      area.append(form);
    } else {
      const form = el("form", { class: "free" });
      const input = el("input", { name: "value", maxLength: 200, disabled: !open, autocomplete: "off" });
      if (q.kind === "number") input.inputMode = "decimal";
      if (mine !== null) input.value = String(mine);
      form.append(input, el("button", { type: "submit", class: "primary", disabled: !open }, t.submit));
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        if (input.value.trim()) answer(input.value.trim());
      });
      area.append(form);
    }
    if (q.status === "revealed" && q.key !== undefined && q.key !== null) {
      area.querySelectorAll(".choice").forEach((node, i) => {
        const right = q.kind === "single" ? q.key === i : q.kind === "multiple" ? q.key.includes(i) : (i === 0) === q.key;
        if (q.kind !== "number" && q.kind !== "text" && right) node.classList.add("right");
      });
    }
  }
})();
