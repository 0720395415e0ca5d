// Alert history (/alerts): filters kept in the URL query (since, until,
// camera, watchlist, person, status: the names GET /api/v1/alerts takes),
// newest first, "Older" pages with next_cursor; each row opens /alerts/ID.
import {
  h, fmtTime, errorBox, emptyState, field, select, statusBadge, queryWith,
  isoToLocalInput, localInputToIso, getAll,
  stackOnPhone,
} from './_shared.js';

export const meta = { title: 'Alert history', roles: ['operator', 'supervisor'], nav: true };

const FILTERS = ['since', 'until', 'camera', 'watchlist', 'person', 'status'];

export async function render(main, ctx) {
  let alive = true;
  const q = ctx.query;
  const err = h('div', { role: 'alert', class: 'error-box', hidden: true });

  const camSel = select('camera', [{ value: '', label: 'All cameras' }], q.get('camera'));
  const wlSel = select('watchlist', [{ value: '', label: 'All watchlists' }], q.get('watchlist'));
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter alerts' },
    field('From (local time)', h('input', { type: 'datetime-local', name: 'since', value: isoToLocalInput(q.get('since')) })),
    field('To (local time)', h('input', { type: 'datetime-local', name: 'until', value: isoToLocalInput(q.get('until')) })),
    field('Camera', camSel),
    field('Watchlist', wlSel),
    field('Person', h('input', { type: 'search', name: 'person', value: q.get('person') || '', placeholder: 'exact name', autocomplete: 'off' })),
    field('Status', select('status', [
      { value: '', label: 'Any status' },
      { value: 'pending', label: 'Pending' },
      { value: 'confirmed', label: 'Confirmed' },
      { value: 'rejected', label: 'Rejected' },
    ], q.get('status'))),
    h('div', { class: 'filter-actions' },
      h('button', { type: 'submit' }, 'Apply filters'),
      h('button', { type: 'reset' }, 'Clear')));

  const tbody = h('tbody');
  const table = h('table', { 'data-list': 'alerts', class: 'list' },
    h('caption', { class: 'visually-hidden' }, 'Alerts, newest first'),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'Time'),
      h('th', { scope: 'col' }, 'Person'),
      h('th', { scope: 'col' }, 'Watchlist'),
      h('th', { scope: 'col' }, 'Camera'),
      h('th', { scope: 'col' }, 'Score'),
      h('th', { scope: 'col' }, 'Status'))),
    tbody);
  stackOnPhone(table);
  const older = h('button', { type: 'button', hidden: true, 'data-action': 'older' }, 'Older alerts');
  const empty = h('div', { hidden: true });
  const count = h('p', { class: 'list-count', 'aria-live': 'polite' });

  main.append(h('h1', {}, 'Alert history'), form, err, count, h('div', { class: 'table-wrap' }, table), empty,
    h('div', { class: 'pager' }, older));

  // Filter choices (best effort: the list still works without them).
  getAll(ctx.api, '/cameras').then((cams) => {
    if (!alive) return;
    for (const c of cams) camSel.append(h('option', { value: c.name, selected: c.name === q.get('camera') }, c.name));
  }).catch(() => {});
  getAll(ctx.api, '/watchlists').then((wls) => {
    if (!alive) return;
    for (const w of wls) wlSel.append(h('option', { value: w.name, selected: w.name === q.get('watchlist') }, w.name));
  }).catch(() => {});

  let cursor = null;
  let shown = 0;

  function filters() {
    const p = {};
    for (const k of FILTERS) {
      const v = new URLSearchParams(location.search).get(k);
      if (v) p[k] = v;
    }
    return p;
  }

  function row(a) {
    const href = `/alerts/${a.id}`;
    const open = (e) => {
      if (e.target.closest('a')) return;
      ctx.navigate(href);
    };
    return h('tr', { 'data-id': a.id, 'data-status': a.status, class: 'clickable', onclick: open },
      h('td', {}, h('a', { href, onclick: (e) => { e.preventDefault(); ctx.navigate(href); } }, fmtTime(a.time))),
      h('td', {}, a.person),
      h('td', {}, a.watchlist),
      h('td', {}, a.camera),
      h('td', { class: 'num' }, typeof a.score === 'number' ? a.score.toFixed(3) : '—',
        typeof a.threshold === 'number' ? h('span', { class: 'muted' }, ` / ${a.threshold.toFixed(3)}`) : null),
      h('td', {}, statusBadge(a.status)));
  }

  async function load(reset) {
    err.hidden = true;
    if (reset) {
      cursor = null;
      shown = 0;
      tbody.replaceChildren();
    }
    older.disabled = true;
    try {
      const page = await ctx.api.get('/alerts', { ...filters(), limit: 50, ...(cursor ? { cursor } : {}) });
      if (!alive) return;
      for (const a of page.items) tbody.append(row(a));
      shown += page.items.length;
      cursor = page.next_cursor;
      older.hidden = !cursor;
      const any = Object.keys(filters()).length > 0;
      table.hidden = shown === 0;
      empty.hidden = shown !== 0;
      empty.replaceChildren(shown ? '' : emptyState(any
        ? 'No alert matches these filters. Widen the time range or clear a filter.'
        : 'No alerts yet. Alerts appear here once a camera sees a person on a watchlist; watch them arrive on the Live page.',
      any ? h('button', { type: 'button', onclick: () => { form.reset(); } }, 'Clear filters') : null));
      count.textContent = shown ? `${shown} alert${shown === 1 ? '' : 's'} shown${cursor ? ' — more below' : ''}` : '';
    } catch (e) {
      if (alive) errorBox(e, err);
    } finally {
      older.disabled = false;
    }
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const fd = new FormData(form);
    const params = {};
    for (const k of FILTERS) params[k] = fd.get(k) || '';
    params.since = localInputToIso(params.since);
    params.until = localInputToIso(params.until);
    history.pushState(null, '', `/alerts${queryWith(location.search, params)}`);
    load(true);
  });
  form.addEventListener('reset', () => {
    // After the browser reset the fields to their defaults: clear them all.
    setTimeout(() => {
      for (const el of form.elements) if (el.name) el.value = '';
      history.pushState(null, '', '/alerts');
      load(true);
    });
  });
  older.addEventListener('click', () => load(false));

  // New alerts: a hint to reload rather than moving rows under the reader.
  const fresh = h('button', { type: 'button', class: 'fresh', hidden: true }, 'New alerts — show them');
  fresh.addEventListener('click', () => { fresh.hidden = true; load(true); });
  count.after(fresh);
  const offs = [];
  if (ctx.events) {
    offs.push(ctx.events.on('alert', () => { if (!cursor || shown) fresh.hidden = false; }));
    offs.push(ctx.events.on('decision', (d) => {
      const tr = tbody.querySelector(`tr[data-id="${Number(d.alert_id)}"]`);
      if (!tr) return;
      tr.dataset.status = d.decision;
      tr.lastElementChild.replaceChildren(statusBadge(d.decision));
    }));
  }

  await load(true);
  return () => {
    alive = false;
    for (const off of offs) if (typeof off === 'function') off();
  };
}
