/*
 * upload.js - the upload page: three drop zones, one multipart request,
 * progress per file and overall, then the item's page.
 *
 * The whole item goes up as ONE multipart/form-data POST to /v1/items
 * (FormData + XMLHttpRequest, which reports upload progress where fetch
 * does not).  A duration typed for a file becomes the "123_" prefix of its
 * filename, which the server reads as the seed's clients write it.
 */
'use strict';

(() => {
  const { el } = mfu;
  const GROUPS = ['images', 'audios', 'videos'];
  const KIND = { images: 'image/', audios: 'audio/', videos: 'video/' };
  const NOUN = { images: 'an image', audios: 'a sound', videos: 'a video' };
  const ICON = { images: '▧', audios: '♪', videos: '▶' };

  const form = document.getElementById('upload-form');
  const userIn = document.getElementById('username');
  const tokenIn = document.getElementById('token');
  const tokenBox = document.getElementById('token-box');
  const textIn = document.getElementById('text');
  const uploadBtn = document.getElementById('upload-btn');
  const cancelBtn = document.getElementById('cancel-btn');
  const summary = document.getElementById('summary');
  const overall = document.getElementById('overall');
  const overallBar = document.getElementById('overall-bar');
  const overallText = document.getElementById('overall-text');
  const message = document.getElementById('message');

  const chosen = { images: [], audios: [], videos: [] };
  let xhr = null;

  userIn.value = mfu.username();
  tokenIn.value = mfu.token();
  if (tokenIn.value) tokenBox.open = true;

  function zoneOf(group) {
    return document.querySelector(`.zone[data-group="${group}"]`);
  }

  function allEntries() {
    return GROUPS.flatMap((g) => chosen[g]);
  }

  function updateSummary() {
    const all = allEntries();
    const size = all.reduce((n, e) => n + e.file.size, 0);
    summary.textContent = all.length
      ? `${all.length} file${all.length === 1 ? '' : 's'} · ${mfu.bytes(size)}`
      : '';
  }

  /* Read a sound's or video's length in the browser, to show it and to
   * hint the duration field; the server probes it again. */
  function detectDuration(entry, meta) {
    const media = document.createElement(entry.group === 'videos' ? 'video' : 'audio');
    const url = URL.createObjectURL(entry.file);
    const done = () => { URL.revokeObjectURL(url); media.removeAttribute('src'); };
    media.preload = 'metadata';
    media.muted = true;
    media.addEventListener('loadedmetadata', () => {
      const d = media.duration;
      if (Number.isFinite(d) && d > 0) {
        entry.detected = d;
        meta.textContent = `${mfu.bytes(entry.file.size)} · ${mfu.duration(d)}`;
        entry.durIn.placeholder = String(Math.round(d));
      }
      done();
    }, { once: true });
    media.addEventListener('error', done, { once: true });
    media.src = url;
  }

  function thumb(entry) {
    if (entry.group === 'images' && entry.file.type.startsWith('image/')) {
      entry.url = URL.createObjectURL(entry.file);
      return el('div', { className: 'thumb' },
        el('img', { src: entry.url, alt: '', decoding: 'async' }));
    }
    return el('div', { className: 'thumb icon', 'aria-hidden': 'true' }, ICON[entry.group]);
  }

  function remove(entry) {
    const list = chosen[entry.group];
    const i = list.indexOf(entry);
    if (i < 0) return;
    list.splice(i, 1);
    if (entry.url) URL.revokeObjectURL(entry.url);
    /* keep keyboard focus in the list, or on the zone's button */
    const next = entry.row.nextElementSibling || entry.row.previousElementSibling;
    entry.row.remove();
    const target = next ? next.querySelector('.remove') : zoneOf(entry.group).querySelector('.pick');
    target.focus();
    updateSummary();
  }

  function addFile(group, file) {
    const entry = { group, file, detected: null };
    const name = el('span', { className: 'name' }, file.name);
    const meta = el('span', { className: 'meta muted' }, mfu.bytes(file.size));
    entry.note = el('span', { className: 'note' });
    if (file.type && !file.type.startsWith(KIND[group])) {
      entry.note.textContent = `This does not look like ${NOUN[group]}; the server will check it.`;
    }
    entry.durIn = el('input', {
      type: 'number', min: '0', step: '1', inputMode: 'numeric',
      placeholder: 'auto', 'aria-label': `Duration in seconds of ${file.name}`,
    });
    const dur = el('label', { className: 'dur' },
      el('span', { className: 'dur-label' }, 'Seconds'), entry.durIn);
    const rm = el('button', {
      type: 'button', className: 'remove', title: 'Remove',
      'aria-label': `Remove ${file.name}`,
    }, '✕');
    rm.addEventListener('click', () => remove(entry));
    entry.bar = el('progress', {
      className: 'bar', max: 100, value: 0, hidden: true,
      'aria-label': `Upload of ${file.name}`,
    });
    entry.row = el('li', { className: 'file' }, thumb(entry),
      el('div', { className: 'info' }, name, meta, entry.note), dur, rm, entry.bar);
    chosen[group].push(entry);
    zoneOf(group).querySelector('.files').append(entry.row);
    if (group !== 'images') detectDuration(entry, meta);
  }

  function addFiles(group, files) {
    for (const f of files) addFile(group, f);
    message.hidden = true;
    updateSummary();
  }

  function setupZone(zone) {
    const group = zone.dataset.group;
    const input = zone.querySelector('input[type=file]');
    zone.querySelector('.pick').addEventListener('click', () => input.click());
    input.addEventListener('change', () => {
      addFiles(group, input.files);
      input.value = '';  /* choosing the same file again fires change */
    });
    let depth = 0;
    zone.addEventListener('dragenter', (e) => {
      e.preventDefault();
      depth++;
      zone.classList.add('over');
    });
    zone.addEventListener('dragover', (e) => {
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    });
    zone.addEventListener('dragleave', () => {
      if (--depth <= 0) { depth = 0; zone.classList.remove('over'); }
    });
    zone.addEventListener('drop', (e) => {
      e.preventDefault();
      depth = 0;
      zone.classList.remove('over');
      if (!busy()) addFiles(group, e.dataTransfer.files);
    });
  }

  /* A file dropped beside a zone must not replace the page. */
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());

  const busy = () => xhr !== null;

  function lock(on) {
    for (const n of form.querySelectorAll('input, textarea, .pick, .remove')) n.disabled = on;
    uploadBtn.disabled = on;
    cancelBtn.hidden = !on;
    form.classList.toggle('busy', on);
  }

  function fail(text, extra) {
    mfu.showMessage(message, extra
      ? [el('strong', {}, text), el('span', { className: 'msg-hint' }, extra)]
      : text);
  }

  function utf8len(s) {
    return new TextEncoder().encode(s).length;
  }

  /* Where each file starts in the body, roughly: a part's boundary and
   * headers cost about 150 bytes plus its name and type.  Scaled to the
   * real total once the browser tells it. */
  function plan(textValue) {
    let at = textValue ? 150 + utf8len(textValue) : 0;
    const parts = [];
    for (const g of GROUPS) {
      for (const e of chosen[g]) {
        at += 150 + utf8len(e.sendName) + utf8len(e.file.type || '');
        parts.push({ entry: e, start: at, size: e.file.size });
        at += e.file.size;
      }
    }
    return { parts, total: at + 50 };
  }

  function progress(p, loaded, total, t0) {
    const scale = total > 0 ? total / p.total : 1;
    for (const part of p.parts) {
      const start = part.start * scale;
      const size = part.size * scale;
      const f = size > 0 ? (loaded - start) / size : loaded >= start ? 1 : 0;
      part.entry.bar.value = Math.round(Math.max(0, Math.min(1, f)) * 100);
    }
    const pct = total > 0 ? Math.min(100, (loaded / total) * 100) : 0;
    overallBar.value = Math.round(pct);
    const secs = (performance.now() - t0) / 1000;
    const rate = secs > 0.2 ? loaded / secs : 0;
    let text = `${Math.floor(pct)}% · ${mfu.bytes(loaded)} of ${mfu.bytes(total)}`;
    if (rate) {
      text += ` · ${mfu.bytes(rate)}/s`;
      if (loaded < total) text += ` · ${Math.ceil((total - loaded) / rate)} s left`;
    }
    overallText.textContent = text;
  }

  /* Point at the file a problem names ("field":"audios","index":2). */
  function markFile(problem) {
    if (!problem || !chosen[problem.field]) return;
    const entry = chosen[problem.field][problem.index];
    if (!entry || typeof problem.detail !== 'string') return;
    entry.row.classList.add('bad');
    entry.note.textContent = problem.detail;
  }

  function onAnswer(p) {
    const ctype = xhr.getResponseHeader('Content-Type');
    const status = xhr.status;
    const body = xhr.responseText;
    xhr = null;
    if (status === 200 || status === 201) {
      let rec = null;
      try { rec = JSON.parse(body); } catch (e) { rec = null; }
      if (rec && typeof rec.id === 'string') {
        overallText.textContent = 'Done. Opening the item…';
        window.location.assign('/items/' + encodeURIComponent(rec.id));
        return;
      }
    }
    lock(false);
    for (const part of p.parts) part.entry.bar.hidden = true;
    overall.hidden = true;
    const prob = mfu.problemText(status, ctype, body);
    markFile(prob.problem);
    let hint = '';
    if (status === 401 || status === 403) {
      tokenBox.open = true;
      hint = 'Enter a valid access token and upload again.';
    }
    else if (status === 413) hint = 'Remove or shrink the file and try again.';
    else if (status === 415 || status === 422) {
      hint = 'Check that each file sits in the right box.';
    }
    fail(prob.text, hint);
  }

  function send() {
    const user = userIn.value.trim();
    const tok = tokenIn.value.trim();
    const text = textIn.value;
    message.hidden = true;
    for (const e of allEntries()) {
      e.row.classList.remove('bad');
      e.note.textContent = '';
    }
    if (!user && !tok) {
      fail('Enter a username.');
      userIn.focus();
      return;
    }
    if (!text.trim() && !allEntries().length) {
      fail('Add a text or at least one file.');
      textIn.focus();
      return;
    }
    const fd = new FormData();
    if (text) fd.append('text', text);
    for (const g of GROUPS) {
      for (const e of chosen[g]) {
        const d = e.durIn.value.trim();
        e.sendName = /^\d+$/.test(d) ? `${d}_${e.file.name}` : e.file.name;
        fd.append(g, e.file, e.sendName);
      }
    }
    mfu.setUsername(user);
    mfu.setToken(tok);
    mfu.showMyItems();

    const p = plan(text);
    const t0 = performance.now();
    for (const part of p.parts) {
      part.entry.bar.value = 0;
      part.entry.bar.hidden = false;
    }
    overall.hidden = false;
    overallBar.value = 0;
    overallText.textContent = 'Starting…';

    const url = '/v1/items' + (user ? '?username=' + encodeURIComponent(user) : '');
    xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.setRequestHeader('Accept', 'application/json');
    if (tok) xhr.setRequestHeader('Authorization', 'Bearer ' + tok);
    xhr.upload.addEventListener('progress', (e) => {
      progress(p, e.loaded, e.lengthComputable ? e.total : p.total, t0);
    });
    xhr.upload.addEventListener('load', () => {
      progress(p, p.total, p.total, t0);
      overallBar.value = 100;
      overallText.textContent = '100% sent · the server is checking the files…';
    });
    xhr.addEventListener('load', () => onAnswer(p));
    xhr.addEventListener('error', () => {
      xhr = null;
      lock(false);
      overall.hidden = true;
      fail('The connection to the server was lost.', 'Nothing was saved; try again.');
    });
    xhr.addEventListener('abort', () => {
      xhr = null;
      lock(false);
      overall.hidden = true;
      mfu.showMessage(message, 'Upload cancelled. Nothing was saved.', 'info');
    });
    lock(true);
    xhr.send(fd);
  }

  for (const g of GROUPS) setupZone(zoneOf(g));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!busy()) send();
  });
  cancelBtn.addEventListener('click', () => { if (xhr) xhr.abort(); });
  userIn.addEventListener('change', () => mfu.setUsername(userIn.value.trim()));
  updateSummary();
})();
