// Cameras (/cameras, admin): a grid of snapshots with each camera's live
// status (streaming / reconnecting / error with its message, frames per
// second in and analysed, drops), from 'camera.status' events and a
// periodic GET /cameras; add, edit (URL, settings), enable/disable, remove.
// The server validates URLs and settings; its message is shown as it is.
// Each camera's recognition policy (docs/lawful-use.md, the "policy" member
// of its settings: mode, time windows, privacy masks, legal reference) is
// shown on its card with the mode of the last frame and what the policy
// held back; an admin edits it (PATCH /cameras/{id} with the settings),
// drawing masks on the camera's picture or typing their points. Supervisors
// and operators see cameras and policies read-only.
import {
  h, errorBox, emptyState, field, select, fmtTime, confirmDialog, button, errText,
  isoToLocalInput, localInputToIso,
} from './_shared.js';

export const meta = { title: 'Cameras', roles: ['admin', 'supervisor', 'operator'], nav: true };

const MODES = {
  match: 'Match: detect, track and search the watchlists',
  detect: 'Detect only: count faces, never compute a template or search',
  off: 'Off: do not analyse the frames at all',
};
const MODE_ICON = { match: '◉', detect: '◌', off: '⊘' };
const SVG = 'http://www.w3.org/2000/svg';

// The "policy" member of a camera's settings, or the default (match).
function policyOf(cam) {
  const p = cam && cam.settings && cam.settings.policy;
  return p && typeof p === 'object' ? p : { mode: 'match' };
}

function modeBadge(mode, prefix = '') {
  const m = mode || 'match';
  return h('span', { class: `badge policy-mode mode-${m}`, 'data-mode': m },
    h('span', { class: 'icon', 'aria-hidden': 'true' }, `${MODE_ICON[m] || '?'} `), `${prefix}${m}`);
}

// A mask's points as the text form "x,y x,y x,y".
const maskText = (pts) => (Array.isArray(pts) ? pts.map((pt) => `${pt[0]},${pt[1]}`).join(' ') : '');

// "x,y x,y ..." into [[x, y], ...]; throws with the words when a pair is not
// two numbers (the count of points is the server's to judge).
function parseMask(text, n) {
  const pairs = text.trim().split(/\s+/).filter(Boolean);
  return pairs.map((pair) => {
    const m = /^(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)$/.exec(pair);
    if (!m) throw new Error(`Mask ${n}: "${pair}" is not a point x,y (two numbers, e.g. 120,40).`);
    return [Number(m[1]), Number(m[2])];
  });
}

function windowText(w) {
  const when = w.every === 'day' ? `every day ${w.from}–${w.to} UTC`
    : `${new Date(w.from).toLocaleString()} – ${new Date(w.to).toLocaleString()} (local time)`;
  return `${when}: ${w.mode}`;
}

// The read-only facts of a policy.
function policyFacts(p) {
  const windows = Array.isArray(p.windows) ? p.windows : [];
  const masks = Array.isArray(p.masks) ? p.masks : [];
  return h('dl', { class: 'facts', 'data-policy-facts': '' },
    h('dt', {}, 'Mode'), h('dd', {}, modeBadge(p.mode), ' ', h('span', { class: 'muted' }, MODES[p.mode || 'match'] || '')),
    h('dt', {}, 'Time windows'), h('dd', {}, windows.length
      ? h('ul', { class: 'plain' }, windows.map((w) => h('li', { 'data-window': '' }, windowText(w))))
      : 'none'),
    h('dt', {}, 'Privacy masks'), h('dd', {}, masks.length
      ? h('ul', { class: 'plain' }, masks.map((m, i) => h('li', { 'data-mask': '' }, `Mask ${i + 1}: `, h('code', {}, maskText(m)))))
      : 'none'),
    h('dt', {}, 'Legal reference'), h('dd', { 'data-legal-ref': '' }, p.legal_ref || '—'));
}

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
  const isAdmin = !!(ctx.user && ctx.user.role === 'admin');
  const addBtn = button('Add camera', { class: 'primary', 'data-action': 'add' }, '+');
  const formSlot = h('div');

  main.append(h('div', { class: 'page-head' }, h('h1', {}, 'Cameras'), isAdmin ? addBtn : null), err, formSlot, grid, empty);

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

  // ---- the recognition policy: read-only facts, or the admin's editor --------
  function openPolicy(cam) {
    const cur = policyOf(cam);
    if (!isAdmin) {
      const panel = h('section', { class: 'card policy-view', 'aria-labelledby': 'polview-h', 'data-policy-view': cam.id },
        h('h2', { id: 'polview-h' }, `Recognition policy of ${cam.name}`),
        policyFacts(cur),
        h('p', { class: 'muted' }, 'Only an administrator can change a camera\'s policy.'),
        h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => formSlot.replaceChildren() }, 'Close')));
      formSlot.replaceChildren(panel);
      panel.querySelector('button').focus();
      return;
    }
    const ferr = h('div', { role: 'alert', class: 'error-box', hidden: true, 'data-policy-error': '' });
    const winList = h('ol', { class: 'policy-rows', 'data-list': 'windows' });
    const maskList = h('ol', { class: 'policy-rows', 'data-list': 'masks' });
    let nWin = 0;
    let nMask = 0;
    let active = null; // the mask row that clicks on the picture add points to

    function addWindow(w) {
      const k = ++nWin;
      const daily = !!(w && w.every === 'day');
      const kind = h('select', { name: 'window-kind' },
        h('option', { value: 'once', selected: !daily }, 'Once (local)'),
        h('option', { value: 'day', selected: daily }, 'Daily (UTC)'));
      const from = h('input', { name: 'window-from', required: true });
      const to = h('input', { name: 'window-to', required: true });
      const setKind = (d, keep) => {
        from.type = d ? 'time' : 'datetime-local';
        to.type = from.type;
        if (!keep) { from.value = ''; to.value = ''; }
      };
      setKind(daily, true);
      if (w) {
        from.value = daily ? w.from.slice(0, 5) : isoToLocalInput(w.from);
        to.value = daily ? w.to.slice(0, 5) : isoToLocalInput(w.to);
      }
      kind.addEventListener('change', () => setKind(kind.value === 'day', false));
      const mode = select('window-mode', Object.keys(MODES).map((m) => ({ value: m, label: m })), w ? w.mode : 'off');
      const li = h('li', { class: 'policy-row window-row', 'data-window': '' },
        field(`Window ${k}: repeats`, kind),
        field(`Window ${k}: from`, from),
        field(`Window ${k}: to`, to),
        field(`Window ${k}: mode`, mode),
        button('Remove', { class: 'danger', 'aria-label': `Remove window ${k}`, onclick: () => li.remove() }, '✖'));
      winList.append(li);
      return li;
    }

    function addMask(pts) {
      const k = ++nMask;
      const input = h('input', { name: 'mask', value: maskText(pts), autocomplete: 'off', spellcheck: 'false', placeholder: '0,0 320,0 320,120 0,120', class: 'mono' });
      const draw = button('Draw', { 'aria-label': `Draw mask ${k} on the picture`, 'aria-pressed': 'false', 'data-action': 'draw' }, '✎');
      const li = h('li', { class: 'policy-row mask-row', 'data-mask': '' },
        field(`Mask ${k}: points (x,y in frame pixels)`, input),
        draw,
        button('Remove', { class: 'danger', 'aria-label': `Remove mask ${k}`, onclick: () => { if (active === li) setActive(null); li.remove(); paintMasks(); } }, '✖'));
      li.input = input;
      li.draw = draw;
      draw.addEventListener('click', () => setActive(active === li ? null : li));
      input.addEventListener('input', paintMasks);
      maskList.append(li);
      paintMasks();
      return li;
    }

    function setActive(li) {
      active = li;
      for (const row of maskList.children) {
        row.draw.setAttribute('aria-pressed', row === li ? 'true' : 'false');
        row.classList.toggle('drawing', row === li);
      }
      pic.classList.toggle('drawing', !!li);
      drawHint.textContent = li ? 'Click on the picture to add the points of the mask (in order round it); click Draw again to finish.'
        : 'Press Draw on a mask, then click its corners on the picture; or type the points.';
    }

    // The camera's picture at its full size (the masks are in its pixels),
    // with the masks drawn over it.
    const pic = h('div', { class: 'policy-picture' }, h('div', { class: 'img-missing' }, 'Loading the camera\'s picture…'));
    const drawHint = h('p', { class: 'hint' });
    let svg = null;
    let natural = null; // {w, h}
    function paintMasks() {
      if (!svg) return;
      svg.replaceChildren();
      [...maskList.children].forEach((row, i) => {
        let pts = [];
        try { pts = parseMask(row.input.value, i + 1); } catch { return; }
        if (!pts.length) return;
        const attrs = { points: pts.map((pt) => pt.join(',')).join(' '), class: row === active ? 'active' : '' };
        const el = document.createElementNS(SVG, pts.length >= 3 ? 'polygon' : 'polyline');
        for (const [a, v] of Object.entries(attrs)) el.setAttribute(a, v);
        svg.append(el);
        for (const pt of pts) {
          const c = document.createElementNS(SVG, 'circle');
          c.setAttribute('cx', pt[0]); c.setAttribute('cy', pt[1]); c.setAttribute('r', Math.max(3, natural.w / 200));
          svg.append(c);
        }
      });
    }
    (async () => {
      try {
        const res = await fetch(`/api/v1/cameras/${cam.id}/snapshot`, { credentials: 'same-origin', cache: 'no-store' });
        if (!res.ok) {
          let msg = `HTTP ${res.status}`;
          try { msg = (await res.json()).message || msg; } catch { /* not JSON */ }
          throw new Error(msg);
        }
        const url = URL.createObjectURL(await res.blob());
        const img = h('img', { src: url, alt: `Current picture of camera ${cam.name}; click to add mask points` });
        await img.decode();
        natural = { w: img.naturalWidth, h: img.naturalHeight };
        svg = document.createElementNS(SVG, 'svg');
        svg.setAttribute('viewBox', `0 0 ${natural.w} ${natural.h}`);
        svg.setAttribute('aria-hidden', 'true');
        const wrap = h('div', { class: 'policy-canvas' }, img);
        wrap.append(svg);
        wrap.addEventListener('click', (e) => {
          if (!active) return;
          const r = img.getBoundingClientRect();
          const x = Math.round(((e.clientX - r.left) / r.width) * natural.w);
          const y = Math.round(((e.clientY - r.top) / r.height) * natural.h);
          active.input.value = `${active.input.value.trim()} ${x},${y}`.trim();
          paintMasks();
        });
        pic.replaceChildren(wrap, h('p', { class: 'small muted' }, `Frame ${natural.w} × ${natural.h} px`));
        form.cleanup = () => URL.revokeObjectURL(url);
        paintMasks();
      } catch (ex) {
        pic.replaceChildren(h('div', { class: 'img-missing', role: 'img', 'aria-label': 'No picture' },
          `No picture to draw on (${errText(ex)}): type the points of each mask.`));
      }
    })();

    const modeSel = select('mode', Object.entries(MODES).map(([value, label]) => ({ value, label })), cur.mode || 'match');
    const legal = h('input', { name: 'legal_ref', maxlength: 255, value: cur.legal_ref || '', autocomplete: 'off' });
    const form = h('form', { class: 'card policy-form', 'aria-labelledby': 'polform-h', 'data-camera-id': cam.id, novalidate: true },
      h('h2', { id: 'polform-h' }, `Recognition policy of ${cam.name}`),
      field('Mode outside the windows', modeSel),
      h('fieldset', { class: 'settings' },
        h('legend', {}, 'Time windows'),
        h('p', { class: 'hint' }, 'A window overrides the mode from its start up to its end. Where windows overlap, the most restrictive mode applies (off, then detect, then match).'),
        winList,
        button('Add window', { 'data-action': 'add-window', onclick: () => addWindow(null).querySelector('input[name=window-from]').focus() }, '+')),
      h('fieldset', { class: 'settings' },
        h('legend', {}, 'Privacy masks'),
        h('p', { class: 'hint' }, 'Polygons of 3 to 32 points in the pixels of the camera\'s frame. A face whose centre lies inside one is dropped before anything else: never tracked, embedded or stored.'),
        pic, drawHint, maskList,
        button('Add mask', { 'data-action': 'add-mask', onclick: () => { const li = addMask(null); setActive(li); li.input.focus(); } }, '+')),
      field('Legal reference', legal, 'The basis of this policy (court order, DPIA, statute); it is written to the audit log with the change.'),
      h('p', { class: 'effective', 'data-effective': '' }, h('strong', {}, 'Takes effect: '),
        'at once when saved — the running camera restarts with it and the next frame follows it; windows take effect at their own times. The audit log records the change with this time.'),
      ferr,
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary' }, 'Save policy'),
        h('button', { type: 'button', onclick: () => { if (form.cleanup) form.cleanup(); formSlot.replaceChildren(); } }, 'Cancel')));
    for (const w of Array.isArray(cur.windows) ? cur.windows : []) addWindow(w);
    for (const m of Array.isArray(cur.masks) ? cur.masks : []) addMask(m);
    setActive(null);

    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      ferr.hidden = true;
      const policy = { mode: modeSel.value };
      try {
        const windows = [...winList.children].map((li, i) => {
          const kind = li.querySelector('select[name=window-kind]').value;
          const f = li.querySelector('input[name=window-from]').value;
          const t = li.querySelector('input[name=window-to]').value;
          const m = li.querySelector('select[name=window-mode]').value;
          if (!f || !t) throw new Error(`Window ${i + 1}: give its start and its end.`);
          return kind === 'day' ? { every: 'day', from: f, to: t, mode: m }
            : { from: localInputToIso(f), to: localInputToIso(t), mode: m };
        });
        const masks = [...maskList.children].map((li, i) => parseMask(li.input.value, i + 1)).filter((m) => m.length);
        if (windows.length) policy.windows = windows;
        if (masks.length) policy.masks = masks;
      } catch (ex) {
        errorBox(ex, ferr);
        return;
      }
      const ref = legal.value.trim();
      if (ref) policy.legal_ref = ref;
      const settings = { ...(cam.settings || {}), policy };
      const submit = form.querySelector('button[type=submit]');
      submit.disabled = true;
      try {
        const saved = await ctx.api.patch(`/cameras/${cam.id}`, { settings });
        if (form.cleanup) form.cleanup();
        formSlot.replaceChildren();
        upsert(saved);
        if (ctx.toast) ctx.toast(`Policy of ${saved.name} saved: ${policy.mode}.`, 'ok');
      } catch (ex) {
        errorBox(ex, ferr);
        ferr.scrollIntoView({ block: 'nearest' });
      } finally {
        submit.disabled = false;
      }
    });
    formSlot.replaceChildren(form);
    modeSel.focus();
  }

  // ---- one camera's card ----------------------------------------------------
  function card(cam) {
    const pic = h('div', { class: 'snapshot' }, h('div', { class: 'img-missing' }, 'Loading picture…'));
    const status = h('p', { class: 'cam-status', 'aria-live': 'polite' });
    const stats = h('p', { class: 'cam-stats' });
    const policy = h('div', { class: 'cam-policy', 'data-policy': '' });
    const toggle = button('', { 'data-action': 'toggle' });
    const el = h('li', { class: 'camera-card card', 'data-id': cam.id },
      pic,
      h('div', { class: 'cam-body' },
        h('h2', {}, cam.name),
        h('p', { class: 'cam-url muted', title: cam.url }, cam.url),
        status, stats, policy,
        h('div', { class: 'actions' },
          isAdmin ? toggle : null,
          isAdmin ? button('Edit', { 'data-action': 'edit', onclick: () => openForm(cams.get(cam.id).cam) }, '✎') : null,
          button(isAdmin ? 'Policy' : 'View policy', {
            'data-action': 'policy', 'aria-label': `${isAdmin ? 'Edit' : 'View'} the recognition policy of ${cam.name}`,
            onclick: () => openPolicy(cams.get(cam.id).cam),
          }, '⚖'),
          isAdmin ? button('Remove', { 'data-action': 'remove', class: 'danger', onclick: () => remove(cams.get(cam.id).cam) }, '✖') : null)));
    toggle.addEventListener('click', () => setEnabled(cams.get(cam.id).cam));
    return { cam, el, pic, status, stats, policy, toggle, live: cam.status, objUrl: null, loading: false, note: '' };
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
    // The policy: its mode and contents, and (running) the last frame's mode
    // with what the policy held back.
    const p = policyOf(cam);
    const nw = Array.isArray(p.windows) ? p.windows.length : 0;
    const nm = Array.isArray(p.masks) ? p.masks.length : 0;
    entry.el.dataset.policyMode = p.mode || 'match';
    entry.policy.replaceChildren(
      h('p', { class: 'cam-policy-line' }, 'Policy ', modeBadge(p.mode),
        ` · ${nw} window${nw === 1 ? '' : 's'} · ${nm} mask${nm === 1 ? '' : 's'}`,
        p.legal_ref ? h('span', { class: 'legal', title: p.legal_ref }, ' · ', p.legal_ref) : h('span', { class: 'muted' }, ' · no legal reference')),
      st && st.policy_mode ? h('p', { class: 'cam-policy-live', 'data-policy-live': st.policy_mode },
        'Last frame ', modeBadge(st.policy_mode),
        ` · ${st.frames_policy_off ?? 0} frames not analysed · ${st.faces_masked ?? 0} faces masked · ${st.faces_detect_only ?? 0} detect-only faces`) : '');
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
      empty.replaceChildren(isAdmin
        ? emptyState('No camera yet. Add one with its video URL (RTSP, HTTP, a V4L2 device or a video file) and the pipeline starts analysing it at once.',
          button('Add camera', { class: 'primary', onclick: () => openForm(null) }, '+'))
        : emptyState('No camera yet. An administrator adds the cameras.'));
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
    if (ctx.user && ctx.user.role === 'supervisor') {
      setPlaceholder(entry, 'Pictures are shown to administrators and operators.');
      return;
    }
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
