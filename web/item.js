/*
 * item.js - one item: its text, pictures, players and download links,
 * from GET /v1/items/{id}.
 */
'use strict';

(() => {
  const { el } = mfu;
  const LABEL = { images: 'image', audios: 'audio', videos: 'video' };

  /* "1.2 MB · 320×240 · 0:03 · h264 · video/mp4" */
  function facts(f) {
    const out = [];
    if (typeof f.size === 'number') out.push(mfu.bytes(f.size));
    if (f.width && f.height) out.push(`${f.width}×${f.height}`);
    const d = typeof f.duration === 'number' ? f.duration : f.duration_probed;
    if (typeof d === 'number') out.push(mfu.duration(d));
    if (f.codec) out.push(String(f.codec));
    if (f.content_type) out.push(String(f.content_type));
    return out.join(' · ');
  }

  /* Only http(s) and same-origin addresses go into src and href. */
  function safeUrl(u) {
    try {
      const url = new URL(String(u), window.location.href);
      return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : '';
    } catch (e) {
      return '';
    }
  }

  function player(group, f, src) {
    if (!src) return null;
    if (group === 'images') {
      return el('a', { href: src, className: 'shot' },
        el('img', {
          src, alt: String(f.name || ''), loading: 'lazy', decoding: 'async',
          width: f.width || undefined, height: f.height || undefined,
        }));
    }
    if (group === 'audios') {
      return el('audio', { src, controls: true, preload: 'metadata' });
    }
    return el('video', {
      src, controls: true, preload: 'metadata', playsInline: true,
      width: f.width || undefined, height: f.height || undefined,
    });
  }

  function card(group, f, i) {
    const src = safeUrl(f.url);
    const name = String(f.name || `${LABEL[group]} ${i + 1}`);
    const dl = src
      ? el('a', { href: src, download: name, className: 'download' }, 'Download')
      : null;
    return el('li', { className: 'media-card card' },
      player(group, f, src),
      el('div', { className: 'caption' },
        el('span', { className: 'name' }, name),
        el('span', { className: 'meta muted' }, facts(f)),
        dl));
  }

  function render(rec) {
    document.title = `Item ${rec.id} · mfu`;
    const byline = document.getElementById('byline');
    byline.replaceChildren();
    if (rec.username) {
      byline.append('By ', el('a', { href: mfu.userLink(rec.username) }, rec.username));
    }
    if (rec.created_at) {
      byline.append(rec.username ? ' · ' : '',
        el('time', { dateTime: rec.created_at }, mfu.when(rec.created_at)));
    }
    if (typeof rec.text === 'string' && rec.text) {
      document.getElementById('text').textContent = rec.text;
      document.getElementById('text-card').hidden = false;
    }
    for (const g of ['images', 'audios', 'videos']) {
      const files = Array.isArray(rec[g]) ? rec[g] : [];
      const section = document.getElementById(g);
      section.querySelector('.media').replaceChildren(
        ...files.map((f, i) => card(g, f || {}, i)));
      section.hidden = !files.length;
    }
    document.getElementById('item').hidden = false;
  }

  async function load() {
    const status = document.getElementById('status');
    const id = mfu.pathParam('/items/');
    document.getElementById('title').textContent = 'Item';
    if (!/^[0-9a-fA-F]{24}$/.test(id)) {
      status.hidden = true;
      mfu.showMessage(document.getElementById('message'), 'This address names no item.');
      return;
    }
    try {
      const rec = await mfu.getJSON('/v1/items/' + encodeURIComponent(id));
      status.hidden = true;
      render(rec);
    } catch (e) {
      status.hidden = true;
      const text = e.status === 404 ? 'No such item. It may have been deleted.' : e.message;
      mfu.showMessage(document.getElementById('message'), text);
    }
  }

  load();
})();
