// Users and API tokens (/users, admin): add a user (name, role, password),
// change a role, disable / enable, reset a password, delete; list API
// tokens, create one (its secret is shown once, with a copy button),
// revoke one. The server refuses what would lock everyone out (the last
// enabled admin) and short passwords; its words are shown.
import {
  h, fmtTime, errorBox, emptyState, field, select, confirmDialog, button, copyText, getAll,
  stackOnPhone,
} from './_shared.js';

export const meta = { title: 'Users', roles: ['admin'], nav: true };

const ROLES = [
  { value: 'operator', label: 'Operator — sees alerts, decides' },
  { value: 'supervisor', label: 'Supervisor — watchlists and persons' },
  { value: 'auditor', label: 'Auditor — reads the audit log' },
  { value: 'admin', label: 'Admin — users, cameras, settings' },
];
const MIN_PASSWORD = 8; // ARGUS_STORE_PASSWORD_MIN

// A modal asking for a new password: the password, or null when cancelled.
function askPassword(userName) {
  return new Promise((resolve) => {
    const pw = h('input', { type: 'password', name: 'password', id: 'reset-pw', minlength: MIN_PASSWORD, required: true, autocomplete: 'new-password' });
    const d = h('dialog', { class: 'confirm-dialog', 'aria-labelledby': 'reset-h' },
      h('form', { method: 'dialog' },
        h('h2', { id: 'reset-h' }, `New password for ${userName}`),
        field('New password', pw, `At least ${MIN_PASSWORD} characters. The user's sessions end.`),
        h('div', { class: 'actions' },
          h('button', { type: 'submit', value: 'cancel', formnovalidate: true }, 'Cancel'),
          h('button', { type: 'submit', value: 'ok', class: 'primary' }, 'Set password'))));
    d.addEventListener('close', () => {
      resolve(d.returnValue === 'ok' ? pw.value : null);
      d.remove();
    });
    document.body.append(d);
    d.showModal();
    pw.focus();
  });
}

export async function render(main, ctx) {
  let alive = true;
  const me = ctx.user || {};
  const err = h('div', { role: 'alert', class: 'error-box', hidden: true });

  // ---- users -----------------------------------------------------------------
  const uerr = h('div', { role: 'alert', class: 'error-box', hidden: true });
  const addForm = h('form', { class: 'card inline-form', 'aria-labelledby': 'adduser-h' },
    h('h2', { id: 'adduser-h' }, 'Add a user'),
    field('Name', h('input', { name: 'name', required: true, maxlength: 127, autocomplete: 'off' })),
    field('Role', select('role', ROLES, 'operator')),
    field('Password', h('input', { name: 'password', type: 'password', required: true, minlength: MIN_PASSWORD, autocomplete: 'new-password' }),
      `At least ${MIN_PASSWORD} characters; tell it to the user privately.`),
    uerr,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Add user')));
  const utbody = h('tbody');
  const utable = h('table', { class: 'list', 'data-list': 'users' },
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Role'),
      h('th', { scope: 'col' }, 'State'), h('th', { scope: 'col' }, 'Created'),
      h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
    utbody);

  stackOnPhone(utable);
  // ---- tokens ----------------------------------------------------------------
  const terr = h('div', { role: 'alert', class: 'error-box', hidden: true });
  const tokenUser = select('user', []);
  const tokForm = h('form', { class: 'card inline-form', 'aria-labelledby': 'addtok-h' },
    h('h2', { id: 'addtok-h' }, 'Create an API token'),
    field('For user', tokenUser, 'The token acts with this user\'s role.'),
    field('Label', h('input', { name: 'name', required: true, maxlength: 127, autocomplete: 'off', placeholder: 'e.g. cron backup' })),
    field('Expires (local time, optional)', h('input', { name: 'expires', type: 'datetime-local' })),
    terr,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create token')));
  const secretSlot = h('div');
  const ttbody = h('tbody');
  const ttable = h('table', { class: 'list', 'data-list': 'tokens' },
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'Label'), h('th', { scope: 'col' }, 'User'),
      h('th', { scope: 'col' }, 'Created'), h('th', { scope: 'col' }, 'Expires'),
      h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
    ttbody);
  stackOnPhone(ttable);
  const tempty = h('div', { hidden: true });

  main.append(h('h1', {}, 'Users'), err,
    h('div', { class: 'table-wrap' }, utable), addForm,
    h('h2', { class: 'section-h' }, 'API tokens'),
    h('p', { class: 'muted' }, 'Machines (scripts, dispatch systems) call the API with a token: Authorization: Bearer <token>.'),
    secretSlot, h('div', { class: 'table-wrap' }, ttable), tempty, tokForm);

  function userRow(u) {
    const roleSel = select('role', ROLES.map((r) => ({ value: r.value, label: r.value })), u.role);
    roleSel.id = `role-${u.id}`;
    roleSel.setAttribute('aria-label', `Role of ${u.name}`);
    roleSel.addEventListener('change', async () => {
      try {
        await ctx.api.patch(`/users/${u.id}`, { role: roleSel.value });
        if (ctx.toast) ctx.toast(`${u.name} is now ${roleSel.value}.`, 'ok');
        loadUsers();
      } catch (ex) {
        roleSel.value = u.role;
        errorBox(ex, err);
      }
    });
    const you = me.id === u.id || me.name === u.name;
    return h('tr', { 'data-id': u.id, 'data-disabled': u.disabled ? 'true' : 'false' },
      h('th', { scope: 'row' }, u.name, you ? h('span', { class: 'muted' }, ' (you)') : null),
      h('td', {}, roleSel),
      h('td', {}, u.disabled ? '■ disabled' : '● enabled'),
      h('td', {}, fmtTime(u.created)),
      h('td', { class: 'row-actions' },
        button(u.disabled ? 'Enable' : 'Disable', { 'data-action': u.disabled ? 'enable' : 'disable', 'aria-label': `${u.disabled ? 'Enable' : 'Disable'} ${u.name}`, onclick: async () => {
          if (!u.disabled && !(await confirmDialog(`Disable ${u.name}? Their sessions end and their tokens stop working.`, 'Disable'))) return;
          try {
            await ctx.api.patch(`/users/${u.id}`, { disabled: !u.disabled });
            loadUsers();
          } catch (ex) { errorBox(ex, err); }
        } }, u.disabled ? '▶' : '■'),
        button('Reset password', { 'data-action': 'password', 'aria-label': `Reset the password of ${u.name}`, onclick: async () => {
          const pw = await askPassword(u.name);
          if (pw === null) return;
          try {
            await ctx.api.patch(`/users/${u.id}`, { password: pw });
            if (ctx.toast) ctx.toast(`Password of ${u.name} changed.`, 'ok');
          } catch (ex) { errorBox(ex, err); }
        } }),
        button('Delete', { 'data-action': 'delete', class: 'danger', 'aria-label': `Delete ${u.name}`, onclick: async () => {
          if (!(await confirmDialog(`Delete user ${u.name} with their sessions and tokens? Their past decisions and audit entries keep their name.`))) return;
          try {
            await ctx.api.del(`/users/${u.id}`);
            if (ctx.toast) ctx.toast(`${u.name} deleted.`, 'ok');
            loadUsers();
            loadTokens();
          } catch (ex) { errorBox(ex, err); }
        } }, '✖')));
  }

  async function loadUsers() {
    try {
      const users = await getAll(ctx.api, '/users');
      if (!alive) return;
      err.hidden = true;
      utbody.replaceChildren(...users.map(userRow));
      const keep = tokenUser.value;
      tokenUser.replaceChildren(...users.filter((u) => !u.disabled).map((u) => h('option', { value: u.name }, `${u.name} (${u.role})`)));
      if (keep) tokenUser.value = keep;
    } catch (ex) {
      if (alive) errorBox(ex, err);
    }
  }

  async function loadTokens() {
    try {
      const tokens = await getAll(ctx.api, '/tokens');
      if (!alive) return;
      ttbody.replaceChildren(...tokens.map((t) => h('tr', { 'data-id': t.id },
        h('th', { scope: 'row' }, t.name),
        h('td', {}, t.user),
        h('td', {}, fmtTime(t.created)),
        h('td', {}, t.expires ? fmtTime(t.expires) : 'never'),
        h('td', { class: 'row-actions' },
          button('Revoke', { class: 'danger', 'data-action': 'revoke', 'aria-label': `Revoke token ${t.name} of ${t.user}`, onclick: async () => {
            if (!(await confirmDialog(`Revoke the token "${t.name}" of ${t.user}? Programs using it stop working at once.`, 'Revoke'))) return;
            try {
              await ctx.api.del(`/tokens/${t.id}`);
              loadTokens();
            } catch (ex) { errorBox(ex, terr); }
          } }, '✖')))));
      ttable.hidden = !tokens.length;
      tempty.hidden = !!tokens.length;
      tempty.replaceChildren(tokens.length ? '' : emptyState('No API token. Create one below for a script or another system; it is shown once.'));
    } catch (ex) {
      if (alive) errorBox(ex, terr);
    }
  }

  addForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    uerr.hidden = true;
    const fd = new FormData(addForm);
    const body = { name: String(fd.get('name') || '').trim(), role: String(fd.get('role')), password: String(fd.get('password') || '') };
    try {
      const u = await ctx.api.post('/users', body);
      addForm.reset();
      if (ctx.toast) ctx.toast(`User ${u.name} added as ${u.role}.`, 'ok');
      loadUsers();
    } catch (ex) { errorBox(ex, uerr); }
  });

  tokForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    terr.hidden = true;
    const fd = new FormData(tokForm);
    const body = { user: String(fd.get('user') || ''), name: String(fd.get('name') || '').trim() };
    const exp = String(fd.get('expires') || '');
    if (exp) body.expires = new Date(exp).toISOString().replace('.000Z', 'Z');
    try {
      const t = await ctx.api.post('/tokens', body);
      tokForm.reset();
      const secret = h('input', { type: 'text', readonly: true, value: t.token, id: 'new-token', class: 'secret', spellcheck: 'false', autocomplete: 'off' });
      const copied = h('span', { 'aria-live': 'polite', class: 'muted' });
      secretSlot.replaceChildren(h('section', { class: 'card secret-box', 'data-token-id': t.id, 'aria-labelledby': 'secret-h' },
        h('h3', { id: 'secret-h' }, `Token "${t.name}" for ${t.user}`),
        h('p', {}, h('strong', {}, 'Copy it now: it is shown only this once'), ' (only its hash is stored).'),
        h('div', { class: 'copy-row' },
          h('label', { for: 'new-token', class: 'visually-hidden' }, 'The new token'),
          secret,
          button('Copy', { 'data-action': 'copy', onclick: async () => {
            copied.textContent = (await copyText(t.token, secret)) ? ' Copied.' : ' Select it and copy by hand.';
          } }),
          copied),
        button('Done', { onclick: () => secretSlot.replaceChildren() })));
      secret.select();
      loadTokens();
    } catch (ex) { errorBox(ex, terr); }
  });

  await Promise.all([loadUsers(), loadTokens()]);
  return () => { alive = false; };
}
