// The console's shell: router (history API, no hash), session, navigation by
// role, the page module contract, notifications and the service worker.
//
// Pages are ES modules under js/pages/<name>.js, loaded on first visit:
//   export const meta = { title, roles: [...], nav };
//   export async function render(main, ctx) { ...; return cleanup; }
// `main` is a fresh <main data-page="<name>">; ctx is {api, user, params,
// query, events, navigate, toast, ...} (docs/console.md, notes in web_plan).
import { api, setCsrf, onUnauthorized } from './api.js';
import { events } from './events.js';
import { h, toast, errorBox, emptyState } from './ui.js';

// URL -> page module. ':id' matches a decimal id.
const ROUTES = [
  ['/login', 'login'],
  ['/setup', 'setup'],
  ['/live', 'live'],
  ['/alerts', 'history'],
  ['/alerts/:id', 'alert'],
  ['/cameras', 'cameras'],
  ['/watchlists', 'watchlists'],
  ['/watchlists/:id', 'watchlists'],
  ['/search', 'search'],
  ['/audit', 'audit'],
  ['/retention', 'retention'],
  ['/users', 'users'],
].map(([path, page]) => ({
  path,
  page,
  re: new RegExp(`^${path.replace(/:(\w+)/g, '(?<$1>\\d+)')}/?$`),
}));

const PUBLIC = new Set(['login', 'setup']);

// The navigation bar (each page's meta.roles is the authority when opened;
// this table mirrors it so the bar needs no page module loaded).
const NAV = [
  { href: '/live', label: 'Live', icon: '◉', roles: ['operator', 'supervisor'] },
  { href: '/alerts', label: 'History', icon: '☰', roles: ['operator', 'supervisor'] },
  { href: '/cameras', label: 'Cameras', icon: '▣', roles: ['admin', 'supervisor', 'operator'] },
  { href: '/watchlists', label: 'Watchlists', icon: '☷', roles: ['supervisor'] },
  { href: '/search', label: 'Search', icon: '⌕', roles: ['supervisor', 'operator'] },
  { href: '/audit', label: 'Audit log', icon: '✎', roles: ['auditor', 'admin'] },
  { href: '/retention', label: 'Retention', icon: '◷', roles: ['auditor', 'admin'] },
  { href: '/users', label: 'Users', icon: '☺', roles: ['admin'] },
];

// Where each role lands.
const HOME = { operator: '/live', admin: '/cameras', supervisor: '/watchlists', auditor: '/audit' };
const STREAM_ROLES = new Set(['admin', 'supervisor', 'operator']); // may open /api/v1/events
const ALERT_ROLES = new Set(['operator', 'supervisor']);
const PRODUCT = 'Argus';

let user = null;          // {id, name, role} or null
let cleanup = null;       // the current page's cleanup
let seq = 0;              // navigation counter (a slow page render that lost the race is dropped)
let retryTimer = 0;

export function homeOf(role) { return HOME[role] || '/login'; }

function match(pathname) {
  for (const r of ROUTES) {
    const m = r.re.exec(pathname);
    if (m) return { route: r, params: { ...(m.groups || {}) } };
  }
  return null;
}

// navigate(url, {replace}): goes to a console URL without reloading.
export function navigate(url, opts = {}) {
  const u = new URL(url, location.href);
  if (u.origin !== location.origin) { location.href = url; return; }
  const target = u.pathname + u.search + u.hash;
  if (opts.replace) history.replaceState(null, '', target);
  else if (target !== location.pathname + location.search + location.hash) history.pushState(null, '', target);
  route();
}

function loginUrl() {
  const here = location.pathname + location.search;
  const skip = here === '/' || here.startsWith('/login') || here.startsWith('/setup');
  return skip ? '/login' : `/login?next=${encodeURIComponent(here)}`;
}

// ---- session -----------------------------------------------------------

function setUser(u) {
  user = u ? { id: u.id, name: u.name, role: u.role } : null;
  try {
    if (user) sessionStorage.setItem('argus.user', JSON.stringify(user));
    else sessionStorage.removeItem('argus.user');
  } catch { /* storage disabled */ }
  renderHeader();
  if (user && STREAM_ROLES.has(user.role)) events.start();
  else events.stop();
}

// Asks the server who we are. Resolves 'ok', 'login', 'setup' or 'offline'.
async function loadSession() {
  try {
    const me = await api.get('/auth/me');
    if (me && me.csrf) setCsrf(me.csrf);
    setUser(me.user);
    return 'ok';
  } catch (e) {
    if (e.status === 401) { setUser(null); return 'login'; }
    if (e.status === 503 && e.code === 'setup_required') { setUser(null); return 'setup'; }
    return 'offline';
  }
}

// Called by the login and setup pages with the login answer {user, csrf}.
function signedIn(doc, next) {
  if (doc && doc.csrf) setCsrf(doc.csrf);
  setUser(doc.user);
  let to = homeOf(user.role);
  if (next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') && !next.startsWith('/setup')) to = next;
  navigate(to, { replace: true });
}

async function logout() {
  try { await api.post('/auth/logout'); } catch { /* gone already */ }
  setCsrf(null);
  setUser(null);
  navigate('/login', { replace: true });
}

// ---- header ------------------------------------------------------------

function renderHeader(shown = user) {
  const nav = document.getElementById('nav');
  const menu = document.getElementById('user-menu');
  const conn = document.getElementById('conn');
  if (!nav || !menu) return;
  const u = shown;
  const items = u ? NAV.filter((n) => n.roles.includes(u.role)) : [];
  nav.hidden = items.length === 0;
  nav.replaceChildren(h('ul', {}, items.map((n) => h('li', {},
    h('a', { href: n.href, 'data-nav': n.href },
      h('span', { class: 'icon', 'aria-hidden': 'true' }, n.icon), ` ${n.label}`)))));
  if (conn) conn.hidden = !(u && STREAM_ROLES.has(u.role));
  if (!u) { menu.replaceChildren(); menu.hidden = true; return; }
  menu.hidden = false;
  menu.replaceChildren(h('details', { class: 'user-details' },
    h('summary', { 'aria-label': `Account: ${u.name}, ${u.role}` },
      h('span', { class: 'icon', 'aria-hidden': 'true' }, '☺'),
      h('span', { class: 'user-name' }, ` ${u.name}`),
      h('span', { class: 'role-badge' }, u.role)),
    h('div', { class: 'menu-panel' },
      h('p', {}, 'Signed in as ', h('strong', {}, u.name), ` (${u.role}).`),
      h('button', { type: 'button', 'data-action': 'logout', onclick: logout }, 'Log out'))));
  markNav();
}

function markNav() {
  for (const a of document.querySelectorAll('#nav a')) {
    const href = a.getAttribute('href');
    const on = location.pathname === href || location.pathname.startsWith(`${href}/`);
    if (on) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

// ---- pages -------------------------------------------------------------

function freshMain(name) {
  const old = document.getElementById('main');
  const main = h('main', { id: 'main', tabindex: '-1', 'data-page': name });
  if (old) old.replaceWith(main);
  else document.body.append(main);
  return main;
}

function runCleanup() {
  const c = cleanup;
  cleanup = null;
  if (typeof c === 'function') {
    try { c(); } catch (e) { console.error('page cleanup', e); }
  }
}

async function route() {
  const my = ++seq;
  clearTimeout(retryTimer);
  runCleanup();
  markNav();
  let path = location.pathname;
  if (path === '/' || path === '/index.html') {
    if (!user) {
      const s = await loadSession();
      if (my !== seq) return;
      if (s === 'setup') { navigate('/setup', { replace: true }); return; }
      if (s === 'login') { navigate('/login', { replace: true }); return; }
      if (s === 'offline') { showOffline(my); return; }
    }
    navigate(homeOf(user.role), { replace: true });
    return;
  }
  const m = match(path);
  if (!m) {
    if (!user) {
      await loadSession(); // the header and the stream, when logged in
      if (my !== seq) return;
    }
    const main = freshMain('not-found');
    document.title = `Not found — ${PRODUCT}`;
    main.append(h('h1', {}, 'Page not found'),
      emptyState(`There is no page at ${path}.`,
        h('a', { href: user ? homeOf(user.role) : '/login', class: 'button' }, 'Go to the start page')));
    return;
  }
  const name = m.route.page;
  if (!PUBLIC.has(name) && !user) {
    const s = await loadSession();
    if (my !== seq) return;
    if (s === 'login') { navigate(loginUrl(), { replace: true }); return; }
    if (s === 'setup') { navigate('/setup', { replace: true }); return; }
    if (s === 'offline') { showOffline(my); return; }
  }
  let mod;
  try {
    mod = await import(`./pages/${name}.js`);
  } catch (e) {
    if (my !== seq) return;
    const main = freshMain(name);
    main.append(h('h1', {}, 'This page could not be loaded'),
      errorBox(navigator.onLine === false
        ? 'You are offline and this page is not stored on this device yet. It opens once the server can be reached.'
        : `The page's code could not be loaded (${e.message}). Reload to try again.`));
    return;
  }
  if (my !== seq) return;
  const meta = mod.meta || { title: name, roles: [] };
  document.title = `${meta.title} — ${PRODUCT}`;
  const main = freshMain(name);
  if (!PUBLIC.has(name) && Array.isArray(meta.roles) && !meta.roles.includes(user.role)) {
    main.append(h('h1', {}, meta.title),
      h('div', { role: 'alert', class: 'error-box denied' },
        h('span', { class: 'icon', 'aria-hidden': 'true' }, '⛔ '),
        `Your role (${user.role}) cannot open ${meta.title}.`),
      h('p', {}, h('a', { href: homeOf(user.role) }, 'Go to your start page')));
    return;
  }
  const ctx = {
    api,
    user,
    params: m.params,
    query: new URLSearchParams(location.search),
    events,
    navigate,
    toast,
    signedIn,
    logout,
    setTitle: (t) => { if (my === seq) document.title = t ? `${t} — ${PRODUCT}` : `${meta.title} — ${PRODUCT}`; },
    isCurrent: () => my === seq,
  };
  try {
    const c = await mod.render(main, ctx);
    if (my !== seq) { if (typeof c === 'function') c(); return; }
    cleanup = c;
  } catch (e) {
    console.error(e);
    if (my !== seq) return;
    main.append(errorBox(e));
  }
  if (my === seq && !main.contains(document.activeElement) && !document.querySelector('dialog[open]')) {
    main.focus({ preventScroll: true });
  }
}

// The server cannot be reached (offline, restarting): the shell stays, the
// connection indicator says so, and the session is asked again every 5 s.
function showOffline(my) {
  if (!user) renderHeader(savedUser());
  const main = freshMain('offline');
  document.title = `Reconnecting — ${PRODUCT}`;
  const conn = document.getElementById('conn');
  if (conn) {
    conn.hidden = false;
    conn.dataset.state = navigator.onLine === false ? 'offline' : 'reconnecting';
    conn.querySelector('.conn-label').textContent = navigator.onLine === false ? 'Offline' : 'Reconnecting…';
  }
  main.append(h('h1', {}, 'Reconnecting…'),
    h('div', { role: 'alert', class: 'error-box' },
      h('span', { class: 'icon', 'aria-hidden': 'true' }, '⚠ '),
      'The server cannot be reached. The console keeps trying and continues where it stopped as soon as the connection is back.'),
    h('p', {}, h('button', { type: 'button', onclick: () => route() }, 'Try now')));
  retryTimer = setTimeout(() => { if (my === seq) route(); }, 5000);
}

// ---- notifications -------------------------------------------------------

// A system notification for a new alert (when the user allowed them);
// clicking it focuses this tab and opens the alert.
async function notifyAlert(a) {
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  if (!user || !ALERT_ROLES.has(user.role) || !a || !a.id) return;
  const title = `Alert: ${a.person || 'unknown person'}`;
  const score = typeof a.score === 'number' ? ` — score ${a.score.toFixed(3)}` : '';
  const opts = {
    body: `${a.watchlist || ''} · camera ${a.camera || '?'}${score}`,
    tag: `alert-${a.id}`,
    icon: '/icons/icon-192.png',
    badge: '/icons/icon-192.png',
    data: { url: `/alerts/${a.id}` },
    silent: document.visibilityState === 'visible',
  };
  try {
    const reg = navigator.serviceWorker && await navigator.serviceWorker.getRegistration();
    if (reg && reg.active) { await reg.showNotification(title, opts); return; }
  } catch { /* fall back to a page notification */ }
  try {
    const n = new Notification(title, opts);
    n.onclick = () => { window.focus(); navigate(opts.data.url); n.close(); };
  } catch { /* not allowed here (e.g. Android needs the worker) */ }
}

// ---- start ---------------------------------------------------------------

function onClick(e) {
  // A click outside the open user menu closes it.
  const open = document.querySelector('.user-details[open]');
  if (open && !open.contains(e.target)) open.open = false;
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest && e.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download')) return;
  const u = new URL(a.href, location.href);
  if (u.origin !== location.origin || u.pathname.startsWith('/api/')) return;
  // A link within this page (the skip link, "#section"): the browser's.
  if (u.hash && u.pathname === location.pathname && u.search === location.search) return;
  if (!match(u.pathname) && u.pathname !== '/') return;
  e.preventDefault();
  if (a.closest('#nav')) a.blur();
  navigate(u.pathname + u.search + u.hash);
}

// The user this tab last saw (shown in the header while the server cannot
// be reached; the session itself is always asked of the server).
function savedUser() {
  try {
    const s = JSON.parse(sessionStorage.getItem('argus.user') || 'null');
    return s && s.role ? s : null;
  } catch { return null; }
}

function start() {
  onUnauthorized(() => {
    if (location.pathname.startsWith('/login') || location.pathname.startsWith('/setup')) return;
    setUser(null);
    navigate(loginUrl(), { replace: true });
  });
  document.addEventListener('click', onClick);
  document.addEventListener('keydown', (e) => {
    const open = document.querySelector('.user-details[open]');
    if (e.key === 'Escape' && open) { open.open = false; open.querySelector('summary').focus(); }
  });
  window.addEventListener('popstate', () => route());
  events.on('alert', (a) => { notifyAlert(a); });
  // The server refused the stream (401 when the session ended): asking who
  // we are sends the app to the login page if so.
  events.on('closed', () => { if (user) api.get('/auth/me').catch(() => {}); });
  if (navigator.serviceWorker) {
    navigator.serviceWorker.addEventListener('message', (e) => {
      if (e.data && e.data.type === 'open' && typeof e.data.url === 'string') navigate(e.data.url);
    });
    window.addEventListener('load', () => {
      navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((err) => console.warn('service worker', err));
    });
  }
  renderHeader(savedUser());
  route();
}

start();
