// The first admin (/setup): a server with no user prints a one-time setup
// code when it starts; whoever has it names the first admin here. Then the
// console logs in as that admin.
import { h, errorBox, emptyState } from '../ui.js';

export const meta = { title: 'First admin', roles: null, nav: false };

function field(id, label, input, hint) {
  input.id = id;
  const parts = [h('label', { for: id }, label), input];
  if (hint) {
    input.setAttribute('aria-describedby', `${id}-hint`);
    parts.push(h('small', { id: `${id}-hint`, class: 'hint' }, hint));
  }
  return h('div', { class: 'field' }, parts);
}

export async function render(main, ctx) {
  main.classList.add('auth-page');
  main.append(h('h1', {}, 'Create the first admin'));
  let required = true;
  try {
    const s = await ctx.api.get('/setup');
    required = !!(s && s.required);
  } catch (e) {
    main.append(errorBox(e));
    return null;
  }
  if (!required) {
    main.append(emptyState('This server has its first admin already. Log in with your account.',
      h('a', { href: '/login', class: 'button primary' }, 'Go to log in')));
    return null;
  }
  const err = h('div', { role: 'alert', class: 'error-box', hidden: true });
  const code = h('input', { name: 'code', type: 'text', autocomplete: 'one-time-code', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const name = h('input', { name: 'name', type: 'text', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false', maxlength: '127' });
  const pw = h('input', { name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: '8' });
  const pw2 = h('input', { name: 'password_again', type: 'password', autocomplete: 'new-password', required: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Create admin and log in');
  const form = h('form', { class: 'auth-card', novalidate: true, 'aria-label': 'First admin' },
    field('setup-code', 'Setup code', code, 'argus serve printed it in its terminal when it started.'),
    field('setup-name', 'Admin name', name),
    field('setup-password', 'Password', pw, 'A long passphrase; the server may ask for more.'),
    field('setup-password2', 'Password again', pw2),
    err, submit);
  main.append(h('p', { class: 'lead' },
    'No account exists on this server yet. The first account is an admin, who then adds operators, supervisors and auditors.'),
  form);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.hidden = true;
    if (!code.value.trim() || !name.value.trim() || !pw.value) {
      errorBox('Fill in the setup code, a name and a password.', err);
      return;
    }
    if (pw.value !== pw2.value) {
      errorBox('The two passwords differ: type the same password twice.', err);
      pw2.value = '';
      pw2.focus();
      return;
    }
    submit.disabled = true;
    try {
      await ctx.api.post('/setup', { code: code.value.trim(), name: name.value.trim(), password: pw.value });
      const doc = await ctx.api.post('/auth/login', { name: name.value.trim(), password: pw.value });
      ctx.toast(`Admin ${doc.user.name} created.`, 'ok');
      ctx.signedIn(doc, null);
    } catch (ex) {
      if (ex.status === 409) {
        errorBox(`${ex.message}.`, err);
        err.append(' ', h('a', { href: '/login' }, 'Go to log in'));
      } else errorBox(ex, err);
    } finally {
      submit.disabled = false;
    }
  });
  code.focus();
  return null;
}
