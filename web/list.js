/*
 * list.js - a user's items, newest first, a page at a time, from
 * GET /v1/items?username=U&limit=N&after=ID.
 */
'use strict';

(() => {
  const { el } = mfu;
  const PAGE = 20;
  const list = document.getElementById('items');
  const more = document.getElementById('more');
  const status = document.getElementById('status');
  const message = document.getElementById('message');
  const user = mfu.pathParam('/users/');
  let next = null;

  function count(n, one, many) {
    return n ? `${n} ${n === 1 ? one : many}` : '';
  }

  function firstImage(rec) {
    const f = Array.isArray(rec.images) ? rec.images[0] : null;
    if (!f || typeof f.url !== 'string') return null;
    try {
      const url = new URL(f.url, window.location.href);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
      return el('img', { src: url.href, alt: '', loading: 'lazy', decoding: 'async' });
    } catch (e) {
      return null;
    }
  }

  function row(rec) {
    const files = [
      count((rec.images || []).length, 'image', 'images'),
      count((rec.audios || []).length, 'audio', 'audios'),
      count((rec.videos || []).length, 'video', 'videos'),
    ].filter(Boolean).join(' · ');
    const text = typeof rec.text === 'string' ? rec.text : '';
    const snippet = text.length > 160 ? text.slice(0, 160) + '…' : text;
    const pic = firstImage(rec);
    return el('li', { className: 'card item-row' },
      el('a', { href: '/items/' + encodeURIComponent(rec.id), className: 'item-link' },
        pic ? el('div', { className: 'thumb' }, pic)
          : el('div', { className: 'thumb icon', 'aria-hidden': 'true' }, '≡'),
        el('div', { className: 'info' },
          el('span', { className: 'name' }, snippet || '(no text)'),
          el('span', { className: 'meta muted' },
            [mfu.when(rec.created_at), files].filter(Boolean).join(' · ')))));
  }

  async function page() {
    more.disabled = true;
    let url = `/v1/items?username=${encodeURIComponent(user)}&limit=${PAGE}`;
    if (next) url += '&after=' + encodeURIComponent(next);
    try {
      const res = await mfu.getJSON(url);
      const items = Array.isArray(res.items) ? res.items : [];
      list.append(...items.map(row));
      next = typeof res.next === 'string' && res.next ? res.next : null;
      status.hidden = list.children.length > 0;
      status.textContent = 'No items yet.';
      more.hidden = !next;
    } catch (e) {
      status.hidden = true;
      mfu.showMessage(message, e.message);
    }
    more.disabled = false;
  }

  if (!user) {
    status.hidden = true;
    mfu.showMessage(message, 'This address names no user.');
    return;
  }
  document.title = `${user} · mfu`;
  document.getElementById('title').textContent = `Items of ${user}`;
  more.addEventListener('click', page);
  page();
})();
