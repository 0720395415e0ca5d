// The console's one live event stream: an EventSource on /api/v1/events
// (docs/events.md) shared by every page through a hub.
//
//   const off = events.on('alert', (data, meta) => ...);   // meta: {id, type}
//   off();                                                  // unsubscribe
//   events.on('state', (state) => ...);                     // live|reconnecting|offline
//
// Types: 'alert', 'decision', 'camera.status', 'watchlist.change' (and any
// other the server publishes: a listener is attached on first on()).
// Reconnecting: the browser's EventSource reconnects by itself after a
// network error and resends Last-Event-ID, so nothing is missed. When the
// server refuses the stream (an HTTP error: 401, 503 too many clients or
// shutting down) the EventSource closes for good; the hub opens a new one
// after a growing delay (2 s .. 30 s) with ?after=<last id seen>, so the
// replay still starts where it stopped. The state is shown in the
// <span id="conn" data-state="live|reconnecting|offline"> indicator.

const WORDS = { live: 'Live', reconnecting: 'Reconnecting…', offline: 'Offline' };
const KNOWN = ['alert', 'decision', 'camera.status', 'watchlist.change'];
const PSEUDO = new Set(['state', 'closed']); // hub's own, not stream types

export class EventHub {
  constructor(url = '/api/v1/events') {
    this.url = url;
    this.es = null;
    this.handlers = new Map();   // type -> Set(fn)
    this.attached = new Set();   // types listened to on this.es
    this.lastId = 0;
    this.state = 'offline';
    this.timer = 0;
    this.delay = 2000;
    this.running = false;
    this.onOnline = () => { if (this.running) this.reconnectNow(); };
    this.onOffline = () => { if (this.running) this.setState('offline'); };
  }

  // on(type, fn) -> unsubscribe function. 'state' gets the connection state.
  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(fn);
    if (!PSEUDO.has(type)) this.attach(type);
    return () => { const s = this.handlers.get(type); if (s) s.delete(fn); };
  }

  emit(type, data, meta) {
    const s = this.handlers.get(type);
    if (!s) return;
    for (const fn of [...s]) {
      try { fn(data, meta); } catch (e) { console.error(`event handler (${type})`, e); }
    }
  }

  attach(type) {
    if (!this.es || this.attached.has(type)) return;
    this.attached.add(type);
    this.es.addEventListener(type, (e) => {
      const id = Number(e.lastEventId);
      if (Number.isFinite(id) && id > this.lastId) this.lastId = id;
      let data = null;
      try { data = JSON.parse(e.data); } catch { data = e.data; }
      this.emit(type, data, { id, type });
    });
  }

  setState(s) {
    if (this.state === s) return;
    this.state = s;
    const el = document.getElementById('conn');
    if (el) {
      el.dataset.state = s;
      const label = el.querySelector('.conn-label');
      if (label) label.textContent = WORDS[s];
      el.title = s === 'live' ? 'Live events: connected'
        : s === 'reconnecting' ? 'Live events: connection lost, reconnecting (nothing is missed)'
          : 'Live events: not connected';
    }
    this.emit('state', s);
  }

  // start(): opens the stream (idempotent).
  start() {
    if (this.running) return;
    this.running = true;
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
    this.open();
  }

  open() {
    clearTimeout(this.timer);
    this.timer = 0;
    if (this.es) this.es.close();
    this.attached = new Set();
    const u = this.lastId > 0 ? `${this.url}?after=${this.lastId}` : this.url;
    const es = new EventSource(u);
    this.es = es;
    this.setState('reconnecting');
    es.onopen = () => { this.delay = 2000; this.setState('live'); };
    es.onerror = () => {
      if (this.es !== es) return;
      if (es.readyState === EventSource.CONNECTING) {
        this.setState(navigator.onLine === false ? 'offline' : 'reconnecting');
        return;
      }
      // CLOSED: the server answered with an error; try again later.
      es.close();
      this.setState(navigator.onLine === false ? 'offline' : 'reconnecting');
      this.timer = setTimeout(() => this.open(), this.delay);
      this.delay = Math.min(this.delay * 2, 30000);
      this.emit('closed', null);
    };
    for (const t of new Set([...KNOWN, ...this.handlers.keys()])) if (!PSEUDO.has(t)) this.attach(t);
  }

  reconnectNow() {
    if (!this.running) return;
    this.delay = 2000;
    this.open();
  }

  // stop(): closes the stream (logout).
  stop() {
    this.running = false;
    clearTimeout(this.timer);
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
    if (this.es) this.es.close();
    this.es = null;
    this.setState('offline');
  }
}

export const events = new EventHub();
export default events;
