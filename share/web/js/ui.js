// Small DOM helpers shared by the console's shell and pages. Nothing here
// uses innerHTML: text from the API always goes in as text nodes, so a name
// like "<img onerror=...>" stays a name.

// h(tag, attrs, ...children): an element.
// attrs: 'class' (or className), 'on<event>' functions (listeners), true (an
// empty attribute), false/null/undefined (left out), 'value', 'checked',
// 'selected', 'disabled', 'hidden' set as properties, 'dataset' an object of
// data-* values; everything else with setAttribute.
// children: nodes, strings/numbers (text), arrays; null/undefined/false are
// skipped.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' || k === 'checked' || k === 'selected' || k === 'disabled' || k === 'hidden') el[k] = v;
    else el.setAttribute(k === 'className' ? 'class' : k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

function toDate(t) {
  if (t === null || t === undefined || t === '') return null;
  const d = typeof t === 'number' ? new Date(t * 1000) : new Date(t);
  return Number.isNaN(d.getTime()) ? null : d;
}

// fmtTime(iso | unixSeconds, opts?): a <time> element, local date and time
// as text, the UTC ISO string in title and datetime. opts.short: time only
// when it is today. Unknown times give a "—" span.
export function fmtTime(t, opts = {}) {
  const d = toDate(t);
  if (!d) return h('span', { class: 'time-unknown' }, t ? String(t) : '—');
  const utc = d.toISOString();
  const today = new Date().toDateString() === d.toDateString();
  const text = opts.short && today
    ? d.toLocaleTimeString(undefined, { timeStyle: 'medium' })
    : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
  return h('time', { datetime: utc, title: `${utc} (UTC)` }, text);
}

// fmtScore(score, threshold): a <span class="score"> with the score against
// the threshold in words ("0.612 ≥ 0.450 threshold — match"), so the verdict
// is never colour alone. data-match="yes|no|unknown" for styling.
export function fmtScore(score, threshold) {
  if (typeof score !== 'number') return h('span', { class: 'score', 'data-match': 'unknown' }, '—');
  const s = score.toFixed(3);
  if (typeof threshold !== 'number') {
    return h('span', { class: 'score', 'data-match': 'unknown' }, `${s} (threshold unknown)`);
  }
  const over = score >= threshold;
  return h('span', { class: 'score', 'data-match': over ? 'yes' : 'no' },
    h('strong', {}, s), ` ${over ? '≥' : '<'} ${threshold.toFixed(3)} threshold`,
    over ? ` (+${(score - threshold).toFixed(3)})` : ' — below');
}

// An empty-state block: a sentence saying what to do next, and an optional
// action element (a link or a button).
export function emptyState(text, action) {
  return h('div', { class: 'empty-state' }, h('p', {}, text), action || null);
}

// The words of an error (an ApiError's message is the API's own).
export function errText(err) {
  if (!err) return 'Something went wrong.';
  if (typeof err === 'string') return err;
  return err.message || String(err);
}

// errorBox(err, box?): an element with role=alert showing the error in
// words; replaces the content of `box` when given.
export function errorBox(err, box) {
  const el = box || h('div');
  el.className = 'error-box';
  el.setAttribute('role', 'alert');
  el.replaceChildren(h('span', { class: 'icon', 'aria-hidden': 'true' }, '⚠ '), errText(err));
  el.hidden = false;
  return el;
}

// confirmDialog(text, okLabel='OK'): a modal question in a <dialog>;
// resolves true when the user confirms, false on Cancel or Escape.
export function confirmDialog(text, okLabel = 'OK') {
  return new Promise((resolve) => {
    const d = h('dialog', { class: 'confirm-dialog', 'aria-label': 'Confirm' },
      h('form', { method: 'dialog' },
        h('p', {}, text),
        h('div', { class: 'actions' },
          h('button', { type: 'submit', value: 'cancel', autofocus: true }, 'Cancel'),
          h('button', { type: 'submit', value: 'ok', class: 'danger' }, okLabel))));
    d.addEventListener('close', () => { resolve(d.returnValue === 'ok'); d.remove(); });
    document.body.append(d);
    d.showModal();
  });
}

// toast(text, kind='info'|'ok'|'error'): a short message in the corner,
// read by screen readers (role=status, or alert for errors); it goes away
// after a few seconds or when clicked.
export function toast(text, kind = 'info') {
  let box = document.getElementById('toasts');
  if (!box) {
    box = h('div', { id: 'toasts', class: 'toasts' });
    document.body.append(box);
  }
  const icon = kind === 'error' ? '⚠' : kind === 'ok' ? '✔' : 'ℹ';
  const t = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    h('span', { class: 'icon', 'aria-hidden': 'true' }, `${icon} `), errText(text));
  const close = () => t.remove();
  t.addEventListener('click', close);
  box.append(t);
  while (box.children.length > 3) box.firstElementChild.remove(); // the newest three
  setTimeout(close, kind === 'error' ? 8000 : 4000);
  return t;
}
