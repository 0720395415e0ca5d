// Login (/login?next=URL): name and password; the answer's CSRF token is
// kept by api.js; then the page the user wanted, or the role's start page.
import { h, errorBox } from '../ui.js';

export const meta = { title: 'Log in', roles: null, nav: false };

export async function render(main, ctx) {
  const err = h('div', { role: 'alert', class: 'error-box', hidden: true });
  const name = h('input', { id: 'login-name', name: 'name', type: 'text', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false', maxlength: '127' });
  const password = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Log in');
  const form = h('form', { class: 'auth-card', 'aria-labelledby': 'login-h', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'login-name' }, 'Name'), name),
    h('div', { class: 'field' }, h('label', { for: 'login-password' }, 'Password'), password),
    err,
    submit);
  main.classList.add('auth-page');
  main.append(h('h1', { id: 'login-h' }, 'Log in to Argus'),
    h('p', { class: 'lead' }, 'Operators, supervisors, admins and auditors sign in with the account an admin gave them.'),
    form);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.hidden = true;
    if (!name.value.trim() || !password.value) {
      errorBox('Enter your name and your password.', err);
      (name.value.trim() ? password : name).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Logging in…';
    try {
      const doc = await ctx.api.post('/auth/login', { name: name.value.trim(), password: password.value });
      ctx.signedIn(doc, ctx.query.get('next'));
    } catch (ex) {
      if (ex.code === 'setup_required') { ctx.navigate('/setup', { replace: true }); return; }
      errorBox(ex, err);
      password.value = '';
      password.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = 'Log in';
    }
  });

  // A server with no user yet: the first-admin screen instead.
  ctx.api.get('/setup').then((s) => {
    if (s && s.required && ctx.isCurrent()) ctx.navigate('/setup', { replace: true });
  }).catch(() => { /* shown when logging in */ });
  name.focus();
  return null;
}
