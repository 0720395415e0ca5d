// The audit log (/audit, auditor and admin): who did what to which object,
// newest first, filtered by actor, action, object type (and id) and time
// range (the query names of GET /api/v1/audit, kept in the URL), paged
// with next_cursor.
import {
  h, fmtTime, errorBox, emptyState, field, queryWith, isoToLocalInput, localInputToIso, detailText,
  stackOnPhone,
} from './_shared.js';

export const meta = { title: 'Audit log', roles: ['auditor', 'admin'], nav: true };

const FILTERS = ['actor', 'action', 'object_type', 'object_id', 'since', 'until'];
const ACTIONS = [
  'api.alert.decision', 'alert.decision', 'alert.crop', 'alert.thumb', 'alert.insert', 'alert.set_status',
  'camera.add', 'camera.update', 'camera.remove', 'camera.snapshot', 'crop.read', 'identify',
  'login.failed', 'session.create', 'session.end', 'person.add', 'person.enrol', 'person.delete',
  'person.photos_add', 'photo.check', 'photo.image', 'photo.delete', 'token.create', 'token.revoke',
  'user.add', 'watchlist.create', 'watchlist.delete', 'webhook.add', 'webhook.remove',
];
const TYPES = ['alert', 'camera', 'crop', 'deadletter', 'event', 'person', 'photo', 'token', 'user', 'watchlist', 'webhook'];

export async function render(main, ctx) {
  let alive = true;
  const q = ctx.query;
  const err = h('div', { role: 'alert', class: 'error-box', hidden: true });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter the audit log' },
    field('Actor', h('input', { name: 'actor', value: q.get('actor') || '', autocomplete: 'off', placeholder: 'api:alice' }),
      'Exact: api:NAME, pipeline, cli:NAME.'),
    field('Action', h('input', { name: 'action', value: q.get('action') || '', list: 'audit-actions', autocomplete: 'off' }),
      'Exact, or a prefix ending in a dot (alert.).'),
    h('datalist', { id: 'audit-actions' }, ACTIONS.map((a) => h('option', { value: a }))),
    field('Object type', h('input', { name: 'object_type', value: q.get('object_type') || '', list: 'audit-types', autocomplete: 'off' })),
    h('datalist', { id: 'audit-types' }, TYPES.map((a) => h('option', { value: a }))),
    field('Object id', h('input', { name: 'object_id', type: 'number', min: 1, step: 1, value: q.get('object_id') || '' })),
    field('From (local time)', h('input', { type: 'datetime-local', name: 'since', value: isoToLocalInput(q.get('since')) })),
    field('To (local time)', h('input', { type: 'datetime-local', name: 'until', value: isoToLocalInput(q.get('until')) })),
    h('div', { class: 'filter-actions' },
      h('button', { type: 'submit' }, 'Apply filters'),
      h('button', { type: 'reset' }, 'Clear')));

  const tbody = h('tbody');
  const table = h('table', { class: 'list', 'data-list': 'audit' },
    h('caption', { class: 'visually-hidden' }, 'Audit entries, newest first'),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'Time'), h('th', { scope: 'col' }, 'Actor'),
      h('th', { scope: 'col' }, 'Action'), h('th', { scope: 'col' }, 'Object'),
      h('th', { scope: 'col' }, 'Detail'))),
    tbody);
  stackOnPhone(table);
  const older = h('button', { type: 'button', hidden: true, 'data-action': 'older' }, 'Older entries');
  const empty = h('div', { hidden: true });
  main.append(h('h1', {}, 'Audit log'), form, err, h('div', { class: 'table-wrap' }, table), empty, h('div', { class: 'pager' }, older));

  let cursor = null;
  let shown = 0;

  function filters() {
    const cur = new URLSearchParams(location.search);
    const p = {};
    for (const k of FILTERS) if (cur.get(k)) p[k] = cur.get(k);
    return p;
  }

  function objectCell(a) {
    if (!a.object_type) return '—';
    const label = a.object_id ? `${a.object_type} ${a.object_id}` : a.object_type;
    if (a.object_type === 'alert' && a.object_id) {
      const href = `/alerts/${a.object_id}`;
      return h('a', { href, onclick: (e) => { e.preventDefault(); ctx.navigate(href); } }, label);
    }
    return label;
  }

  async function load(reset) {
    err.hidden = true;
    if (reset) { cursor = null; shown = 0; tbody.replaceChildren(); }
    older.disabled = true;
    try {
      const page = await ctx.api.get('/audit', { ...filters(), limit: 100, ...(cursor ? { cursor } : {}) });
      if (!alive) return;
      for (const a of page.items) {
        tbody.append(h('tr', { 'data-id': a.id },
          h('td', {}, fmtTime(a.time)),
          h('td', {}, a.actor || '—'),
          h('td', {}, h('code', {}, a.action)),
          h('td', {}, objectCell(a)),
          h('td', { class: 'detail' }, detailText(a.detail))));
      }
      shown += page.items.length;
      cursor = page.next_cursor;
      older.hidden = !cursor;
      table.hidden = !shown;
      empty.hidden = !!shown;
      const any = Object.keys(filters()).length > 0;
      empty.replaceChildren(shown ? '' : emptyState(any
        ? 'No entry matches these filters. Actions and object types must match exactly; widen the time range or clear a filter.'
        : 'The audit log is empty. Every sign-in, change and view of biometric data is recorded here.'));
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
    for (const k of FILTERS) params[k] = String(fd.get(k) || '').trim();
    params.since = localInputToIso(params.since);
    params.until = localInputToIso(params.until);
    history.pushState(null, '', `/audit${queryWith(location.search, params)}`);
    load(true);
  });
  form.addEventListener('reset', () => {
    setTimeout(() => {
      for (const el of form.elements) if (el.name) el.value = '';
      history.pushState(null, '', '/audit');
      load(true);
    });
  });
  older.addEventListener('click', () => load(false));

  await load(true);
  return () => { alive = false; };
}
