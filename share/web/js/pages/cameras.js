// Cameras (/cameras, admin): a grid of snapshots with each camera's live
// status (streaming / reconnecting / error with its message, frames per
// second in and analysed, drops), from 'camera.status' events and a
// periodic GET /cameras; add, edit (URL, settings), enable/disable, remove.
// The server validates URLs and settings; its message is shown as it is.
import {
  h, errorBox, emptyState, field, select, fmtTime, confirmDialog, button, errText,
} from './_shared.js';

export const meta = { title: 'Cameras', roles: ['admin'], nav: true };

const POLL_MS = 5000; // status
// Snapshots: each one is audited by the server (it shows faces), so they
// are taken at most this often per camera, and only while the tab is seen.
const SNAP_MS = 10000;

// The status object of GET /cameras ("status") or a camera.status event, as
// {icon, word, detail, kind}.
function describe(cam, st) {
  if (!st) {
    return cam.enabled
      ? { kind: 'idle', icon: '…', word: 'Not running yet', detail: 'the pipeline starts it shortly' }
      : { kind: 'off', icon: '■', word: 'Disabled', detail: 'enable it to start analysing' };
  }
  const error = st.error || st.last_error || '';
  switch (st.state) {
    case 'streaming':
      return { kind: 'ok', icon: '▶', word: 'Streaming', detail: '' };
    case 'connecting':
      return { kind: 'wait', icon: '…', word: 'Connecting', detail: '' };
    case 'waiting':
      return {
        kind: 'warn', icon: '↻', word: 'Reconnecting',
        detail: [error, typeof st.retry_in === 'number' ? `next try in ${Math.ceil(st.retry_in)} s` : ''].filter(Boolean).join(' — '),
      };
    case 'failed':
      return { kind: 'error', icon: '✖', word: 'Error', detail: error || 'the camera failed and is not retried' };
    case 'finished':
      return { kind: 'off', icon: '■', word: 'Finished', detail: 'the video file ended' };
    case 'stopped':
      return { kind: 'off', icon: '■', word: 'Stopped', detail: '' };
    default:
      return { kind: 'wait', icon: '?', word: st.state || 'Unknown', detail: error };
  }
}

function num(v, digits = 1) {
  return typeof v === 'number' ? v.toFixed(digits) : '—';
}

export async function render(main, ctx) {
  let alive = true;
  const cams = new Map(); // id -> {cam, el, parts, url (object URL)}
  const err = h('div', { role: 'alert', class: 'error-box', hidden: true });
  const grid = h('ul', { class: 'camera-grid', 'data-list': 'cameras' });
  const empty = h('div', { hidden: true });
  const addBtn = button('Add camera', { class: 'primary', 'data-action': 'add' }, '+');
  const formSlot = h('div');

  main.append(h('div', { class: 'page-head' }, h('h1', {}, 'Cameras'), addBtn), err, formSlot, grid, empty);

  // ---- the add / edit form ------------------------------------------------
  function openForm(cam) {
    const ferr = h('div', { role: 'alert', class: 'error-box', hidden: true });
    const cur = (cam && cam.settings) || {};
    const form = h('form', { class: 'card camera-form', 'aria-labelledby': 'camform-h' },
      h('h2', { id: 'camform-h' }, cam ? `Edit camera ${cam.name}` : 'Add a camera'),
      field('Name', h('input', { name: 'name', required: true, maxlength: 127, value: cam ? cam.name : '', readonly: !!cam, autocomplete: 'off' }),
        cam ? 'A camera cannot be renamed: remove it and add it again.' : 'Shown on alerts, e.g. "gate-3".'),
      field('Video URL', h('input', { name: 'url', required: !cam, value: '', placeholder: cam ? cam.url : 'rtsp://user:pass@10.0.0.5/stream1', autocomplete: 'off', spellcheck: 'false' }),
        cam ? 'Leave empty to keep the current URL (its password is not shown).' : 'rtsp://, rtsps://, http(s)://, /dev/videoN, or an absolute file path.'),
      h('fieldset', { class: 'settings' },
        h('legend', {}, 'Settings (optional)'),
        field('Analysed frames per second', h('input', { name: 'fps', type: 'number', min: 0.1, max: 1000, step: 'any', value: typeof cur.fps === 'number' ? String(cur.fps) : '', placeholder: 'server default' }),
          'Empty: the server\'s --fps (5 unless set).'),
        field('RTSP transport', select('rtsp_transport', [
          { value: '', label: 'Default (TCP)' }, { value: 'tcp', label: 'TCP' }, { value: 'udp', label: 'UDP' },
        ], cur.rtsp_transport || ''))),
      cam ? null : h('div', { class: 'field check' },
        h('input', { type: 'checkbox', name: 'enabled', id: 'cam-enabled', checked: true }),
        h('label', { for: 'cam-enabled' }, 'Start it now (enabled)')),
      ferr,
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary' }, cam ? 'Save' : 'Add camera'),
        h('button', { type: 'button', onclick: () => formSlot.replaceChildren() }, 'Cancel')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      ferr.hidden = true;
      const fd = new FormData(form);
      const body = {};
      const url = String(fd.get('url') || '').trim();
      // settings: the members the server knows (fps, rtsp_transport);
      // others already stored are kept.
      const settings = { ...cur };
      delete settings.fps;
      delete settings.rtsp_transport;
      const fps = String(fd.get('fps') || '').trim();
      if (fps) settings.fps = Number(fps);
      const tr = String(fd.get('rtsp_transport') || '');
      if (tr) settings.rtsp_transport = tr;
      const empty = Object.keys(settings).length === 0;
      if (!cam) {
        if (!empty) body.settings = settings;
      } else if (JSON.stringify(settings) !== JSON.stringify(cur)) {
        body.settings = empty ? null : settings;
      }
      if (cam) {
        if (url) body.url = url;
        if (!Object.keys(body).length) { formSlot.replaceChildren(); return; }
      } else {
        body.name = String(fd.get('name') || '').trim();
        body.url = url;
        body.enabled = fd.get('enabled') === 'on';
      }
      const submit = form.querySelector('button[type=submit]');
      submit.disabled = true;
      try {
        const saved = cam ? await ctx.api.patch(`/cameras/${cam.id}`, body) : await ctx.api.post('/cameras', body);
        formSlot.replaceChildren();
        upsert(saved);
        if (ctx.toast) ctx.toast(cam ? `Camera ${saved.name} saved.` : `Camera ${saved.name} added.`, 'ok');
      } catch (ex) {
        errorBox(ex, ferr);
      } finally {
        submit.disabled = false;
      }
    });
    formSlot.replaceChildren(form);
    form.querySelector(cam ? 'input[name=url]' : 'input[name=name]').focus();
  }
  addBtn.addEventListener('click', () => openForm(null));

  // ---- one camera's card ----------------------------------------------------
  function card(cam) {
    const pic = h('div', { class: 'snapshot' }, h('div', { class: 'img-missing' }, 'Loading picture…'));
    const status = h('p', { class: 'cam-status', 'aria-live': 'polite' });
    const stats = h('p', { class: 'cam-stats' });
    const toggle = button('', { 'data-action': 'toggle' });
    const el = h('li', { class: 'camera-card card', 'data-id': cam.id },
      pic,
      h('div', { class: 'cam-body' },
        h('h2', {}, cam.name),
        h('p', { class: 'cam-url muted', title: cam.url }, cam.url),
        status, stats,
        h('div', { class: 'actions' },
          toggle,
          button('Edit', { 'data-action': 'edit', onclick: () => openForm(cams.get(cam.id).cam) }, '✎'),
          button('Remove', { 'data-action': 'remove', class: 'danger', onclick: () => remove(cams.get(cam.id).cam) }, '✖'))));
    toggle.addEventListener('click', () => setEnabled(cams.get(cam.id).cam));
    return { cam, el, pic, status, stats, toggle, live: cam.status, objUrl: null, loading: false, note: '' };
  }

  function paint(entry) {
    const { cam } = entry;
    const d = describe(cam, entry.live);
    entry.el.dataset.state = entry.live ? entry.live.state : (cam.enabled ? 'idle' : 'disabled');
    entry.el.dataset.enabled = cam.enabled ? 'true' : 'false';
    entry.status.replaceChildren(
      h('span', { class: `badge state-${d.kind}` }, h('span', { class: 'icon', 'aria-hidden': 'true' }, `${d.icon} `), d.word),
      d.detail ? h('span', { class: 'state-detail' }, ` ${d.detail}`) : '');
    const st = entry.live;
    entry.stats.replaceChildren(st
      ? `${num(st.fps_in)} fps in · ${num(st.fps_analysed)} analysed · ${st.frames_dropped ?? 0} dropped`
        + (typeof st.faces === 'number' ? ` · ${st.faces} faces` : '') + (typeof st.alerts === 'number' ? ` · ${st.alerts} alerts` : '')
      : '');
    entry.toggle.replaceChildren(h('span', { class: 'icon', 'aria-hidden': 'true' }, cam.enabled ? '■ ' : '▶ '), cam.enabled ? 'Disable' : 'Enable');
    entry.toggle.setAttribute('aria-label', `${cam.enabled ? 'Disable' : 'Enable'} camera ${cam.name}`);
  }

  function upsert(cam) {
    let entry = cams.get(cam.id);
    if (!entry) {
      entry = card(cam);
      cams.set(cam.id, entry);
      grid.append(entry.el);
    } else {
      entry.cam = cam;
      entry.live = cam.status;
      entry.el.querySelector('.cam-url').textContent = cam.url;
      entry.el.querySelector('.cam-url').title = cam.url;
    }
    paint(entry);
    showEmpty();
    snapshot(entry);
  }

  function drop(id) {
    const entry = cams.get(id);
    if (!entry) return;
    if (entry.objUrl) URL.revokeObjectURL(entry.objUrl);
    entry.el.remove();
    cams.delete(id);
    showEmpty();
  }

  function showEmpty() {
    empty.hidden = cams.size > 0;
    grid.hidden = cams.size === 0;
    if (!cams.size) {
      empty.replaceChildren(emptyState('No camera yet. Add one with its video URL (RTSP, HTTP, a V4L2 device or a video file) and the pipeline starts analysing it at once.',
        button('Add camera', { class: 'primary', onclick: () => openForm(null) }, '+')));
    }
  }

  async function setEnabled(cam) {
    try {
      const saved = await ctx.api.post(`/cameras/${cam.id}/${cam.enabled ? 'disable' : 'enable'}`, {});
      upsert(saved);
    } catch (ex) {
      errorBox(ex, err);
    }
  }

  async function remove(cam) {
    if (!(await confirmDialog(`Remove camera ${cam.name}? Its alerts stay in the history.`, 'Remove'))) return;
    try {
      await ctx.api.del(`/cameras/${cam.id}`);
      drop(cam.id);
      if (ctx.toast) ctx.toast(`Camera ${cam.name} removed.`, 'ok');
    } catch (ex) {
      errorBox(ex, err);
    }
  }

  // ---- snapshots: fetched (to read the 409's words), shown as blobs -------
  async function snapshot(entry) {
    if (!alive || entry.loading || document.hidden) return;
    const { cam } = entry;
    const running = entry.live && entry.live.state === 'streaming';
    if (!running) {
      const d = describe(cam, entry.live);
      setPlaceholder(entry, `No picture: ${d.word.toLowerCase()}.`);
      return;
    }
    if (entry.lastSnap && Date.now() - entry.lastSnap < SNAP_MS - 500) return;
    entry.lastSnap = Date.now();
    entry.loading = true;
    try {
      const res = await fetch(`/api/v1/cameras/${cam.id}/snapshot?width=480`, { credentials: 'same-origin', cache: 'no-store' });
      if (!alive) return;
      if (!res.ok) {
        let msg = `HTTP ${res.status}`;
        try { msg = (await res.json()).message || msg; } catch { /* not JSON */ }
        setPlaceholder(entry, res.status === 409 ? `Not streaming: ${msg}` : `No picture: ${msg}`);
        return;
      }
      const blob = await res.blob();
      if (!alive) return;
      const url = URL.createObjectURL(blob);
      const img = h('img', { src: url, alt: `Current picture of camera ${cam.name}`, width: 480, height: 270 });
      img.addEventListener('load', () => {
        if (entry.objUrl) URL.revokeObjectURL(entry.objUrl);
        entry.objUrl = url;
        entry.pic.replaceChildren(img, h('span', { class: 'snap-time' }, 'updated ', fmtTime(new Date().toISOString())));
      }, { once: true });
    } catch (ex) {
      setPlaceholder(entry, `No picture: ${errText(ex)}`);
    } finally {
      entry.loading = false;
    }
  }

  function setPlaceholder(entry, text) {
    if (entry.note === text && !entry.objUrl) return;
    if (entry.objUrl) { URL.revokeObjectURL(entry.objUrl); entry.objUrl = null; }
    entry.lastSnap = 0;
    entry.note = text;
    entry.pic.replaceChildren(h('div', { class: 'img-missing', role: 'img', 'aria-label': text }, text));
  }

  // ---- data -----------------------------------------------------------------
  async function refresh() {
    try {
      const items = [];
      let cursor = null;
      do {
        const page = await ctx.api.get('/cameras', { limit: 200, ...(cursor ? { cursor } : {}) });
        items.push(...page.items);
        cursor = page.next_cursor;
      } while (cursor);
      if (!alive) return;
      err.hidden = true;
      const seen = new Set();
      for (const c of items) { seen.add(c.id); upsert(c); }
      for (const id of [...cams.keys()]) if (!seen.has(id)) drop(id);
      showEmpty();
    } catch (ex) {
      if (alive) errorBox(ex, err);
    }
  }

  const off = ctx.events ? ctx.events.on('camera.status', (s) => {
    // The event names the camera (its name), not its id.
    for (const entry of cams.values()) {
      if (entry.cam.name !== s.camera) continue;
      entry.live = { ...(entry.live || {}), ...s, error: s.last_error || null };
      paint(entry);
      snapshot(entry);
    }
  }) : null;

  await refresh();
  const timer = setInterval(refresh, POLL_MS);
  const onVis = () => { if (!document.hidden) refresh(); };
  document.addEventListener('visibilitychange', onVis);

  return () => {
    alive = false;
    clearInterval(timer);
    document.removeEventListener('visibilitychange', onVis);
    if (typeof off === 'function') off();
    for (const entry of cams.values()) if (entry.objUrl) URL.revokeObjectURL(entry.objUrl);
  };
}
