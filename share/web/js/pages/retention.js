// Retention (/retention; admin changes, auditor reads): how long each class
// of stored data is kept (GET/PATCH /api/v1/retention), what a purge would
// remove now (POST /api/v1/retention/purge?dry_run=1), and a purge on
// demand. The server also purges by itself every --purge-every seconds.
import { h, fmtTime, errorBox, confirmDialog, stackOnPhone } from './_shared.js';
import { toast } from '../ui.js';

export const meta = { title: 'Retention', roles: ['admin', 'auditor'], nav: true };

const CLASSES = [
  ['alerts', 'Alerts', 'with their face crops and decisions'],
  ['decisions', 'Decisions', "operators' decisions (the alert itself stays)"],
  ['unmatched', 'Unmatched faces', 'kept only when a camera keeps them; they also go at their own expiry'],
  ['negatives', 'Negative examples', 'templates of rejected alerts, which keep look-alikes from alarming again'],
  ['events', 'Live events', 'the log that reconnecting screens replay'],
  ['exports', 'Exports', 'files written by person and audit exports'],
  ['audit', 'Audit log', 'the newest entry always stays; the hash chain then starts after the cut'],
];
const UNITS = [['86400', 'days'], ['3600', 'hours'], ['31536000', 'years']];

// Seconds as [amount, unit seconds] in the largest unit that divides them.
function split(seconds) {
  for (const u of [31536000, 86400, 3600]) if (seconds && seconds % u === 0) return [seconds / u, u];
  if (!seconds) return [30, 86400];
  return [Math.max(1, Math.round(seconds / 3600)), 3600];
}

function lifetimeText(s) {
  if (!s) return 'kept until removed by hand';
  const [n, u] = split(s);
  const word = UNITS.find(([v]) => Number(v) === u)[1];
  return `${n} ${n === 1 ? word.replace(/s$/, '') : word}`;
}

export async function render(main, ctx) {
  let alive = true;
  const canEdit = ctx.user && ctx.user.role === 'admin';
  const err = h('div', { role: 'alert', class: 'error-box', hidden: true });
  const form = h('form', { class: 'retention', 'aria-label': 'Retention per data class' });
  const report = h('section', { 'aria-label': 'Purge preview', hidden: true, 'data-part': 'report' });
  main.append(h('h1', {}, 'Retention'),
    h('p', { class: 'hint' }, 'How long argus keeps each kind of data. What is older goes at the next purge ' +
      '(the server runs one every hour, and on demand here); the audit log records every change and every purge.'),
    err, form, report);

  let current = {};

  function renderForm() {
    const tbody = h('tbody');
    for (const [key, label, hint] of CLASSES) {
      const s = current[key] || 0;
      const [n, u] = split(s);
      const cells = [
        h('th', { scope: 'row' }, label, h('small', { class: 'hint retention-hint' }, hint)),
        h('td', { 'data-current': key }, lifetimeText(s)),
      ];
      if (canEdit) {
        const keep = h('input', { type: 'checkbox', name: `${key}-keep`, checked: !s, 'aria-label': `${label}: keep until removed by hand` });
        const amount = h('input', { type: 'number', name: `${key}-n`, min: 1, max: 36500, step: 1, value: s ? n : '', disabled: !s, inputmode: 'numeric', class: 'retention-n', 'aria-label': `${label}: keep for` });
        const unit = h('select', { name: `${key}-u`, disabled: !s, 'aria-label': `${label}: unit` },
          UNITS.map(([v, l]) => h('option', { value: v, selected: Number(v) === u }, l)));
        keep.addEventListener('change', () => {
          amount.disabled = unit.disabled = keep.checked;
          if (!keep.checked && !amount.value) amount.value = 30;
        });
        cells.push(h('td', { class: 'retention-edit' },
          h('label', { class: 'check' }, keep, ' until removed by hand'), amount, unit));
      }
      tbody.append(h('tr', { 'data-class': key }, cells));
    }
    const table = h('table', { class: 'list', 'data-list': 'retention' },
      h('caption', { class: 'visually-hidden' }, 'Lifetime of each data class'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Data class'), h('th', { scope: 'col' }, 'Kept now'),
        canEdit ? h('th', { scope: 'col' }, 'Change to') : '')),
      tbody);
    stackOnPhone(table);
    const actions = h('div', { class: 'filter-actions' },
      canEdit ? h('button', { type: 'submit', 'data-action': 'save' }, 'Save lifetimes') : '',
      canEdit ? h('button', { type: 'button', 'data-action': 'preview' }, 'Preview purge') : '',
      canEdit ? h('button', { type: 'button', class: 'danger', 'data-action': 'purge' }, 'Purge now') : '');
    form.replaceChildren(h('div', { class: 'table-wrap' }, table), actions);
    const prev = form.querySelector('[data-action=preview]');
    if (prev) prev.addEventListener('click', () => purge(true));
    const now = form.querySelector('[data-action=purge]');
    if (now) now.addEventListener('click', async () => {
      if (await confirmDialog('Delete everything older than its lifetime now? This cannot be undone.', 'Purge now')) purge(false);
    });
  }

  function showReport(r) {
    const tbody = h('tbody');
    for (const [key, label] of CLASSES) {
      const c = r.classes[key];
      tbody.append(h('tr', { 'data-class': key },
        h('td', {}, label),
        h('td', {}, c.before ? fmtTime(c.before) : 'no lifetime set'),
        h('td', { class: 'num' }, String(c.count))));
    }
    const table = h('table', { class: 'list', 'data-list': 'purge' },
      h('caption', {}, r.dry_run ? 'Would go now (' : 'Purged (', fmtTime(r.now), ')'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Data class'), h('th', { scope: 'col' }, 'Older than'),
        h('th', { scope: 'col' }, 'Items'))),
      tbody);
    stackOnPhone(table);
    const items = r.items.length
      ? h('details', {}, h('summary', {}, `${r.items.length} items listed`),
        h('ul', {}, r.items.map((i) => h('li', {}, `${i.class} ${i.id} · `, fmtTime(i.time), ` · ${i.what}`))))
      : '';
    report.replaceChildren(h('h2', {}, r.dry_run ? 'Purge preview' : 'Purge done'), h('div', { class: 'table-wrap' }, table), items);
    report.hidden = false;
  }

  async function purge(dry) {
    err.hidden = true;
    try {
      const r = await ctx.api.post(`/retention/purge${dry ? '?dry_run=1&limit=200' : ''}`);
      if (!alive) return;
      showReport(r);
      if (!dry) {
        const n = Object.values(r.classes).reduce((a, c) => a + c.count, 0);
        toast(n ? `Purged ${n} items` : 'Nothing was old enough to purge', 'ok');
      }
    } catch (e) {
      if (alive) errorBox(e, err);
    }
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.hidden = true;
    const fd = new FormData(form);
    const body = {};
    for (const [key, label] of CLASSES) {
      let s = 0;
      if (!fd.get(`${key}-keep`)) {
        const n = Number(fd.get(`${key}-n`));
        if (!Number.isInteger(n) || n < 1) {
          errorBox(new Error(`${label}: enter a whole number of days, hours or years, or tick "keep until removed by hand".`), err);
          return;
        }
        s = n * Number(fd.get(`${key}-u`));
      }
      if (s !== (current[key] || 0)) body[key] = s;
    }
    if (!Object.keys(body).length) {
      toast('Nothing changed', 'info');
      return;
    }
    try {
      current = await ctx.api.patch('/retention', body);
      if (!alive) return;
      renderForm();
      toast('Lifetimes saved', 'ok');
    } catch (ex) {
      if (alive) errorBox(ex, err);
    }
  });

  try {
    current = await ctx.api.get('/retention');
    if (alive) renderForm();
  } catch (e) {
    if (alive) errorBox(e, err);
  }
  return () => { alive = false; };
}
