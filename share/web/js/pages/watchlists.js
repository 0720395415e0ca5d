// Watchlists and their persons (supervisor).
//   /watchlists      the watchlists: create, edit (threshold, colour,
//                    acknowledgement required, active), delete.
//   /watchlists/:id  one watchlist: its persons (search by name, paging),
//                    enrolment by dropping photos (each photo is checked with
//                    POST /photos/check and its verdict shown before anything
//                    is saved; then POST /persons, multipart), a person's
//                    photos (list, add, delete), delete a person.
// The legal basis (docs/lawful-use.md): a watchlist's purpose, legal
// reference, owner and expiry (an expired list is read-only and matches
// nothing until renewed with a new expiry); each person's reason and
// review-by date (due within 30 days, overdue: not matched until renewed).
import {
  h, fmtTime, errorBox, emptyState, field, confirmDialog, button, reasonWords, errText, apiImg,
  stackOnPhone,
} from './_shared.js';

export const meta = { title: 'Watchlists', roles: ['supervisor'], nav: true };

const link = (ctx, href, ...children) => h('a', {
  href, onclick: (e) => { e.preventDefault(); ctx.navigate(href); },
}, ...children);

// A date (RFC 3339) as the value of an <input type=date> (its UTC day).
const dateValue = (iso) => (iso ? String(iso).slice(0, 10) : '');
// Tomorrow's date (UTC): the earliest a new expiry or review-by date may be.
function tomorrow() {
  return new Date(Date.now() + 86400e3).toISOString().slice(0, 10);
}

// A day (RFC 3339, 00:00 UTC for the dates of the legal basis) as a
// <time> with the UTC day in words.
function fmtDay(iso) {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return '—';
  return h('time', { datetime: iso, title: iso }, d.toLocaleDateString(undefined, { timeZone: 'UTC', year: 'numeric', month: 'short', day: 'numeric' }));
}

// A watchlist's state in words (never colour only): expired, active, inactive.
function legalState(w, long) {
  if (w.expired) {
    return h('span', { class: 'legal-state expired', 'data-state': 'expired' }, h('span', { 'aria-hidden': 'true' }, '◷ '), 'expired',
      h('small', { class: 'state-detail', style: 'display:block;font-weight:normal' }, long ? 'read-only; matches nothing until renewed' : 'read-only, matches nothing'));
  }
  return h('span', { class: `legal-state ${w.active ? 'ok' : ''}`, 'data-state': w.active ? 'active' : 'inactive' }, w.active ? '● active' : '○ inactive');
}

// A person's review state (GET /persons "review": none | ok | due | overdue).
const REVIEW = {
  none: ['', 'no review date'],
  ok: ['✔ ', 'in date'],
  due: ['⚠ ', 'review due'],
  overdue: ['✖ ', 'overdue: not matched'],
};
function reviewState(p) {
  const [icon, word] = REVIEW[p.review] || ['? ', p.review || 'unknown'];
  return h('span', { class: `review-state ${p.review || ''}`, 'data-review': p.review || '' },
    p.review_by ? fmtDay(p.review_by) : '—', ' ', h('span', { 'aria-hidden': 'true' }, icon), h('span', {}, `(${word})`));
}

function thresholdText(t) {
  return typeof t === 'number' ? t.toFixed(3) : 'model default';
}

// ---- the watchlist form (create or edit) -------------------------------------
function watchlistForm(ctx, w, onSaved, onCancel) {
  const err = h('div', { role: 'alert', class: 'error-box', hidden: true });
  const form = h('form', { class: 'card watchlist-form', 'aria-labelledby': 'wlform-h' },
    h('h2', { id: 'wlform-h' }, w ? `Edit watchlist ${w.name}` : 'New watchlist'),
    field('Name', h('input', { name: 'name', required: true, maxlength: 127, value: w ? w.name : '', readonly: !!w, autocomplete: 'off' }),
      w ? 'A watchlist cannot be renamed.' : 'e.g. "wanted" or "missing persons".'),
    field('Match threshold', h('input', { name: 'threshold', type: 'number', min: -1, max: 1, step: 0.001, value: w && typeof w.threshold === 'number' ? String(w.threshold) : '', placeholder: 'model default' }),
      'Cosine similarity from -1 to 1; higher means fewer, surer alerts. Empty: the model\'s calibrated default.'),
    field('Colour', h('input', { name: 'colour', type: 'color', value: w && w.colour ? w.colour : '#c92a2a' })),
    h('div', { class: 'field check' },
      h('input', { type: 'checkbox', name: 'ack_required', id: 'wl-ack', checked: !!(w && w.ack_required) }),
      h('label', { for: 'wl-ack' }, 'Acknowledgement required (its alerts stay pinned on the live page until decided)')),
    h('div', { class: 'field check' },
      h('input', { type: 'checkbox', name: 'active', id: 'wl-active', checked: w ? !!w.active : true }),
      h('label', { for: 'wl-active' }, 'Active (cameras search it)')),
    // Verdict feedback (docs/alerts.md): the four-eyes rule and negative examples.
    h('div', { class: 'field check' },
      h('input', { type: 'checkbox', name: 'four_eyes', id: 'wl-four-eyes', checked: !!(w && w.four_eyes) }),
      h('label', { for: 'wl-four-eyes' }, 'Four-eyes rule (an alert is confirmed only when two different operators confirm it; one rejection closes it)')),
    field('Negative examples', h('select', { name: 'negatives', id: 'wl-negatives' },
      ...['suppress', 'mark', 'off'].map((v) => h('option', { value: v, selected: (w ? w.negatives : 'suppress') === v },
        { suppress: 'Suppress: no alert (audited)', mark: 'Mark: alert with a note', off: 'Off: ignore them' }[v]))),
      'A rejected alert\'s face becomes a negative example of the person: what a later face nearer it than to the person does.'),
    h('fieldset', { class: 'settings legal-basis' },
      h('legend', {}, 'Legal basis'),
      field('Purpose', h('input', { name: 'purpose', maxlength: 1000, value: w ? w.purpose || '' : '', autocomplete: 'off' }), 'The lawful purpose, e.g. "find missing persons".'),
      field('Legal reference', h('input', { name: 'legal_ref', maxlength: 1000, value: w ? w.legal_ref || '' : '', autocomplete: 'off' }), 'Statute, court order or case number.'),
      field('Owner', h('input', { name: 'owner', maxlength: 127, value: w ? w.owner || '' : '', autocomplete: 'off' }), 'Who answers for the list.'),
      field('Expires on', h('input', { name: 'expires', type: 'date', value: w ? dateValue(w.expires) : '' }),
        w && w.expired ? 'This list has expired: give a new date (or clear it for no expiry) to renew it.' : 'Optional: from this day (00:00 UTC) the list matches nothing and is read-only.')),
    err,
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, w ? 'Save' : 'Create watchlist'),
      h('button', { type: 'button', onclick: onCancel }, 'Cancel')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.hidden = true;
    const fd = new FormData(form);
    const t = String(fd.get('threshold') || '').trim();
    const body = {
      threshold: t === '' ? null : Number(t),
      colour: String(fd.get('colour')),
      ack_required: fd.get('ack_required') === 'on',
      active: fd.get('active') === 'on',
    };
    if (!w) body.name = String(fd.get('name') || '').trim();
    // The legal basis: what changed (a new list: what is given).
    for (const k of ['purpose', 'legal_ref', 'owner']) {
      const v = String(fd.get(k) || '').trim();
      if (w ? v !== (w[k] || '') : v) body[k] = v;
    }
    const exp = String(fd.get('expires') || '');
    if (w ? exp !== dateValue(w.expires) : exp) body.expires = exp || null;
    const verdicts = { four_eyes: fd.get('four_eyes') === 'on', negatives: String(fd.get('negatives') || 'suppress') };
    if (w) Object.assign(body, verdicts);
    const submit = form.querySelector('button[type=submit]');
    submit.disabled = true;
    try {
      let saved = w ? await ctx.api.patch(`/watchlists/${w.id}`, body) : await ctx.api.post('/watchlists', body);
      // A new list takes its verdict settings in a second step (create knows none).
      if (!w && (verdicts.four_eyes || verdicts.negatives !== 'suppress')) saved = await ctx.api.patch(`/watchlists/${saved.id}`, verdicts);
      onSaved(saved);
    } catch (ex) {
      errorBox(ex, err);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

// ---- /watchlists ---------------------------------------------------------------
async function renderList(main, ctx) {
  let alive = true;
  const err = h('div', { role: 'alert', class: 'error-box', hidden: true });
  const slot = h('div');
  const tbody = h('tbody');
  const table = h('table', { class: 'list', 'data-list': 'watchlists' },
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Threshold'),
      h('th', { scope: 'col' }, 'Acknowledgement'), h('th', { scope: 'col' }, 'State'),
      h('th', { scope: 'col' }, 'Legal basis'), h('th', { scope: 'col' }, 'Expires'),
      h('th', { scope: 'col' }, 'Persons'), h('th', { scope: 'col' }, 'Changed'),
      h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
    tbody);
  stackOnPhone(table);
  const empty = h('div', { hidden: true });
  const newBtn = button('New watchlist', { class: 'primary', 'data-action': 'add' }, '+');
  main.append(h('div', { class: 'page-head' }, h('h1', {}, 'Watchlists'), newBtn), err, slot,
    h('div', { class: 'table-wrap' }, table), empty);

  const openNew = () => {
    slot.replaceChildren(watchlistForm(ctx, null, (w) => {
      slot.replaceChildren();
      if (ctx.toast) ctx.toast(`Watchlist ${w.name} created.`, 'ok');
      load();
    }, () => slot.replaceChildren()));
    slot.querySelector('input[name=name]').focus();
  };
  newBtn.addEventListener('click', openNew);

  function row(w) {
    return h('tr', { 'data-id': w.id, 'data-expired': w.expired ? 'true' : 'false', class: w.expired ? 'overdue' : '' },
      h('th', { scope: 'row', class: 'nowrap' }, h('span', { class: 'swatch', style: `background:${/^#[0-9a-fA-F]{6}$/.test(w.colour) ? w.colour : 'transparent'}`, 'aria-hidden': 'true' }),
        link(ctx, `/watchlists/${w.id}`, w.name)),
      h('td', { class: 'num' }, thresholdText(w.threshold)),
      h('td', {}, w.ack_required ? '⚑ required' : 'not required'),
      h('td', {}, legalState(w)),
      h('td', { class: 'legal-cell' }, w.legal_ref || w.purpose
        ? [w.legal_ref || '', w.purpose ? h('small', { class: 'muted', style: 'display:block' }, w.purpose) : null]
        : h('span', { class: 'muted' }, 'none recorded')),
      h('td', {}, w.expires ? fmtDay(w.expires) : h('span', { class: 'muted' }, 'no expiry')),
      h('td', { class: 'num' }, String(w.persons)),
      h('td', {}, fmtTime(w.updated || w.created)),
      h('td', { class: 'row-actions' },
        button('Persons', { onclick: () => ctx.navigate(`/watchlists/${w.id}`), 'aria-label': `Persons of ${w.name}` }),
        button('Edit', { 'data-action': 'edit', 'aria-label': `Edit ${w.name}`, onclick: () => {
          slot.replaceChildren(watchlistForm(ctx, w, () => { slot.replaceChildren(); load(); }, () => slot.replaceChildren()));
        } }, '✎'),
        button('Delete', { 'data-action': 'delete', class: 'danger', 'aria-label': `Delete ${w.name}`, onclick: async () => {
          if (!(await confirmDialog(`Delete watchlist ${w.name} with its ${w.persons} person(s) and their photos? Alerts already raised stay in the history.`))) return;
          try {
            await ctx.api.del(`/watchlists/${w.id}`);
            if (ctx.toast) ctx.toast(`Watchlist ${w.name} deleted.`, 'ok');
            load();
          } catch (ex) { errorBox(ex, err); }
        } }, '✖')));
  }

  async function load() {
    try {
      const items = [];
      let cursor = null;
      do {
        const page = await ctx.api.get('/watchlists', { limit: 200, ...(cursor ? { cursor } : {}) });
        items.push(...page.items);
        cursor = page.next_cursor;
      } while (cursor);
      if (!alive) return;
      err.hidden = true;
      tbody.replaceChildren(...items.map(row));
      table.hidden = !items.length;
      empty.hidden = !!items.length;
      empty.replaceChildren(items.length ? '' : emptyState('No watchlist yet. Create one, then add the persons to look for with their photos.',
        button('New watchlist', { class: 'primary', onclick: openNew }, '+')));
    } catch (ex) {
      if (alive) errorBox(ex, err);
    }
  }

  const off = ctx.events ? ctx.events.on('watchlist.change', () => load()) : null;
  await load();
  return () => { alive = false; if (typeof off === 'function') off(); };
}

// ---- photo verdicts ---------------------------------------------------------------
// One photo's verdict (an element of "photos" of /photos/check, /persons,
// /persons/{id}/photos) in words, never colour only.
function verdictEl(v) {
  if (!v) return h('span', { class: 'verdict pending' }, h('span', { 'aria-hidden': 'true' }, '… '), 'Checking…');
  if (v.accepted) {
    return h('span', { class: 'verdict ok', 'data-verdict': 'accepted' },
      h('span', { 'aria-hidden': 'true' }, '✔ '),
      `Accepted${typeof v.quality === 'number' ? ` (quality ${v.quality.toFixed(2)})` : ''}`,
      v.note ? h('small', {}, ` — ${v.note}`) : null);
  }
  const reasons = (v.reasons && v.reasons.length ? v.reasons : [v.reason]).filter(Boolean);
  return h('span', { class: 'verdict refused', 'data-verdict': 'refused', 'data-reason': v.reason || '' },
    h('span', { 'aria-hidden': 'true' }, '✖ '),
    `Refused: ${reasons.map(reasonWords).join('; ')}`,
    v.detail ? h('small', {}, ` (${v.detail})`) : null);
}

// A drop zone with a file input: calls onFiles(File[]) for images dropped
// or chosen.
function dropZone(label, onFiles, inputId) {
  const input = h('input', { type: 'file', name: 'photo', id: inputId, accept: 'image/jpeg,image/png', multiple: true, class: 'visually-hidden' });
  const zone = h('div', { class: 'dropzone', 'data-dropzone': '' },
    h('p', {}, h('span', { 'aria-hidden': 'true' }, '⇪ '), 'Drag photos here, or '),
    h('label', { for: inputId, class: 'button' }, label),
    input,
    h('p', { class: 'hint' }, 'JPEG or PNG, one person per photo, face clearly visible. Each photo is checked before anything is saved.'));
  input.addEventListener('change', () => {
    const files = [...input.files];
    input.value = '';
    if (files.length) onFiles(files);
  });
  for (const ev of ['dragenter', 'dragover']) {
    zone.addEventListener(ev, (e) => { e.preventDefault(); zone.classList.add('over'); });
  }
  for (const ev of ['dragleave', 'drop']) {
    zone.addEventListener(ev, () => zone.classList.remove('over'));
  }
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    const files = [...(e.dataTransfer ? e.dataTransfer.files : [])].filter((f) => /^image\//.test(f.type) || /\.(jpe?g|png)$/i.test(f.name));
    if (files.length) onFiles(files);
  });
  return zone;
}

// ---- the enrolment form ------------------------------------------------------------
function enrolForm(ctx, w, onSaved) {
  const err = h('div', { role: 'alert', class: 'error-box', hidden: true });
  const photos = []; // {file, url, verdict, li}
  const list = h('ul', { class: 'photo-checks', 'data-list': 'photo-checks', 'aria-live': 'polite' });
  const save = h('button', { type: 'submit', class: 'primary', disabled: true }, 'Save person');
  const summary = h('p', { class: 'muted' }, 'No photo yet.');

  function update() {
    const ok = photos.filter((p) => p.verdict && p.verdict.accepted).length;
    const checking = photos.some((p) => !p.verdict);
    const refused = photos.filter((p) => p.verdict && !p.verdict.accepted).length;
    save.disabled = checking || ok === 0;
    summary.textContent = !photos.length ? 'No photo yet.'
      : checking ? 'Checking photos…'
        : `${ok} photo${ok === 1 ? '' : 's'} accepted${refused ? `, ${refused} refused (not saved)` : ''}.${ok ? '' : ' Add at least one accepted photo to save.'}`;
  }

  async function check(p) {
    const fd = new FormData();
    fd.append('watchlist', String(w.id));
    fd.append('photo', p.file, p.file.name);
    try {
      const res = await ctx.api.upload('/photos/check', fd);
      p.verdict = (res.photos && res.photos[0]) || { accepted: false, reason: 'unreadable', reasons: ['unreadable'] };
    } catch (ex) {
      p.verdict = { accepted: false, reason: null, reasons: [], detail: errText(ex), error: true };
    }
    p.li.dataset.verdict = p.verdict.accepted ? 'accepted' : 'refused';
    p.li.querySelector('.verdict-slot').replaceChildren(p.verdict.error
      ? h('span', { class: 'verdict refused', 'data-verdict': 'error' }, h('span', { 'aria-hidden': 'true' }, '⚠ '), `Could not check: ${p.verdict.detail}`)
      : verdictEl(p.verdict));
    update();
  }

  function addFiles(files) {
    for (const file of files) {
      const url = URL.createObjectURL(file);
      const p = { file, url, verdict: null };
      p.li = h('li', { class: 'photo-check', 'data-file': file.name },
        h('img', { src: url, alt: `Photo ${file.name}`, width: 96, height: 96 }),
        h('div', {}, h('span', { class: 'file-name' }, file.name), h('div', { class: 'verdict-slot' }, verdictEl(null))),
        button('Remove', { 'aria-label': `Remove ${file.name}`, onclick: () => {
          photos.splice(photos.indexOf(p), 1);
          URL.revokeObjectURL(p.url);
          p.li.remove();
          update();
        } }, '✖'));
      photos.push(p);
      list.append(p.li);
      check(p);
    }
    update();
  }

  const form = h('form', { class: 'card enrol-form', 'aria-labelledby': 'enrol-h' },
    h('h2', { id: 'enrol-h' }, `Add a person to ${w.name}`),
    field('Name', h('input', { name: 'name', required: true, maxlength: 127, autocomplete: 'off' })),
    field('External id (optional)', h('input', { name: 'external_id', maxlength: 127, autocomplete: 'off' }), 'A case or file number.'),
    field('Notes (optional)', h('textarea', { name: 'notes', rows: 2 })),
    dropZone('choose photos', addFiles, 'enrol-photos'),
    list, summary, err,
    h('div', { class: 'actions' }, save));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.hidden = true;
    const fd0 = new FormData(form);
    const fd = new FormData();
    fd.append('watchlist', String(w.id));
    fd.append('name', String(fd0.get('name') || '').trim());
    const ext = String(fd0.get('external_id') || '').trim();
    if (ext) fd.append('external_id', ext);
    const notes = String(fd0.get('notes') || '').trim();
    if (notes) fd.append('notes', notes);
    const ok = photos.filter((p) => p.verdict && p.verdict.accepted);
    for (const p of ok) fd.append('photo', p.file, p.file.name);
    save.disabled = true;
    try {
      const res = await ctx.api.upload('/persons', fd);
      for (const p of photos) URL.revokeObjectURL(p.url);
      if (ctx.toast) ctx.toast(`${res.person.name} enrolled with ${res.person.photos} photo(s).`, 'ok');
      onSaved(res.person);
    } catch (ex) {
      errorBox(ex, err);
      update();
    }
  });
  form.cleanup = () => { for (const p of photos) URL.revokeObjectURL(p.url); };
  return form;
}

// ---- one person's photos ------------------------------------------------------------
async function personPanel(ctx, person, onChange, readOnly) {
  const err = h('div', { role: 'alert', class: 'error-box', hidden: true });
  const grid = h('ul', { class: 'photo-grid', 'data-list': 'photos' });
  const results = h('ul', { class: 'photo-checks', 'aria-live': 'polite' });
  const panel = h('section', { class: 'card person-panel', 'data-person-id': person.id, 'aria-labelledby': `p${person.id}-h` },
    h('h3', { id: `p${person.id}-h` }, `Photos of ${person.name}`),
    person.external_id ? h('p', { class: 'muted' }, `External id: ${person.external_id}`) : null,
    person.notes ? h('p', {}, person.notes) : null,
    err, grid,
    readOnly ? h('p', { class: 'muted' }, 'The watchlist has expired: no photo can be added until it is renewed.')
      : dropZone('add photos', addPhotos, `add-photos-${person.id}`),
    results);

  async function load() {
    try {
      const page = await ctx.api.get(`/persons/${person.id}/photos`, { limit: 200 });
      grid.replaceChildren(...page.items.map((ph) => h('li', { 'data-id': ph.id },
        apiImg(ph.image_url, `Enrolled photo ${ph.id} of ${person.name}`),
        h('span', { class: 'small muted' }, `quality ${typeof ph.quality === 'number' ? ph.quality.toFixed(2) : '—'}`),
        button('Delete', { class: 'danger', 'data-action': 'delete-photo', 'aria-label': `Delete photo ${ph.id} of ${person.name}`, onclick: async () => {
          if (!(await confirmDialog(`Delete this photo of ${person.name}? Its template leaves the watchlist at once.`))) return;
          try {
            await ctx.api.del(`/persons/${person.id}/photos/${ph.id}`);
            await load();
            onChange();
          } catch (ex) { errorBox(ex, err); }
        } }, '✖'))));
      if (!page.items.length) grid.replaceChildren(h('li', { class: 'muted' }, 'No photo: this person cannot be matched until a photo is added.'));
    } catch (ex) {
      errorBox(ex, err);
    }
  }

  async function addPhotos(files) {
    err.hidden = true;
    const fd = new FormData();
    for (const f of files) fd.append('photo', f, f.name);
    results.replaceChildren(h('li', {}, `Checking ${files.length} photo(s)…`));
    let verdicts = [];
    try {
      const res = await ctx.api.upload(`/persons/${person.id}/photos`, fd);
      verdicts = res.photos || [];
    } catch (ex) {
      // 422: no photo passed; its body lists the verdicts when the api
      // wrapper keeps it.
      const body = ex.body || ex.data;
      if (body && body.photos) verdicts = body.photos;
      else { results.replaceChildren(); errorBox(ex, err); return; }
    }
    results.replaceChildren(...verdicts.map((v) => h('li', { class: 'photo-check', 'data-verdict': v.accepted ? 'accepted' : 'refused' },
      h('span', { class: 'file-name' }, v.file || 'photo'), ' ', verdictEl(v))));
    await load();
    onChange();
  }

  await load();
  return panel;
}

// ---- /watchlists/:id ------------------------------------------------------------------
async function renderOne(main, ctx, id) {
  let alive = true;
  let w;
  main.append(h('p', { class: 'back' }, link(ctx, '/watchlists', '← Watchlists')));
  try {
    w = await ctx.api.get(`/watchlists/${encodeURIComponent(id)}`);
  } catch (ex) {
    main.append(h('h1', {}, 'Watchlist'), errorBox(ex));
    return () => {};
  }
  const err = h('div', { role: 'alert', class: 'error-box', hidden: true });
  const head = h('div');
  const formSlot = h('div');
  const cleanups = [];

  function showHead() {
    head.replaceChildren(
      h('div', { class: 'page-head' },
        h('h1', {}, `Watchlist ${w.name}`),
        button('Edit', { 'data-action': 'edit', onclick: () => {
          formSlot.replaceChildren(watchlistForm(ctx, w, (saved) => { w = saved; formSlot.replaceChildren(); showHead(); reloadWatchlist(); }, () => formSlot.replaceChildren()));
        } }, '✎'),
        w.expired ? null : button('Add person', { class: 'primary', 'data-action': 'add-person', onclick: openEnrol }, '+')),
      w.expired ? expiredBanner() : '',
      h('p', { class: 'muted' },
        `Threshold ${thresholdText(w.threshold)} · ${w.ack_required ? '⚑ acknowledgement required' : 'no acknowledgement required'} · ${w.expired ? '◷ expired' : w.active ? '● active' : '○ inactive'} · ${w.persons} person(s)`),
      h('section', { class: 'card', 'aria-labelledby': 'lb-h', 'data-legal-basis': '' },
        h('h2', { id: 'lb-h' }, 'Legal basis'),
        h('dl', { class: 'facts' },
          h('dt', {}, 'Purpose'), h('dd', { 'data-purpose': '' }, w.purpose || '—'),
          h('dt', {}, 'Legal reference'), h('dd', { 'data-legal-ref': '' }, w.legal_ref || '—'),
          h('dt', {}, 'Owner'), h('dd', { 'data-owner': '' }, w.owner || '—'),
          h('dt', {}, 'Expires'), h('dd', { 'data-expires': w.expires || '' }, w.expires ? fmtDay(w.expires) : 'no expiry', ' ', legalState(w, true)))),
      h('p', { class: 'muted', 'data-verdict-settings': '' },
        `${w.four_eyes ? '👥 four-eyes rule (two confirmations)' : 'one confirmation confirms'} · negative examples: ${w.negatives || 'suppress'}`),
      verdictStats(w.verdicts));
  }

  // An expired list: what it means, and its renewal (PATCH "expires").
  function expiredBanner() {
    const berr = h('div', { role: 'alert', class: 'error-box', hidden: true });
    const input = h('input', { name: 'renew_expires', type: 'date', min: tomorrow(), required: true });
    const form = h('form', { class: 'renew-form', 'data-renew': 'watchlist' },
      field('New expiry date', input), h('button', { type: 'submit', class: 'primary' }, 'Renew'),
      button('Remove the expiry', { 'data-action': 'no-expiry', onclick: () => renew(null) }));
    async function renew(value) {
      berr.hidden = true;
      try {
        w = await ctx.api.patch(`/watchlists/${w.id}`, { expires: value });
        if (ctx.toast) ctx.toast(`Watchlist ${w.name} renewed.`, 'ok');
        showHead();
        load(true);
      } catch (ex) { errorBox(ex, berr); }
    }
    form.addEventListener('submit', (e) => { e.preventDefault(); renew(input.value); });
    return h('div', { class: 'expired-banner', role: 'status', 'data-expired-banner': '' },
      h('p', {}, h('strong', {}, h('span', { 'aria-hidden': 'true' }, '◷ '), 'This watchlist expired on ', fmtDay(w.expires), '.'),
        ' It matches nothing and is read-only: no enrolment and no change until it is renewed. Its persons can still be deleted.'),
      form, berr);
  }

  // Verdict feedback: what the operators' decisions say (GET /watchlists/{id}).
  function verdictStats(v) {
    if (!v) return '';
    const num = (x, d) => (typeof x === 'number' ? x.toFixed(d) : '—');
    return h('section', { class: 'card', 'aria-labelledby': 'vs-h', 'data-verdict-stats': '' },
      h('h2', { id: 'vs-h' }, 'Verdicts'),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Alerts'), h('dd', {}, `${v.alerts}: ${v.confirmed} confirmed, ${v.rejected} rejected, ${v.pending} pending` + (v.awaiting_second ? ` (${v.awaiting_second} await a second confirmation)` : '')),
        h('dt', {}, 'False-alarm rate'), h('dd', { 'data-far': '' }, `${num(v.false_alarm_rate, 3)} at threshold ${num(v.threshold, 3)} (rejected share of the decided alerts at or above it)`),
        h('dt', {}, 'Negative examples'), h('dd', {}, `${v.negatives}; ${v.suppressions} match(es) suppressed, ${v.marked} alert(s) marked`),
        h('dt', {}, 'Suggested threshold'), h('dd', {}, typeof v.suggested_threshold === 'number'
          ? `${num(v.suggested_threshold, 3)} for a false-alarm rate of ${v.target_far} (from ${v.decided} decided alerts; \`argus watchlist stats\` adds the model card's)`
          : `none yet (${v.decided} decided alerts)`)));
  }

  function openEnrol() {
    const f = enrolForm(ctx, w, async () => {
      formSlot.replaceChildren();
      await reloadWatchlist();
      load(true);
    });
    cleanups.push(f.cleanup);
    formSlot.replaceChildren(f);
    f.querySelector('input[name=name]').focus();
  }

  async function reloadWatchlist() {
    try { w = await ctx.api.get(`/watchlists/${w.id}`); showHead(); } catch { /* keep the old */ }
  }

  const search = h('input', { type: 'search', name: 'q', value: ctx.query.get('q') || '', autocomplete: 'off' });
  const searchForm = h('form', { role: 'search', class: 'filters inline', 'aria-label': 'Search persons' },
    field('Search by name', search), h('button', { type: 'submit' }, 'Search'));
  const tbody = h('tbody');
  const table = h('table', { class: 'list', 'data-list': 'persons' },
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'External id'),
      h('th', { scope: 'col' }, 'Photos'), h('th', { scope: 'col' }, 'Reason'),
      h('th', { scope: 'col' }, 'Review by'), h('th', { scope: 'col' }, 'Added'),
      h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
    tbody);
  stackOnPhone(table);
  const more = h('button', { type: 'button', hidden: true }, 'More persons');
  const dueNote = h('p', { class: 'muted', 'data-review-summary': '', 'aria-live': 'polite' });
  const empty = h('div', { hidden: true });

  showHead();
  main.append(head, err, formSlot, h('h2', {}, 'Persons'), searchForm, dueNote, h('div', { class: 'table-wrap' }, table), empty, h('div', { class: 'pager' }, more));

  let cursor = null;
  let shown = 0;

  // The review panel of a person (a row under theirs): reason and a new
  // review-by date (PATCH /persons/{id}).
  function reviewPanel(p, tr, onSaved) {
    const perr = h('div', { role: 'alert', class: 'error-box', hidden: true });
    const date = h('input', { name: 'review_by', type: 'date', min: tomorrow(), value: p.review === 'overdue' ? '' : dateValue(p.review_by) });
    const reason = h('input', { name: 'reason', maxlength: 1000, value: p.reason || '', autocomplete: 'off' });
    const form = h('form', { class: 'renew-form', 'data-renew': 'person', 'aria-label': `Review of ${p.name}` },
      field(`Reason ${p.name} is on the list`, reason),
      field(`Review ${p.name} by`, date),
      h('button', { type: 'submit', class: 'primary' }, 'Save review'),
      button('No review date', { 'data-action': 'no-review', onclick: () => save(null) }),
      button('Cancel', { onclick: () => close() }));
    const row = h('tr', { class: 'person-row review-row' }, h('td', { colspan: 7 },
      h('p', { class: 'small muted' }, p.review === 'overdue'
        ? `${p.name}'s review date has passed: they are left out of every search until a new date is set.`
        : 'Set the date by which someone must look at this entry again.'),
      form, perr));
    function close() { row.remove(); }
    async function save(value) {
      perr.hidden = true;
      const body = { review_by: value };
      const rs = reason.value.trim();
      if (rs !== (p.reason || '')) body.reason = rs;
      try {
        const fresh = await ctx.api.patch(`/persons/${p.id}`, body);
        close();
        onSaved(fresh);
        if (ctx.toast) ctx.toast(`${fresh.name}: review by ${fresh.review_by ? dateValue(fresh.review_by) : 'no date'}.`, 'ok');
      } catch (ex) { errorBox(ex, perr); }
    }
    form.addEventListener('submit', (e) => { e.preventDefault(); save(date.value || null); });
    return row;
  }

  function summarise() {
    const rows = [...tbody.querySelectorAll('tr[data-review]')];
    const due = rows.filter((r) => r.dataset.review === 'due').length;
    const over = rows.filter((r) => r.dataset.review === 'overdue').length;
    dueNote.replaceChildren(!due && !over ? '' : h('span', { class: over ? 'review-state overdue' : 'review-state due' },
      [over ? `${over} overdue (not matched until renewed)` : '', due ? `${due} due for review within 30 days` : ''].filter(Boolean).join(' · ')));
  }

  function row(p) {
    const tr = h('tr', { 'data-id': p.id, 'data-review': p.review || 'none', class: p.review === 'overdue' || p.review === 'due' ? p.review : '' });
    const toggle = button('Photos', { 'aria-expanded': 'false', 'aria-label': `Photos of ${p.name}` });
    toggle.addEventListener('click', async () => {
      const next = tr.nextElementSibling;
      if (next && next.classList.contains('person-row')) {
        next.remove();
        toggle.setAttribute('aria-expanded', 'false');
        return;
      }
      const td = h('td', { colspan: 7 });
      tr.after(h('tr', { class: 'person-row' }, td));
      toggle.setAttribute('aria-expanded', 'true');
      td.append(await personPanel(ctx, p, async () => {
        try {
          const fresh = await ctx.api.get(`/persons/${p.id}`);
          tr.children[2].textContent = String(fresh.photos);
        } catch { /* the list stays */ }
      }, !!w.expired));
    });
    tr.append(
      h('th', { scope: 'row' }, p.name),
      h('td', {}, p.external_id || '—'),
      h('td', { class: 'num' }, String(p.photos)),
      h('td', { class: 'reason' }, p.reason || h('span', { class: 'muted' }, '—')),
      h('td', {}, reviewState(p)),
      h('td', {}, fmtTime(p.created)),
      h('td', { class: 'row-actions' }, toggle,
        w.expired ? null : button(p.review === 'overdue' || p.review === 'due' ? 'Renew' : 'Review', {
          'data-action': 'review', 'aria-label': `Review date of ${p.name}`, onclick: () => {
            const next = tr.nextElementSibling;
            if (next && next.classList.contains('review-row')) { next.remove(); return; }
            const panel = reviewPanel(p, tr, (fresh) => {
              const nt = tr.nextElementSibling;
              if (nt && nt.classList.contains('person-row')) nt.remove();
              tr.replaceWith(row(fresh));
              summarise();
            });
            tr.after(panel);
            panel.querySelector('input[name=review_by]').focus();
          },
        }, '⟳'),
        button('Delete', { class: 'danger', 'data-action': 'delete', 'aria-label': `Delete ${p.name}`, onclick: async () => {
          if (!(await confirmDialog(`Delete ${p.name} from ${w.name} with all their photos? Cameras stop matching them at once.`))) return;
          try {
            await ctx.api.del(`/persons/${p.id}`);
            const next = tr.nextElementSibling;
            if (next && next.classList.contains('person-row')) next.remove();
            tr.remove();
            if (ctx.toast) ctx.toast(`${p.name} deleted.`, 'ok');
            reloadWatchlist();
          } catch (ex) { errorBox(ex, err); }
        } }, '✖')));
    return tr;
  }

  async function load(reset) {
    if (reset) { cursor = null; shown = 0; tbody.replaceChildren(); }
    more.disabled = true;
    try {
      const q = search.value.trim();
      const page = await ctx.api.get('/persons', { watchlist: w.id, limit: 50, ...(q ? { q } : {}), ...(cursor ? { cursor } : {}) });
      if (!alive) return;
      err.hidden = true;
      for (const p of page.items) tbody.append(row(p));
      summarise();
      shown += page.items.length;
      cursor = page.next_cursor;
      more.hidden = !cursor;
      table.hidden = !shown;
      empty.hidden = !!shown;
      empty.replaceChildren(shown ? '' : q
        ? emptyState(`Nobody in ${w.name} has "${q}" in their name. Check the spelling or clear the search.`)
        : w.expired ? emptyState(`${w.name} has no person. It has expired: renew its expiry above to enrol anyone.`)
          : emptyState(`${w.name} has no person yet. Add one by dropping their photos; each photo is checked before it is saved.`,
            button('Add person', { class: 'primary', onclick: openEnrol }, '+')));
    } catch (ex) {
      if (alive) errorBox(ex, err);
    } finally {
      more.disabled = false;
    }
  }

  searchForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = search.value.trim();
    history.replaceState(history.state, '', `/watchlists/${w.id}${q ? `?q=${encodeURIComponent(q)}` : ''}`);
    load(true);
  });
  more.addEventListener('click', () => load(false));

  // Changes by others (another supervisor, the CLI): the counts follow;
  // the list itself is reloaded by the Search button, so open panels stay.
  const off = ctx.events ? ctx.events.on('watchlist.change', () => { if (alive) reloadWatchlist(); }) : null;
  await load(true);
  return () => {
    alive = false;
    if (typeof off === 'function') off();
    for (const c of cleanups) c();
  };
}

export async function render(main, ctx) {
  return ctx.params && ctx.params.id ? renderOne(main, ctx, ctx.params.id) : renderList(main, ctx);
}
