// One alert (/alerts/:id): the probe crop, the full-frame thumbnail, the
// enrolled photo it matched, person, watchlist, score against threshold,
// camera, track times; its decision (an operator decides a pending alert;
// a 409 names the decision that stands) and its trail.
//
// The trail: operators and supervisors may not read the audit log
// (GET /api/v1/audit is auditor and admin), so for them it is the alert's
// own "decisions"; an auditor or admin (who may not read the alert itself:
// it is biometric) gets the audit log's rows for the alert
// (object_type=alert, object_id=ID) and nothing else.
import {
  h, fmtTime, errorBox, emptyState, statusBadge, fmtScore, apiImg, detailText,
  stackOnPhone,
} from './_shared.js';

export const meta = {
  title: 'Alert',
  roles: ['operator', 'supervisor', 'auditor', 'admin'],
  nav: false,
};

const DECIDED = { confirmed: 'confirmed', rejected: 'rejected' };

function decisionWords(d) {
  if (!d) return 'No decision yet.';
  return [
    `${d.decision === 'confirmed' ? '✔ Confirmed' : '✖ Rejected'} by ${d.operator} at `,
    fmtTime(d.time),
    d.comment ? ` — “${d.comment}”` : ' (no comment)',
  ];
}

async function auditTrail(ctx, id) {
  const box = h('section', { class: 'card', 'aria-labelledby': 'trail-h' },
    h('h2', { id: 'trail-h' }, 'Audit trail'));
  const tbody = h('tbody');
  const table = h('table', { 'data-list': 'audit', class: 'list' },
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'Time'), h('th', { scope: 'col' }, 'Who'),
      h('th', { scope: 'col' }, 'Action'), h('th', { scope: 'col' }, 'Detail'))),
    tbody);
  stackOnPhone(table);
  const more = h('button', { type: 'button', hidden: true }, 'Older entries');
  let cursor = null;
  const err = h('div', { role: 'alert', class: 'error-box', hidden: true });
  async function load() {
    more.disabled = true;
    try {
      const page = await ctx.api.get('/audit', { object_type: 'alert', object_id: id, limit: 100, ...(cursor ? { cursor } : {}) });
      for (const a of page.items) {
        tbody.append(h('tr', { 'data-id': a.id },
          h('td', {}, fmtTime(a.time)), h('td', {}, a.actor), h('td', {}, a.action),
          h('td', { class: 'detail' }, detailText(a.detail))));
      }
      cursor = page.next_cursor;
      more.hidden = !cursor;
      if (!tbody.children.length) table.replaceWith(emptyState('Nothing was recorded for this alert yet: the trail fills as people view and decide it.'));
    } catch (e) {
      errorBox(e, err);
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', load);
  box.append(err, h('div', { class: 'table-wrap' }, table), more);
  await load();
  return box;
}

export async function render(main, ctx) {
  const id = ctx.params.id;
  const role = ctx.user && ctx.user.role;
  main.append(h('p', { class: 'back' }, h('a', {
    href: role === 'auditor' || role === 'admin' ? '/audit' : '/alerts',
    onclick: (e) => { e.preventDefault(); ctx.navigate(e.currentTarget.getAttribute('href')); },
  }, role === 'auditor' || role === 'admin' ? '← Audit log' : '← Alert history')));

  if (role === 'auditor' || role === 'admin') {
    main.append(h('h1', {}, `Alert ${id}`),
      h('p', { class: 'muted' }, 'Your role sees who viewed and decided this alert, not its images.'),
      await auditTrail(ctx, id));
    return () => {};
  }

  let a;
  try {
    a = await ctx.api.get(`/alerts/${encodeURIComponent(id)}`);
  } catch (e) {
    main.append(h('h1', {}, `Alert ${id}`), errorBox(e),
      h('p', {}, h('a', { href: '/alerts', onclick: (ev) => { ev.preventDefault(); ctx.navigate('/alerts'); } }, 'Back to the alert history')));
    return () => {};
  }

  const article = h('article', { class: 'alert-card alert-detail', 'data-alert-id': a.id, 'data-status': a.status });
  const statusEl = h('span', {}, statusBadge(a.status));
  const trackLen = typeof a.track_start === 'number' && typeof a.media_time === 'number'
    ? `${Math.max(0, a.media_time - a.track_start).toFixed(1)} s` : 'unknown';

  const facts = h('dl', { class: 'facts' },
    h('dt', {}, 'Person'), h('dd', {}, a.person),
    h('dt', {}, 'Watchlist'), h('dd', {}, a.watchlist, a.ack_required ? h('span', { class: 'badge' }, ' ⚑ acknowledgement required') : null),
    h('dt', {}, 'Score'), h('dd', {}, fmtScore(a.score, a.threshold)),
    h('dt', {}, 'Camera'), h('dd', {}, a.camera),
    h('dt', {}, 'Time'), h('dd', {}, fmtTime(a.time)),
    h('dt', {}, 'In the video'), h('dd', {},
      typeof a.track_start === 'number' ? `track ${a.track} from ${a.track_start.toFixed(1)} s to ${a.media_time.toFixed(1)} s (${trackLen})`
        : `track ${a.track} at ${typeof a.media_time === 'number' ? a.media_time.toFixed(1) : '?'} s`),
    h('dt', {}, 'Status'), h('dd', {}, statusEl));
  // Verdict feedback: the four-eyes state and the negative-example mark.
  const needed = a.confirmations_needed || 1;
  const confirmsEl = h('span', { 'data-four-eyes': '' }, `${a.confirmations || 0} of ${needed} confirmations`);
  if (needed > 1) facts.append(h('dt', {}, 'Four-eyes'), h('dd', {}, confirmsEl));
  if (a.negative) {
    facts.append(h('dt', {}, 'Negative example'), h('dd', { 'data-negative': a.negative.id },
      `Marked: the face is nearer negative example ${a.negative.id} (a rejected alert's face; similarity ${Number(a.negative.score).toFixed(3)}) than to ${a.person} (${Number(a.score).toFixed(3)}).`));
  }
  function showConfirms(n) {
    a.confirmations = n;
    confirmsEl.textContent = `${n} of ${needed} confirmations`;
  }

  const images = h('div', { class: 'faces' },
    h('figure', {}, apiImg(a.crop_url, `Face seen by camera ${a.camera}`, 'No probe crop'), h('figcaption', {}, 'Seen')),
    h('figure', {}, apiImg(a.photo_url, `Enrolled photo of ${a.person}`, 'No enrolled photo'), h('figcaption', {}, 'Enrolled')));
  const frame = h('figure', { class: 'frame' },
    apiImg(a.thumb_url, `Full frame from camera ${a.camera}`, 'No frame thumbnail'),
    h('figcaption', {}, 'Full frame'));

  let onKey = null;
  const decisionBox = h('section', { class: 'card decision', 'aria-labelledby': 'dec-h' }, h('h2', { id: 'dec-h' }, 'Decision'));
  const historyList = h('ol', { class: 'decisions' });

  const noDecision = h('p', { class: 'muted' }, 'No decision recorded yet.');
  function showDecisions(list) {
    historyList.replaceChildren(...(list || []).map((d) => h('li', { 'data-id': d.id }, decisionWords(d))));
    noDecision.hidden = !!(list && list.length);
  }

  function showDecided(d, note) {
    article.dataset.status = d.decision;
    statusEl.replaceChildren(statusBadge(d.decision));
    decisionBox.replaceChildren(h('h2', { id: 'dec-h' }, 'Decision'),
      note ? h('p', { role: 'alert', class: 'notice' }, note) : '',
      h('p', { class: 'decided' }, decisionWords(d)));
  }

  if (a.status !== 'pending') {
    if (a.decision) showDecided(a.decision);
    else decisionBox.append(h('p', {}, `${statusBadge(a.status).textContent} (no record of who decided).`));
  } else if (role === 'operator') {
    const err = h('div', { role: 'alert', class: 'error-box', hidden: true });
    const comment = h('textarea', { name: 'comment', id: 'dec-comment', rows: 3, maxlength: 1000 });
    const form = h('form', { class: 'decide' },
      h('label', { for: 'dec-comment' }, 'Comment (optional)'), comment, err,
      h('div', { class: 'actions' },
        h('button', { type: 'submit', 'data-action': 'confirm', value: 'confirmed', class: 'confirm' },
          h('span', { 'aria-hidden': 'true' }, '✔ '), 'Confirm'),
        h('button', { type: 'submit', 'data-action': 'reject', value: 'rejected', class: 'reject' },
          h('span', { 'aria-hidden': 'true' }, '✖ '), 'Reject')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const decision = DECIDED[e.submitter && e.submitter.value];
      if (!decision) return;
      for (const b of form.querySelectorAll('button')) b.disabled = true;
      err.hidden = true;
      try {
        const d = await ctx.api.post(`/alerts/${a.id}/decision`, { decision, comment: comment.value.trim() || null });
        a.decisions = [d, ...(a.decisions || [])];
        showDecisions(a.decisions);
        if (needed > 1 && decision === 'confirmed') {
          // Four-eyes: the alert stays pending until a second operator confirms.
          const again = await ctx.api.get(`/alerts/${a.id}`);
          showConfirms(again.confirmations || 0);
          if (again.status === 'pending') {
            decisionBox.append(h('p', { role: 'status', class: 'notice', 'data-four-eyes-note': '' },
              `${again.confirmations} of ${needed} confirmations: a second, different operator must confirm it.`));
            form.querySelector('[data-action=confirm]').remove();
            form.querySelector('[data-action=reject]').disabled = false;
            if (ctx.toast) ctx.toast(`Alert ${a.id}: ${again.confirmations} of ${needed} confirmations.`, 'ok');
            return;
          }
        }
        showDecided(d);
        if (ctx.toast) ctx.toast(`Alert ${a.id} ${decision}.`, 'ok');
      } catch (ex) {
        if (ex.status === 409) {
          const body = ex.body || ex.data || {};
          const d = body.decision;
          // Four-eyes: the same operator confirming again gets 409 with their
          // own confirmation, and the alert stays pending.
          let pending = false;
          if (d && d.decision === 'confirmed' && needed > 1) {
            try { pending = (await ctx.api.get(`/alerts/${a.id}`)).status === 'pending'; } catch { /* as decided */ }
          }
          if (pending) {
            errorBox(ex, err);
          } else if (d) {
            showDecided(d, `Already decided by ${d.operator}: your decision was not recorded.`);
            if (!(a.decisions || []).some((x) => x.id === d.id)) a.decisions = [d, ...(a.decisions || [])];
            showDecisions(a.decisions);
          } else {
            // The error carries no decision: read the alert again.
            try {
              const again = await ctx.api.get(`/alerts/${a.id}`);
              if (again.decision) showDecided(again.decision, `Already decided by ${again.decision.operator}: your decision was not recorded.`);
              else errorBox(ex, err);
              showDecisions(again.decisions);
            } catch { errorBox(ex, err); }
          }
        } else {
          errorBox(ex, err);
        }
        for (const b of form.querySelectorAll('button')) b.disabled = false;
      }
    });
    decisionBox.append(h('p', {}, 'Pending: compare the faces, then confirm or reject ',
      h('span', { class: 'muted' }, '(keys C and R; Esc leaves the comment box).')), form);
    // The live page's shortcuts: C confirms, R rejects (not while typing).
    onKey = (e) => {
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || document.querySelector('dialog[open]')) return;
      const t = e.target;
      if (t && t.closest && t.closest('input, textarea, select, [contenteditable]')) {
        if (e.key === 'Escape' && t === comment) { e.preventDefault(); comment.blur(); }
        return;
      }
      const k = e.key.length === 1 ? e.key.toLowerCase() : '';
      const b = k === 'c' ? form.querySelector('[data-action=confirm]') : k === 'r' ? form.querySelector('[data-action=reject]') : null;
      if (!b || !b.isConnected || b.disabled) return;
      e.preventDefault();
      b.click();
    };
    document.addEventListener('keydown', onKey);
  } else {
    decisionBox.append(h('p', {}, 'Pending: an operator has not decided yet.'));
  }

  showDecisions(a.decisions);
  const trail = h('section', { class: 'card', 'aria-labelledby': 'hist-h' },
    h('h2', { id: 'hist-h' }, 'Decision history'),
    historyList,
    noDecision,
    h('p', { class: 'muted small' }, 'The full audit trail (who viewed the images) is in the audit log, which auditors and admins read.'));

  article.append(h('h1', {}, `Alert ${a.id}: ${a.person}`),
    h('div', { class: 'detail-grid' }, h('div', {}, images, frame), facts));
  main.append(article, decisionBox, trail);

  // Another operator's decision arrives live.
  const off = ctx.events ? ctx.events.on('decision', (d) => {
    if (String(d.alert_id) !== String(a.id)) return;
    if (!(a.decisions || []).some((x) => x.id === d.id)) {
      a.decisions = [d, ...(a.decisions || [])];
      showDecisions(a.decisions);
    }
    if (article.dataset.status !== 'pending') return;
    if (needed > 1 && d.decision === 'confirmed') {
      // Four-eyes: a confirmation decides only when it is the second.
      ctx.api.get(`/alerts/${a.id}`).then((again) => {
        showConfirms(again.confirmations || 0);
        if (again.status !== 'pending') showDecided(d, `Decided by ${d.operator}.`);
      }).catch(() => {});
      return;
    }
    showDecided(d, `Decided by ${d.operator}.`);
  }) : null;
  return () => {
    if (typeof off === 'function') off();
    if (onKey) document.removeEventListener('keydown', onKey);
  };
}

