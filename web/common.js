/*
 * common.js - helpers shared by the pages of mfu.
 *
 * Anything a user or a file supplies (names, text, server messages) goes
 * into the page through textContent or a property, never as HTML: the
 * pages run under a strict Content-Security-Policy and build every node
 * with el().
 */
'use strict';

const mfu = (() => {
  const USER_KEY = 'mfu.username';
  const TOKEN_KEY = 'mfu.token';

  /* el('p', {className: 'x'}, 'text', child) - text children become text
   * nodes; attributes are set as properties or with setAttribute for
   * data-*, aria-* and the like. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k in node && !k.includes('-')) node[k] = v;
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) {
      if (c === undefined || c === null || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function store(kind) {
    try { return kind === 'session' ? window.sessionStorage : window.localStorage; }
    catch (e) { return null; }
  }

  function get(kind, key) {
    const s = store(kind);
    try { return (s && s.getItem(key)) || ''; } catch (e) { return ''; }
  }

  function put(kind, key, value) {
    const s = store(kind);
    try {
      if (!s) return;
      if (value) s.setItem(key, value); else s.removeItem(key);
    } catch (e) { /* storage full or blocked: the value is just not kept */ }
  }

  const username = () => get('local', USER_KEY);
  const setUsername = (u) => put('local', USER_KEY, u);
  const token = () => get('session', TOKEN_KEY);
  const setToken = (t) => put('session', TOKEN_KEY, t);

  function authHeaders() {
    const t = token();
    return t ? { Authorization: 'Bearer ' + t } : {};
  }

  const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];
  function bytes(n) {
    if (!Number.isFinite(n) || n < 0) return '';
    let i = 0;
    while (n >= 1000 && i < UNITS.length - 1) { n /= 1000; i++; }
    const digits = i === 0 || n >= 100 ? 0 : n >= 10 ? 1 : 2;
    return n.toFixed(digits) + ' ' + UNITS[i];
  }

  /* 3.04 -> "0:03", 234 -> "3:54", 3725 -> "1:02:05". */
  function duration(s) {
    if (typeof s !== 'number' || !Number.isFinite(s) || s < 0) return '';
    const t = Math.round(s);
    const h = Math.floor(t / 3600);
    const m = Math.floor((t % 3600) / 60);
    const sec = String(t % 60).padStart(2, '0');
    return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
  }

  function when(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso || '');
    return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  }

  /* A sentence for a failed response: the RFC 9457 problem's title and
   * detail when the body is one, else the status line. */
  function problemText(status, contentType, body) {
    let p = null;
    if (/json/i.test(contentType || '') && body) {
      try { p = JSON.parse(body); } catch (e) { p = null; }
    }
    const title = p && typeof p.title === 'string' ? p.title : '';
    const detail = p && typeof p.detail === 'string' ? p.detail : '';
    let text = title && detail ? `${title}: ${detail}` : title || detail;
    if (!text) text = status ? `The server answered ${status}.` : 'No answer from the server.';
    return { text, problem: p, status };
  }

  async function getJSON(url) {
    let r;
    try {
      r = await fetch(url, { headers: { Accept: 'application/json', ...authHeaders() } });
    } catch (e) {
      const err = new Error('Could not reach the server.');
      err.status = 0;
      throw err;
    }
    const body = await r.text();
    if (!r.ok) {
      const p = problemText(r.status, r.headers.get('Content-Type'), body);
      const err = new Error(p.text);
      err.status = r.status;
      err.problem = p.problem;
      throw err;
    }
    return JSON.parse(body);
  }

  /* The last path segment after prefix, decoded; '' when absent. */
  function pathParam(prefix) {
    const path = window.location.pathname;
    if (!path.startsWith(prefix)) return '';
    const seg = path.slice(prefix.length).split('/')[0];
    try { return decodeURIComponent(seg); } catch (e) { return ''; }
  }

  function userLink(name) {
    return '/users/' + encodeURIComponent(name);
  }

  /* Show the "My items" link in the header when a name is known. */
  function showMyItems() {
    const a = document.getElementById('my-items');
    const u = username();
    if (!a) return;
    a.hidden = !u;
    if (u) a.href = userLink(u);
  }

  function showMessage(box, text, kind) {
    box.replaceChildren();
    box.className = 'msg ' + (kind || 'error');
    if (Array.isArray(text)) box.append(...text);
    else box.textContent = text;
    box.hidden = false;
  }

  document.addEventListener('DOMContentLoaded', showMyItems);

  return {
    el, bytes, duration, when, problemText, getJSON, pathParam, userLink,
    username, setUsername, token, setToken, authHeaders, showMyItems,
    showMessage,
  };
})();
