// Helpers shared by the console's list and detail pages (history, alert,
// cameras, watchlists, search, audit, users). Not a page: the router never
// loads it by URL. Everything here builds DOM nodes with textContent (never
// innerHTML from API strings), so a name like "<img onerror=...>" stays text.

import * as ui from '../ui.js';

// The shell's helpers (ui.js): h() builds elements with textContent only,
// fmtTime() a <time> with local text and the UTC ISO string in title,
// errorBox() a role=alert element with the API's words, emptyState() a
// sentence saying what to do next.
export const { h, fmtTime, fmtScore, emptyState, errText, errorBox } = ui;

// A modal yes/no question; the confirming button says what it does
// (default "Delete").
export function confirmDialog(text, okLabel = 'Delete') {
  return ui.confirmDialog(text, okLabel);
}

let ids = 0;
// A labelled control: <label for> + the control (given an id when it has
// none), in a wrapper div. hint: optional help text (aria-describedby).
export function field(label, control, hint) {
  if (!control.id) control.id = `f${++ids}`;
  const parts = [h('label', { for: control.id }, label), control];
  if (hint) {
    const hid = `${control.id}-hint`;
    control.setAttribute('aria-describedby', hid);
    parts.push(h('small', { id: hid, class: 'hint' }, hint));
  }
  return h('div', { class: 'field' }, parts);
}

// A <select name=...> with options [{value, label}] and the selected value.
export function select(name, options, value) {
  return h('select', { name },
    options.map((o) => h('option', { value: o.value, selected: String(o.value) === String(value ?? '') }, o.label)));
}

// The status of an alert as icon + word (data-status for styling and tests).
const STATUS = {
  pending: ['●', 'Pending'],
  confirmed: ['✔', 'Confirmed'],
  rejected: ['✖', 'Rejected'],
};
export function statusBadge(status) {
  const [icon, word] = STATUS[status] || ['?', status || 'unknown'];
  return h('span', { class: 'badge status', 'data-status': status },
    h('span', { class: 'icon', 'aria-hidden': 'true' }, icon), ` ${word}`);
}

// An image from the API (same-origin, cookie auth) with a text fallback
// when it cannot be loaded (404, gone, no rights).
export function apiImg(src, alt, fallback = 'No image') {
  if (!src) return h('div', { class: 'img-missing', role: 'img', 'aria-label': alt }, fallback);
  const img = h('img', { src, alt, loading: 'lazy', decoding: 'async' });
  img.addEventListener('error', () => {
    img.replaceWith(h('div', { class: 'img-missing', role: 'img', 'aria-label': alt }, fallback));
  }, { once: true });
  return img;
}

// The enrolment quality gate's refusal names (docs: gallery reject names)
// in words an operator understands.
const REASONS = {
  unreadable: 'not a readable JPEG or PNG image',
  'no face': 'no face was found',
  'several faces': 'several faces could be the subject — use a photo of one person',
  'too small': 'the face is too small — use a larger or closer photo',
  blurred: 'the photo is blurred',
  profile: 'the face is turned away — use a photo facing the camera',
  'low score': 'the face is unclear (the detector is not sure it is a face)',
  'no landmarks': 'the eyes, nose and mouth could not be located',
  rolled: 'the head is tilted or the photo is upside down',
  duplicate: 'this photo is already enrolled (or was given twice)',
};
export function reasonWords(r) {
  return REASONS[r] || r;
}

// Current URL's query with `params` set (empty values removed): a string
// like "?a=1" or "".
export function queryWith(base, params) {
  const q = new URLSearchParams(base);
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === '') q.delete(k);
    else q.set(k, v);
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

// <input type=datetime-local> value (local time) from an RFC 3339 string,
// and back (UTC ISO, or '' when empty).
export function isoToLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
export function localInputToIso(v) {
  if (!v) return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().replace('.000Z', 'Z');
}

// Collects every page of a list route (at most `max` items).
export async function getAll(api, path, query = {}, max = 1000) {
  const items = [];
  let cursor = null;
  do {
    const page = await api.get(path, { ...query, limit: 200, ...(cursor ? { cursor } : {}) });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}

// A button with an icon and a word.
export function button(label, attrs = {}, icon) {
  return h('button', { type: 'button', ...attrs },
    icon ? h('span', { class: 'icon', 'aria-hidden': 'true' }, `${icon} `) : null, label);
}

// Copies text to the clipboard (falls back to selecting it).
export async function copyText(text, inputEl) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (inputEl) {
      inputEl.select();
      try { return document.execCommand('copy'); } catch { return false; }
    }
    return false;
  }
}

// Labels every body cell with its column's heading (data-label), for the
// phone layout of pages.css where each row becomes a block of
// "Heading: value" lines; rows added later are labelled too.
export function stackOnPhone(table) {
  table.classList.add('stack');
  const heads = () => [...table.querySelectorAll('thead th')].map((th) => th.textContent.trim());
  const label = (tr) => {
    const names = heads();
    [...tr.children].forEach((cell, i) => {
      if (names[i] && !cell.hasAttribute('data-label') && !cell.classList.contains('row-actions')) cell.setAttribute('data-label', names[i]);
    });
  };
  const body = table.tBodies[0];
  if (!body) return table;
  for (const tr of body.rows) label(tr);
  new MutationObserver((muts) => {
    for (const m of muts) for (const n of m.addedNodes) if (n.nodeName === 'TR') label(n);
  }).observe(body, { childList: true });
  return table;
}

// An audit row's detail object in one line: "decision: confirmed, photos: 2".
export function detailText(d) {
  if (d === null || d === undefined) return '';
  if (typeof d !== 'object') return String(d);
  return Object.entries(d).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ');
}
