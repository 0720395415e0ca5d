// Search by photo (/search, supervisor and operator): upload a photo; every
// face found is shown with its k=5 nearest enrolled persons and their scores
// against the threshold (POST /api/v1/identify?k=5, multipart "photo").
import { h, errorBox, emptyState, apiImg, fmtScore } from './_shared.js';

export const meta = { title: 'Search by photo', roles: ['supervisor', 'operator'], nav: true };

const K = 5;

// A canvas with the face's box cut out of the image (box: x1, y1, x2, y2).
function faceCrop(img, box, label) {
  const [x1, y1, x2, y2] = box;
  const pad = 0.25 * Math.max(x2 - x1, y2 - y1);
  const sx = Math.max(0, x1 - pad);
  const sy = Math.max(0, y1 - pad);
  const sw = Math.min(img.naturalWidth, x2 + pad) - sx;
  const sh = Math.min(img.naturalHeight, y2 + pad) - sy;
  const c = h('canvas', { width: 112, height: Math.round(112 * (sh / sw || 1)), role: 'img', 'aria-label': label });
  try {
    c.getContext('2d').drawImage(img, sx, sy, sw, sh, 0, 0, c.width, c.height);
  } catch { /* an image that cannot be drawn: the label stays */ }
  return c;
}

export async function render(main, ctx) {
  let objUrl = null;
  const err = h('div', { role: 'alert', class: 'error-box', hidden: true });
  const input = h('input', { type: 'file', name: 'photo', id: 'search-photo', accept: 'image/jpeg,image/png', class: 'visually-hidden' });
  const zone = h('div', { class: 'dropzone', 'data-dropzone': '' },
    h('p', {}, h('span', { 'aria-hidden': 'true' }, '⇪ '), 'Drop a photo here, or '),
    h('label', { for: 'search-photo', class: 'button' }, 'choose a photo'),
    input,
    h('p', { class: 'hint' }, 'JPEG or PNG. Every face in it is searched in all active watchlists.'));
  const status = h('p', { class: 'muted', 'aria-live': 'polite' });
  const results = h('div', { class: 'search-results' });

  main.append(h('h1', {}, 'Search by photo'), zone, status, err, results);
  results.append(emptyState('Choose or drop a photo to see who on the watchlists it looks like.'));

  async function search(file) {
    err.hidden = true;
    results.replaceChildren();
    if (objUrl) URL.revokeObjectURL(objUrl);
    objUrl = URL.createObjectURL(file);
    status.textContent = `Searching ${file.name}…`;
    const fd = new FormData();
    fd.append('photo', file, file.name);
    let res;
    try {
      res = await ctx.api.upload(`/identify?k=${K}`, fd);
    } catch (ex) {
      status.textContent = '';
      errorBox(ex, err);
      return;
    }
    const img = h('img', { src: objUrl, alt: `The photo searched: ${file.name}` });
    await new Promise((ok) => { img.onload = ok; img.onerror = ok; });
    const overlay = h('div', { class: 'photo-overlay' }, img);
    const W = res.width || img.naturalWidth || 1;
    const H = res.height || img.naturalHeight || 1;
    res.faces.forEach((f, i) => {
      const [x1, y1, x2, y2] = f.box;
      overlay.append(h('span', {
        class: `face-box ${f.match ? 'match' : ''}`,
        style: `left:${(100 * x1) / W}%;top:${(100 * y1) / H}%;width:${(100 * (x2 - x1)) / W}%;height:${(100 * (y2 - y1)) / H}%`,
        'aria-hidden': 'true',
      }, String(i + 1)));
    });
    const nm = res.faces.filter((f) => f.match).length;
    status.textContent = res.faces.length
      ? `${res.faces.length} face${res.faces.length === 1 ? '' : 's'} found in ${file.name}; ${nm} ${nm === 1 ? 'matches' : 'match'} a watchlist.`
      : '';
    results.append(h('figure', { class: 'searched' }, overlay, h('figcaption', {}, file.name)));
    if (!res.faces.length) {
      results.append(emptyState('No face was found in this photo. Try a sharper photo where the face is larger and faces the camera.'));
      return;
    }
    res.faces.forEach((f, i) => {
      const head = h('div', { class: 'face-head' },
        faceCrop(img, f.box, `Face ${i + 1}`),
        h('div', {},
          h('h2', {}, `Face ${i + 1}`),
          h('p', { class: f.match ? 'verdict ok' : 'verdict' },
            h('span', { 'aria-hidden': 'true' }, f.match ? '✔ ' : '○ '),
            f.skipped ? `Not searched: ${f.skipped}.` : f.match ? `Match: ${f.candidates[0].name} (${f.candidates[0].watchlist})` : 'No match above the threshold'),
          typeof f.quality === 'number' ? h('p', { class: 'muted small' }, `face quality ${f.quality.toFixed(2)}`) : null));
      const section = h('section', { class: 'card face-result', 'data-face': i + 1, 'data-match': f.match ? 'true' : 'false' }, head);
      if (f.candidates.length) {
        section.append(h('div', { class: 'table-wrap' }, h('table', { class: 'list candidates', 'data-list': 'candidates' },
          h('caption', {}, `Nearest enrolled persons for face ${i + 1}`),
          h('thead', {}, h('tr', {},
            h('th', { scope: 'col' }, 'Enrolled photo'), h('th', { scope: 'col' }, 'Person'),
            h('th', { scope: 'col' }, 'Watchlist'), h('th', { scope: 'col' }, 'Score'),
            h('th', { scope: 'col' }, 'Verdict'))),
          h('tbody', {}, f.candidates.map((c) => h('tr', { 'data-id': c.person_id, 'data-match': c.match ? 'true' : 'false' },
            h('td', {}, c.photo_id ? apiImg(`/api/v1/photos/${c.photo_id}/image`, `Enrolled photo of ${c.name}`) : '—'),
            h('th', { scope: 'row' }, c.name, c.external_id ? h('span', { class: 'muted' }, ` (${c.external_id})`) : null),
            h('td', {}, c.watchlist),
            h('td', {}, fmtScore(c.score, c.threshold)),
            h('td', {}, c.match ? '✔ match' : '✖ no match')))))));
      } else if (!f.skipped) {
        section.append(h('p', {}, 'Nobody enrolled is similar to this face.'));
      }
      results.append(section);
    });
  }

  input.addEventListener('change', () => {
    const f = input.files[0];
    input.value = '';
    if (f) search(f);
  });
  for (const ev of ['dragenter', 'dragover']) zone.addEventListener(ev, (e) => { e.preventDefault(); zone.classList.add('over'); });
  for (const ev of ['dragleave', 'drop']) zone.addEventListener(ev, () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    const f = [...(e.dataTransfer ? e.dataTransfer.files : [])][0];
    if (f) search(f);
  });

  return () => { if (objUrl) URL.revokeObjectURL(objUrl); };
}
