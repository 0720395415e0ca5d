// Live alerts (/live): the operator's feed. Pending alerts come from
// GET /api/v1/alerts?status=pending; new ones arrive on the event stream
// ('alert'), decisions of any operator ('decision') update their card.
// Alerts of watchlists with ack_required stay pinned on top until decided.
// Keyboard: J / K next / previous card, C confirm, R reject (not while
// typing in a comment; Escape leaves the comment box). A short sound and
// the tab title's count say that alerts are waiting.
//
// The data: an 'alert' event is the pipeline's alert document
// (docs/events.md: id, camera, time, media_time, track, track_start,
// watchlist, watchlist_id, person, person_id, score, threshold, photo_id,
// crop and thumb as API paths, status); a listed alert is the store's
// (crop_sha256 instead of crop). ack_required is the watchlist's flag
// (GET /api/v1/watchlists). A 'decision' event is {id, alert_id, operator,
// decision, comment, time}.
import { h, fmtTime, fmtScore, emptyState, errorBox } from '../ui.js';

export const meta = { title: 'Live alerts', roles: ['operator', 'supervisor'], nav: true };

const API = '/api/v1';
const PAGE = 200;          // pending alerts loaded at start
const KEEP_DECIDED = 50;   // decided cards kept in the feed
const SOUND_KEY = 'argus.sound';

function cropUrl(a) {
  if (typeof a.crop === 'string' && a.crop) return a.crop;
  if (a.crop_url) return a.crop_url;
  return a.crop_sha256 ? `${API}/alerts/${a.id}/crop` : null;
}

function photoUrl(a) {
  if (a.photo_url) return a.photo_url;
  return a.photo_id > 0 ? `${API}/photos/${a.photo_id}/image` : null;
}

function trackText(a) {
  const n = typeof a.media_time === 'number' && typeof a.track_start === 'number'
    ? Math.max(0, a.media_time - a.track_start) : null;
  const len = n === null ? 'length unknown' : n < 60 ? `${n.toFixed(1)} s` : `${Math.floor(n / 60)} min ${Math.round(n % 60)} s`;
  return a.track !== undefined && a.track !== null ? `${len} (track ${a.track})` : len;
}

function img(src, alt, missing) {
  if (!src) return h('div', { class: 'img-missing', role: 'img', 'aria-label': alt }, missing);
  const el = h('img', { src, alt, width: '120', height: '120', decoding: 'async' });
  el.addEventListener('error', () => {
    el.replaceWith(h('div', { class: 'img-missing', role: 'img', 'aria-label': alt }, 'Image not available'));
  }, { once: true });
  return el;
}

const CHIP = {
  pending: ['●', 'Pending'],
  confirmed: ['✔', 'Confirmed'],
  rejected: ['✖', 'Rejected'],
};

function chip(status) {
  const [icon, word] = CHIP[status] || ['?', status];
  return h('span', { class: `chip chip-${status}` }, h('span', { 'aria-hidden': 'true' }, icon), word);
}

export async function render(main, ctx) {
  const canDecide = ctx.user.role === 'operator';
  const alerts = new Map();      // id -> {a, el, decision}
  const wlById = new Map();
  const wlByName = new Map();
  let selected = null;           // id of the selected card
  let ready = false;
  const early = [];              // events that came before the first load
  const offs = [];
  let lastSound = 0;

  // ---- layout -----------------------------------------------------------
  const count = h('p', { class: 'live-count', role: 'status' });
  const err = h('div', { role: 'alert', class: 'error-box', hidden: true });
  const pinnedList = h('ul', { class: 'alert-list', 'aria-labelledby': 'pinned-h' });
  const pinned = h('section', { class: 'pinned-section', hidden: true },
    h('h2', { id: 'pinned-h' }, h('span', { 'aria-hidden': 'true' }, '⚑ '), 'Pinned until decided (acknowledgement required)'),
    pinnedList);
  const feedList = h('ul', { class: 'alert-list', 'aria-labelledby': 'feed-h' });
  const feed = h('section', { class: 'feed-section' },
    h('h2', { id: 'feed-h', class: 'visually-hidden' }, 'Alerts, newest first'), feedList);
  const empty = emptyState('No alerts are waiting. New alerts appear here by themselves as the cameras raise them — keep this page open.',
    h('a', { href: '/alerts', class: 'button' }, 'See the alert history'));
  const more = h('p', { class: 'muted', hidden: true });

  const soundBtn = h('button', { type: 'button', 'aria-pressed': 'true' });
  const notifyBtn = h('button', { type: 'button', 'data-action': 'notify' });
  const tools = h('div', { class: 'live-tools' }, soundBtn, notifyBtn);
  main.append(
    h('div', { class: 'live-head' }, h('h1', {}, 'Live alerts'), tools),
    count,
    h('details', { class: 'shortcuts' },
      h('summary', {}, 'Keyboard shortcuts'),
      h('ul', {},
        h('li', {}, h('kbd', {}, 'J'), ' / ', h('kbd', {}, 'K'), ' next / previous alert'),
        canDecide ? h('li', {}, h('kbd', {}, 'C'), ' confirm, ', h('kbd', {}, 'R'), ' reject the selected alert (with its comment)') : null,
        h('li', {}, h('kbd', {}, 'Esc'), ' leave the comment box'),
        h('li', {}, h('kbd', {}, 'Enter'), ' open the selected alert'))),
    err, pinned, feed, empty, more);

  // ---- sound --------------------------------------------------------------
  const audio = new Audio('/sounds/alert.wav');
  audio.preload = 'auto';
  let soundOn = true;
  try { soundOn = localStorage.getItem(SOUND_KEY) !== 'off'; } catch { /* default on */ }
  const showSound = () => {
    soundBtn.setAttribute('aria-pressed', String(soundOn));
    soundBtn.replaceChildren(h('span', { 'aria-hidden': 'true' }, soundOn ? '♪ ' : '✕ '), soundOn ? 'Sound on' : 'Sound off');
    soundBtn.title = soundOn ? 'A short sound plays for each new alert; click to mute' : 'Muted; click to play a sound for new alerts';
  };
  soundBtn.addEventListener('click', () => {
    soundOn = !soundOn;
    try { localStorage.setItem(SOUND_KEY, soundOn ? 'on' : 'off'); } catch { /* not kept */ }
    showSound();
    if (soundOn) { audio.currentTime = 0; audio.play().catch(() => {}); }
  });
  showSound();
  function beep() {
    const now = Date.now();
    if (!soundOn || now - lastSound < 1500) return;
    lastSound = now;
    audio.currentTime = 0;
    audio.play().catch(() => { /* the browser waits for a first click on the page */ });
  }

  // ---- notifications --------------------------------------------------------
  function showNotify() {
    if (!('Notification' in window)) {
      notifyBtn.hidden = true;
      return;
    }
    const p = Notification.permission;
    notifyBtn.disabled = p !== 'default';
    notifyBtn.replaceChildren(h('span', { 'aria-hidden': 'true' }, p === 'granted' ? '✔ ' : p === 'denied' ? '✖ ' : '✉ '),
      p === 'granted' ? 'Notifications on' : p === 'denied' ? 'Notifications blocked' : 'Notify me');
    notifyBtn.title = p === 'granted' ? 'A system notification appears for each new alert while the console is open'
      : p === 'denied' ? 'Notifications are blocked for this site in the browser settings'
        : 'Show a system notification for each new alert while the console is open';
  }
  notifyBtn.addEventListener('click', async () => {
    try {
      const p = await Notification.requestPermission();
      ctx.toast(p === 'granted' ? 'Notifications on: each new alert raises one while the console is open.'
        : 'Notifications were not allowed.', p === 'granted' ? 'ok' : 'info');
    } catch (e) { ctx.toast(e.message, 'error'); }
    showNotify();
  });
  showNotify();

  // ---- watchlists ---------------------------------------------------------
  async function loadWatchlists() {
    try {
      const res = await ctx.api.get('/watchlists', { limit: 1000 });
      wlById.clear();
      wlByName.clear();
      for (const w of res.items || []) {
        wlById.set(w.id, w);
        wlByName.set(w.name, w);
      }
    } catch { /* pinning falls back to "not required" */ }
  }
  function ackRequired(a) {
    const w = (a.watchlist_id && wlById.get(a.watchlist_id)) || wlByName.get(a.watchlist);
    return !!(w && w.ack_required);
  }

  // ---- cards --------------------------------------------------------------
  function fill(rec) {
    const { a, el } = rec;
    const hid = `alert-${a.id}-h`;
    const isPinned = a.status === 'pending' && ackRequired(a);
    rec.pinned = isPinned;
    el.dataset.status = a.status;
    el.classList.toggle('pinned', isPinned);
    el.setAttribute('aria-labelledby', hid);
    const parts = [
      h('div', { class: 'card-head' },
        h('h2', { id: hid }, a.person || 'Unknown person'),
        isPinned ? h('span', { class: 'chip chip-pinned' }, h('span', { 'aria-hidden': 'true' }, '⚑'), 'Acknowledge') : null,
        chip(a.status)),
      h('div', { class: 'card-faces' },
        h('figure', {}, img(cropUrl(a), `Face seen by camera ${a.camera} (alert ${a.id})`, 'No capture'),
          h('figcaption', {}, 'Camera capture')),
        h('figure', {}, img(photoUrl(a), `Enrolled photo of ${a.person || 'the person'}`, 'No enrolled photo'),
          h('figcaption', {}, 'Enrolled'))),
      h('dl', { class: 'card-facts' },
        h('dt', {}, 'Watchlist'), h('dd', {}, a.watchlist || '—'),
        h('dt', {}, 'Score'), h('dd', {}, fmtScore(a.score, a.threshold)),
        h('dt', {}, 'Camera'), h('dd', {}, a.camera || '—'),
        h('dt', {}, 'Time'), h('dd', {}, fmtTime(a.time, { short: true })),
        h('dt', {}, 'Track'), h('dd', {}, trackText(a))),
    ];
    const details = h('a', { href: `/alerts/${a.id}` }, 'Details', h('span', { class: 'visually-hidden' }, ` of alert ${a.id}`));
    if (a.status === 'pending' && canDecide) {
      const tid = `alert-${a.id}-comment`;
      const box = h('div', { class: 'card-error', role: 'alert', hidden: true });
      parts.push(h('form', { class: 'card-decide', 'aria-label': `Decide alert ${a.id}`, onsubmit: (e) => e.preventDefault() },
        h('label', { for: tid }, 'Comment ', h('span', { class: 'muted' }, '(optional)')),
        h('textarea', { id: tid, name: 'comment', rows: '2', maxlength: '2000', placeholder: 'What you saw, what you did' }),
        box,
        h('div', { class: 'card-actions' },
          h('button', { type: 'button', 'data-action': 'confirm', onclick: () => decide(a.id, 'confirmed') },
            h('span', { 'aria-hidden': 'true' }, '✔'), 'Confirm', h('kbd', { class: 'kbd-hint', 'aria-hidden': 'true' }, 'C')),
          h('button', { type: 'button', 'data-action': 'reject', onclick: () => decide(a.id, 'rejected') },
            h('span', { 'aria-hidden': 'true' }, '✖'), 'Reject', h('kbd', { class: 'kbd-hint', 'aria-hidden': 'true' }, 'R')),
          details)));
    } else if (a.status === 'pending') {
      parts.push(h('p', { class: 'outcome' }, 'Waiting for an operator’s decision. ', details));
    } else {
      const d = rec.decision;
      parts.push(h('p', { class: 'outcome', 'data-decision': a.status },
        h('span', { 'aria-hidden': 'true' }, a.status === 'confirmed' ? '✔ ' : '✖ '),
        a.status === 'confirmed' ? 'Confirmed' : 'Rejected',
        d ? [' by ', h('strong', {}, d.operator), ' at ', fmtTime(d.time, { short: true }),
          d.comment ? ` — “${d.comment}”` : ''] : '',
        ' · ', details));
    }
    el.replaceChildren(...parts);
  }

  // Puts the card's <li> in its list, newest (highest id) first.
  function place(rec) {
    const list = rec.pinned ? pinnedList : feedList;
    let li = rec.el.parentElement;
    if (!li || li.tagName !== 'LI') li = h('li', {}, rec.el);
    let before = null;
    for (const other of list.children) {
      if (other === li) continue;
      const oid = Number(other.firstElementChild && other.firstElementChild.dataset.alertId);
      if (oid < rec.a.id) { before = other; break; }
    }
    if (li.parentElement !== list || li.nextElementSibling !== before) list.insertBefore(li, before);
  }

  function refreshCounts() {
    let pending = 0;
    for (const r of alerts.values()) if (r.a.status === 'pending') pending++;
    count.textContent = pending === 0 ? 'No alert is waiting for a decision.'
      : pending === 1 ? '1 alert is waiting for a decision.' : `${pending} alerts are waiting for a decision.`;
    ctx.setTitle(pending ? `(${pending}) Live alerts` : 'Live alerts');
    pinned.hidden = pinnedList.children.length === 0;
    empty.hidden = alerts.size > 0;
  }

  function trim() {
    const decided = [...alerts.values()].filter((r) => r.a.status !== 'pending').sort((x, y) => y.a.id - x.a.id);
    for (const r of decided.slice(KEEP_DECIDED)) {
      if (selected === r.a.id) selected = null;
      (r.el.parentElement || r.el).remove();
      alerts.delete(r.a.id);
    }
  }

  function add(a, live) {
    if (!a || typeof a.id !== 'number' || alerts.has(a.id)) return;
    const el = h('article', { class: 'alert-card', 'data-alert-id': a.id, 'data-status': a.status || 'pending', tabindex: '-1' });
    const rec = { a: { ...a, status: a.status || 'pending' }, el, decision: null, pinned: false };
    alerts.set(a.id, rec);
    fill(rec);
    place(rec);
    if (live) {
      el.classList.add('is-new');
      setTimeout(() => el.classList.remove('is-new'), 2000);
    }
  }

  function applyDecision(d) {
    const rec = d && alerts.get(Number(d.alert_id));
    if (!rec) return;
    if (rec.a.status !== 'pending' && rec.decision && rec.decision.id === d.id) return;
    const hadFocus = rec.el.contains(document.activeElement);
    rec.a.status = d.decision;
    rec.decision = d;
    fill(rec);
    place(rec);
    if (hadFocus) rec.el.focus({ preventScroll: true });
  }

  // ---- deciding --------------------------------------------------------------
  async function decide(id, decision) {
    const rec = alerts.get(id);
    if (!rec || rec.a.status !== 'pending' || !canDecide || rec.busy) return false;
    const ta = rec.el.querySelector('textarea[name="comment"]');
    const box = rec.el.querySelector('.card-error');
    const comment = ta ? ta.value.trim() : '';
    rec.busy = true;
    for (const b of rec.el.querySelectorAll('button[data-action]')) b.disabled = true;
    try {
      const d = await ctx.api.post(`/alerts/${id}/decision`, { decision, comment: comment || null });
      applyDecision(d);
      ctx.toast(`Alert ${id} ${decision}.`, 'ok');
      refreshCounts();
      return true;
    } catch (e) {
      if (e.status === 409 && e.body && e.body.decision) {
        // Four-eyes: the same operator confirming again gets 409 with their
        // own confirmation while the alert stays pending.
        let pending = false;
        if (e.body.decision.decision === 'confirmed') {
          try { pending = (await ctx.api.get(`/alerts/${id}`)).status === 'pending'; } catch { /* as decided */ }
        }
        if (pending) {
          if (box) errorBox(e, box);
          else ctx.toast(e.body.message || 'A second, different operator must confirm it.', 'error');
          for (const b of rec.el.querySelectorAll('button[data-action]')) b.disabled = false;
          return false;
        }
        applyDecision(e.body.decision);
        ctx.toast(`Alert ${id} was already ${e.body.decision.decision} by ${e.body.decision.operator}.`, 'info');
        refreshCounts();
        return true;
      }
      if (box) errorBox(e, box);
      for (const b of rec.el.querySelectorAll('button[data-action]')) b.disabled = false;
      return false;
    } finally {
      rec.busy = false;
    }
  }

  // ---- selection and keys ------------------------------------------------------
  function cards() { return [...main.querySelectorAll('.alert-card')]; }
  function select(el, focus = true) {
    for (const c of main.querySelectorAll('.alert-card.selected')) c.classList.remove('selected');
    if (!el) { selected = null; return; }
    selected = Number(el.dataset.alertId);
    el.classList.add('selected');
    if (focus && !el.contains(document.activeElement)) el.focus({ preventScroll: true });
    el.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }
  function move(step) {
    const list = cards();
    if (!list.length) return;
    const i = list.findIndex((c) => Number(c.dataset.alertId) === selected);
    const j = i < 0 ? (step > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, i + step));
    select(list[j]);
  }
  async function decideSelected(decision) {
    if (selected === null) { move(1); return; }
    const list = cards();
    const i = list.findIndex((c) => Number(c.dataset.alertId) === selected);
    const next = list.slice(i + 1).find((c) => c.dataset.status === 'pending')
      || list.slice(0, Math.max(0, i)).reverse().find((c) => c.dataset.status === 'pending');
    if (await decide(selected, decision) && next && next.isConnected) select(next);
  }
  function onKey(e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (document.querySelector('dialog[open]')) return;
    if (t && t.closest && t.closest('input, textarea, select, [contenteditable]')) {
      if (e.key === 'Escape' && t.tagName === 'TEXTAREA') {
        const c = t.closest('.alert-card');
        if (c) { e.preventDefault(); c.focus({ preventScroll: true }); select(c, false); }
      }
      return;
    }
    const k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    if (k === 'j') move(1);
    else if (k === 'k') move(-1);
    else if (k === 'c' && canDecide) decideSelected('confirmed');
    else if (k === 'r' && canDecide) decideSelected('rejected');
    else if (k === 'Enter' && selected !== null && t && t.classList && t.classList.contains('alert-card')) ctx.navigate(`/alerts/${selected}`);
    else return;
    e.preventDefault();
  }
  document.addEventListener('keydown', onKey);
  main.addEventListener('focusin', (e) => {
    const c = e.target.closest && e.target.closest('.alert-card');
    if (c && Number(c.dataset.alertId) !== selected) select(c, false);
  });
  main.addEventListener('click', (e) => {
    const c = e.target.closest && e.target.closest('.alert-card');
    if (c && !e.target.closest('a, button, textarea') && Number(c.dataset.alertId) !== selected) select(c);
  });

  // ---- events -------------------------------------------------------------
  function onAlert(a) {
    if (!ready) { early.push(['alert', a]); return; }
    if (alerts.has(a.id)) return;
    add(a, true);
    trim();
    refreshCounts();
    beep();
  }
  function onDecision(d) {
    if (!ready) { early.push(['decision', d]); return; }
    applyDecision(d);
    refreshCounts();
  }
  offs.push(ctx.events.on('alert', onAlert));
  offs.push(ctx.events.on('decision', onDecision));
  offs.push(ctx.events.on('watchlist.change', async () => {
    await loadWatchlists();
    for (const r of alerts.values()) {
      const was = r.pinned;
      if (was !== (r.a.status === 'pending' && ackRequired(r.a))) {
        const hadFocus = r.el.contains(document.activeElement);
        fill(r); place(r);
        if (hadFocus) r.el.focus({ preventScroll: true });
      }
    }
    refreshCounts();
  }));

  // ---- first load -------------------------------------------------------------
  count.textContent = 'Loading the pending alerts…';
  const [, list] = await Promise.all([
    loadWatchlists(),
    ctx.api.get('/alerts', { status: 'pending', limit: PAGE }).catch((e) => { errorBox(e, err); return null; }),
  ]);
  if (list) {
    for (const a of list.items || []) add(a, false);
    if (list.next_cursor) {
      more.hidden = false;
      more.replaceChildren(`Showing the newest ${PAGE} pending alerts. Older pending alerts are in the `,
        h('a', { href: '/alerts?status=pending' }, 'alert history'), '.');
    }
  }
  ready = true;
  for (const [type, data] of early.splice(0)) (type === 'alert' ? onAlert : onDecision)(data);
  refreshCounts();

  return () => {
    for (const off of offs) off();
    document.removeEventListener('keydown', onKey);
    audio.pause();
  };
}
