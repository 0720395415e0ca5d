// Argus console service worker: keeps the console's shell (HTML, CSS, JS,
// icons, the alert sound) on the device so that it opens without the
// server and shows "Reconnecting…" until the server answers again.
//
// - Shell files: network first (so a new version is used at once when the
//   server answers), each good answer refreshes the cache; the cached copy
//   when the network fails or takes over 4 s. Navigations to console URLs
//   (/live, /alerts/12, ...) fall back to the cached /index.html.
// - /api/* (and /healthz, /readyz, /metrics): network only. Nothing the
//   API answers is ever stored by the worker: alerts, crops, enrolled
//   photos and names are personal and biometric data and must not stay on
//   an officer's phone. The live event stream is not touched either.
// - Notifications: clicking an alert's notification focuses the console's
//   tab (or opens one) and shows that alert (/alerts/ID).
const VERSION = 'argus-shell-v3';
const SHELL = [
  '/index.html', '/app.css', '/css/pages.css', '/manifest.webmanifest',
  '/js/app.js', '/js/api.js', '/js/events.js', '/js/ui.js',
  '/js/pages/login.js', '/js/pages/setup.js', '/js/pages/live.js',
  '/js/pages/_shared.js', '/js/pages/history.js', '/js/pages/alert.js', '/js/pages/cameras.js',
  '/js/pages/watchlists.js', '/js/pages/search.js', '/js/pages/audit.js', '/js/pages/retention.js', '/js/pages/users.js',
  '/icons/icon-192.png', '/icons/icon-512.png', '/icons/maskable-512.png', '/sounds/alert.wav',
];
const NETWORK_WAIT_MS = 4000;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(VERSION);
    // One by one: a file that is missing must not keep the others out.
    await Promise.all(SHELL.map((u) => fetch(u, { cache: 'no-store' })
      .then((r) => (r.ok ? cache.put(u, r) : null)).catch(() => null)));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const k of await caches.keys()) if (k !== VERSION) await caches.delete(k);
    await self.clients.claim();
  })());
});

function isApi(path) {
  return path.startsWith('/api/') || path === '/healthz' || path === '/readyz' || path === '/metrics';
}

// A console URL (no dot in its last segment) is the single-page shell.
function isPageUrl(path) {
  return !isApi(path) && !path.split('/').pop().includes('.');
}

async function networkFirst(request, key) {
  const cache = await caches.open(VERSION);
  const net = fetch(request).then(async (res) => {
    if (res.ok && res.type === 'basic') await cache.put(key, res.clone());
    return res;
  });
  const cached = await cache.match(key);
  if (!cached) return net;
  const late = new Promise((resolve) => { setTimeout(() => resolve(cached), NETWORK_WAIT_MS); });
  return Promise.race([net.catch(() => cached), late]);
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || isApi(url.pathname)) return; // network only
  if (req.mode === 'navigate' || (isPageUrl(url.pathname) && req.destination === 'document')) {
    event.respondWith(networkFirst(req, '/index.html'));
    return;
  }
  if (isPageUrl(url.pathname)) return;
  event.respondWith(networkFirst(req, url.pathname));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  const target = typeof data.url === 'string' && data.url.startsWith('/') ? data.url : '/live';
  event.waitUntil((async () => {
    const wins = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const w of wins) {
      if (new URL(w.url).origin !== self.location.origin) continue;
      await w.focus();
      w.postMessage({ type: 'open', url: target });
      return;
    }
    await self.clients.openWindow(target);
  })());
});
