// The console's only way to the REST API (/api/v1, docs/api.md).
//
// get(path, query?) / post(path, body) / patch(path, body) / del(path) /
// upload(path, FormData, query?): paths are relative to /api/v1 ('/alerts');
// each resolves to the parsed JSON answer (null for 204) or throws ApiError
// {status, code, message, body} where message is the API's own words.
//
// Session: the login answer ({"user", "csrf"}) carries the session's CSRF
// token; it is kept in sessionStorage (per tab, gone with the tab) and sent
// as X-CSRF-Token on every state-changing request. GET /auth/me answers it
// too, so a tab that lost it recovers it; a 403 "csrf" is retried once after
// asking /auth/me. A 401 on anything but the login itself calls the
// onUnauthorized hook (the app goes to /login?next=...).

export const BASE = '/api/v1';
const KEY = 'argus.csrf';

export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = code || '';
    this.body = body || null;
  }
}

let csrf = null;
try { csrf = sessionStorage.getItem(KEY); } catch { /* storage disabled */ }

let unauthorized = null;

// setCsrf(token|null): remembers (or forgets) the session's CSRF token.
export function setCsrf(token) {
  csrf = token || null;
  try {
    if (csrf) sessionStorage.setItem(KEY, csrf);
    else sessionStorage.removeItem(KEY);
  } catch { /* storage disabled */ }
}

// onUnauthorized(fn): fn(error) runs when a request gets 401 (not for
// /auth/login or /setup, whose 401/403 are the user's wrong password/code).
export function onUnauthorized(fn) { unauthorized = fn; }

function url(path, query) {
  let u = BASE + path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v === null || v === undefined || v === '') continue;
      q.set(k, String(v));
    }
    const s = q.toString();
    if (s) u += (u.includes('?') ? '&' : '?') + s;
  }
  return u;
}

async function parse(res) {
  if (res.status === 204) return null;
  const type = res.headers.get('Content-Type') || '';
  if (type.includes('json')) {
    try { return await res.json(); } catch { return null; }
  }
  const text = await res.text().catch(() => '');
  return text ? { message: text.slice(0, 300) } : null;
}

async function request(method, path, { query, body, form, retried } = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin' };
  if (form) init.body = form;
  else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  let res;
  try {
    res = await fetch(url(path, query), init);
  } catch (e) {
    throw new ApiError(0, 'network', 'The server cannot be reached (network error). Check the connection and try again.');
  }
  const data = await parse(res);
  if (res.ok) {
    if (data && typeof data === 'object' && 'csrf' in data && data.csrf && data.user) setCsrf(data.csrf);
    return data;
  }
  const err = new ApiError(res.status, data && data.error,
    (data && data.message) || `${res.status} ${res.statusText}`, data);
  if (res.status === 403 && err.code === 'csrf' && !retried) {
    // The tab lost its token (a new tab, storage cleared): ask the server.
    const me = await request('GET', '/auth/me').catch(() => null);
    if (me && me.csrf) return request(method, path, { query, body, form, retried: true });
  }
  if (res.status === 401 && path !== '/auth/login' && path !== '/setup' && unauthorized) {
    setCsrf(null);
    unauthorized(err);
  }
  throw err;
}

export const get = (path, query) => request('GET', path, { query });
export const post = (path, body) => request('POST', path, { body });
export const patch = (path, body) => request('PATCH', path, { body });
export const del = (path) => request('DELETE', path);
export const upload = (path, form, query) => request('POST', path, { form, query });

export const api = { get, post, patch, del, upload, setCsrf, onUnauthorized, ApiError, BASE };
export default api;
