// The annotator's page: shows the item the server gave, lets the annotator order the responses by
// mouse (pointer events) or keyboard, and sends the ranking with a submission id made once per
// item, resending it until the server says "saved" (kept in localStorage across a reload).
'use strict';
(function () {
  const csrf = document.querySelector('meta[name=csrf]').content;
  const who = document.querySelector('meta[name=annotator]').content;
  const pendingKey = 'rlhf-pending-' + who;
  const $ = (id) => document.getElementById(id);
  let current = null; // {item, submissionId, k}
  let busy = false;

  function newId() {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('').replace(/(.{8})(.{4})(.{4})(.{4})(.{12})/, '$1-$2-$3-$4-$5');
  }

  function status(text, kind) {
    const s = $('status');
    s.textContent = text;
    s.className = kind || '';
  }

  function showProgress(p) {
    if (p) $('progress').textContent = p.judged + ' judged · ' + p.skipped + ' skipped · ' + p.left_in_round + ' judgements left in the round';
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text; // always as text: responses may hold HTML
    return e;
  }

  function select(name, label, options) {
    const l = el('label', null, label + ' ');
    const s = el('select');
    s.name = name;
    for (const [v, t] of options) {
      const o = el('option', null, t);
      o.value = v;
      s.appendChild(o);
    }
    l.appendChild(s);
    return l;
  }

  function card(r) {
    const li = el('li', 'card');
    li.tabIndex = 0;
    li.dataset.index = r.index;
    const head = el('div', 'card-head');
    head.appendChild(el('span', 'rank'));
    head.appendChild(el('span', 'grip', '⋮⋮'));
    head.appendChild(select('label.helpful.' + r.index, 'Helpful', [['', '–'], ['good', 'good'], ['bad', 'bad']]));
    head.appendChild(select('label.harmless.' + r.index, 'Harmless', [['', '–'], ['good', 'good'], ['bad', 'bad']]));
    head.appendChild(select('flag.' + r.index, 'Flag', [['', 'none'], ['unsafe', 'unsafe'], ['nonsense', 'nonsense']]));
    li.appendChild(head);
    li.appendChild(el('div', 'text', r.text));
    head.addEventListener('pointerdown', (e) => startDrag(e, li));
    li.addEventListener('keydown', (e) => onKey(e, li));
    return li;
  }

  function cards() {
    return Array.from($('ranking').children);
  }

  function renumber() {
    cards().forEach((c, i) => {
      c.querySelector('.rank').textContent = '#' + (i + 1);
      c.setAttribute('aria-label', 'Response ranked ' + (i + 1) + ' of ' + cards().length);
    });
  }

  // Dragging follows the pointer on the whole document, so the card itself can move in the list.
  function startDrag(e, li) {
    if (e.target.closest('select, label') || e.button !== 0) return;
    e.preventDefault();
    li.focus();
    li.classList.add('dragging');
    const move = (m) => {
      const list = $('ranking');
      let before = null;
      for (const c of cards()) {
        if (c === li) continue;
        const r = c.getBoundingClientRect();
        if (m.clientY < r.top + r.height / 2) { before = c; break; }
      }
      if (li.nextSibling !== before) {
        list.insertBefore(li, before);
        renumber();
      }
    };
    const up = () => {
      li.classList.remove('dragging');
      document.removeEventListener('pointermove', move);
      document.removeEventListener('pointerup', up);
      document.removeEventListener('pointercancel', up);
      li.focus();
    };
    document.addEventListener('pointermove', move);
    document.addEventListener('pointerup', up);
    document.addEventListener('pointercancel', up);
  }

  function onKey(e, li) {
    if (e.target !== li) return; // keys inside the selects are theirs
    const list = $('ranking');
    const all = cards();
    const i = all.indexOf(li);
    if ((e.key === 'ArrowUp' || e.key === 'ArrowDown') && (e.altKey || e.shiftKey)) {
      const j = e.key === 'ArrowUp' ? i - 1 : i + 1;
      if (j < 0 || j >= all.length) return;
      list.insertBefore(li, e.key === 'ArrowUp' ? all[j] : all[j].nextSibling);
    } else if (e.key === 'ArrowUp' || e.key === 'ArrowDown') {
      const j = e.key === 'ArrowUp' ? i - 1 : i + 1;
      if (j >= 0 && j < all.length) all[j].focus();
      e.preventDefault();
      return;
    } else if (/^[1-9]$/.test(e.key) && Number(e.key) <= all.length) {
      const j = Number(e.key) - 1;
      if (j === i) return;
      const rest = all.filter((c) => c !== li);
      list.insertBefore(li, rest[j] || null);
    } else {
      return;
    }
    e.preventDefault();
    renumber();
    li.focus();
  }

  function render(data) {
    showProgress(data.progress);
    if (data.state !== 'item') {
      current = null;
      $('task').hidden = true;
      $('notice').hidden = false;
      $('notice-text').textContent = data.message;
      if (data.state === 'waiting') setTimeout(load, 3000);
      return;
    }
    $('notice').hidden = true;
    $('task').hidden = false;
    if (data.progress && data.progress.judged === 0 && data.progress.skipped === 0) document.querySelector('details.guidelines').open = true; // read them once
    if (!current || current.item !== data.item) current = {item: data.item, submissionId: newId(), k: data.responses.length};
    $('prompt').textContent = data.prompt;
    $('k').textContent = String(data.responses.length);
    const list = $('ranking');
    list.replaceChildren(...data.responses.map(card));
    renumber();
    busy = false;
    $('submit').disabled = false;
    $('skip').disabled = false;
  }

  async function load() {
    const r = await fetch('/api/item', {credentials: 'same-origin'});
    if (r.status === 401) { location.href = '/signin'; return; }
    const data = await r.json();
    if (!r.ok) { status(data.error || ('error ' + r.status), 'error'); return; }
    render(data);
  }

  // Sends a stored submission until the server answers; true when it was saved (or refused for good).
  async function send(pending) {
    for (let attempt = 0; ; attempt++) {
      let r = null;
      try {
        r = await fetch(pending.url, {method: 'POST', credentials: 'same-origin', body: new URLSearchParams(pending.body)});
      } catch (err) {
        r = null; // the server is unreachable: keep the submission and try again
      }
      if (r && r.ok) {
        const data = await r.json();
        localStorage.removeItem(pendingKey);
        showProgress(data.progress);
        status(pending.url === '/api/skip' ? 'Skipped.' : 'Saved ✓', 'ok');
        return true;
      }
      if (r && r.status >= 400 && r.status < 500) {
        let msg = 'error ' + r.status;
        try { msg = (await r.json()).error || msg; } catch (ignored) { /* not JSON */ }
        localStorage.removeItem(pendingKey);
        status('Not saved: ' + msg, 'error');
        if (r.status === 401) location.href = '/signin';
        return r.status === 409; // already judged: move on
      }
      const wait = Math.min(5, 1 + attempt);
      status('Not saved yet (server unreachable) — retrying in ' + wait + ' s…', 'error');
      await new Promise((res) => setTimeout(res, wait * 1000));
    }
  }

  function formOf(kind) {
    const body = {csrf: csrf, submission_id: current.submissionId, item: current.item};
    if (kind === 'submit') {
      body.ranking = cards().map((c) => c.dataset.index).join(',');
      for (const s of $('ranking').querySelectorAll('select')) if (s.value) body[s.name] = s.value;
    }
    return {url: kind === 'submit' ? '/api/submit' : '/api/skip', body: body};
  }

  async function finish(kind) {
    if (!current || busy) return; // a second click while sending sends nothing new
    busy = true;
    $('submit').disabled = true;
    $('skip').disabled = true;
    status(kind === 'submit' ? 'Saving…' : 'Skipping…');
    const pending = formOf(kind);
    localStorage.setItem(pendingKey, JSON.stringify(pending));
    if (await send(pending)) await load();
    else { busy = false; $('submit').disabled = false; $('skip').disabled = false; }
  }

  async function start() {
    $('submit').addEventListener('click', () => finish('submit'));
    $('skip').addEventListener('click', () => finish('skip'));
    const left = localStorage.getItem(pendingKey);
    if (left) {
      status('Sending your last submission again…');
      const pending = JSON.parse(left);
      pending.body.csrf = csrf;
      await send(pending);
    }
    await load();
  }

  start();
})();
