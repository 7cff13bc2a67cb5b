// Small helpers to build the DOM and format values. No templates with
// markup strings: every text goes through textContent.

const SVGNS = 'http://www.w3.org/2000/svg';

function append(el, kids) {
  for (const k of kids) {
    if (k === null || k === undefined || k === false) continue;
    if (Array.isArray(k)) append(el, k);
    else if (k instanceof Node) el.appendChild(k);
    else el.appendChild(document.createTextNode(String(k)));
  }
}

function setAttrs(el, attrs) {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'on') {
      for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    } else if (k === 'class') {
      el.setAttribute('class', v);
    } else if (k === 'text') {
      el.textContent = v;
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else if (k in el && typeof v !== 'string' && !(el instanceof SVGElement)) {
      el[k] = v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
}

// h builds an HTML element: h('a', {href: '#/x'}, 'text', child, [more]).
export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, kids);
  return el;
}

// s builds an SVG element.
export function s(tag, attrs, ...kids) {
  const el = document.createElementNS(SVGNS, tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      else if (k === 'text') el.textContent = v;
      else el.setAttribute(k, String(v));
    }
  }
  append(el, kids);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function loading(msg) {
  return h('p', { class: 'loading', role: 'status' }, msg || 'Loading…');
}

export function empty(msg) {
  return h('p', { class: 'empty' }, msg);
}

export function notice(...kids) {
  return h('div', { class: 'notice' }, ...kids);
}

// errorBox shows an error: a problem document's title and detail, what
// to do about 401/403, and which part of the server is missing on 404.
export function errorBox(err, what) {
  const box = h('div', { class: 'error', role: 'alert' });
  const status = err && err.status;
  let title = (err && err.title) || (err && err.message) || String(err);
  if (what) title = what + ': ' + title;
  box.appendChild(h('strong', null, title));
  const detail = err && err.detail;
  if (detail && detail !== title) box.appendChild(h('div', { class: 'detail' }, detail));
  if (status === 401 || status === 403) {
    box.appendChild(h('div', { class: 'detail' }, status === 401
      ? 'This needs an API key: set one with the “API key” button at the top.'
      : 'The API key in use is not allowed to do this.'));
  }
  if (err && err.requestId) box.appendChild(h('div', { class: 'detail muted' }, 'request id ' + err.requestId));
  return box;
}

// amount formats a base-unit integer (string or number) with decimals,
// exactly (string arithmetic), trimming trailing zeros.
export function amount(v, decimals, symbol) {
  if (v === null || v === undefined || v === '') return '';
  let str = typeof v === 'bigint' ? v.toString() : typeof v === 'number' ? BigInt(Math.round(v)).toString() : String(v);
  let neg = false;
  if (str.startsWith('-')) { neg = true; str = str.slice(1); }
  const d = decimals || 0;
  let whole = str, frac = '';
  if (d > 0) {
    str = str.padStart(d + 1, '0');
    whole = str.slice(0, str.length - d);
    frac = str.slice(str.length - d).replace(/0+$/, '');
  }
  whole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  let out = (neg ? '-' : '') + whole + (frac ? '.' + frac.slice(0, 8) : '');
  if (symbol) out += ' ' + symbol;
  return out;
}

// units converts a base-unit integer to a float in whole units.
export function units(v, decimals) {
  if (v === null || v === undefined) return 0;
  const n = Number(v);
  return n / Math.pow(10, decimals || 0);
}

export function usd(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  const a = Math.abs(v);
  if (a >= 1e9) return '$' + (v / 1e9).toFixed(2) + 'B';
  if (a >= 1e6) return '$' + (v / 1e6).toFixed(2) + 'M';
  if (a >= 1e3) return '$' + (v / 1e3).toFixed(1) + 'k';
  return '$' + v.toFixed(0);
}

export function short(addr, n) {
  n = n || 8;
  if (!addr) return '';
  addr = String(addr);
  return addr.length > 2 * n + 3 ? addr.slice(0, n) + '…' + addr.slice(-n + 2) : addr;
}

export function time(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toISOString().replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC');
}

export function link(href, text, attrs) {
  return h('a', Object.assign({ href }, attrs || {}), text);
}

export function enc(s) {
  return encodeURIComponent(s);
}

export const addrHref = (chain, a) => '#/address/' + enc(chain) + '/' + enc(a);
export const txHref = (chain, t) => '#/tx/' + enc(chain) + '/' + enc(t);
export const clusterHref = (chain, id) => '#/cluster/' + enc(chain) + '/' + enc(id);
export const incidentHref = (id) => '#/incident/' + enc(id);
export const actorHref = (id) => '#/actor/' + enc(id);
export const graphHref = (kind, chain, id) => '#/graph?start=' + enc(kind + ':' + (chain ? chain + ':' : '') + id);

// table builds a table from column specs {key, label, num, render(row),
// sort(row)}; sortable by clicking (or Enter on) a header.
export function table(cols, rows, opts) {
  opts = opts || {};
  let sortCol = null, dir = 1;
  const tbody = h('tbody');
  const fill = () => {
    clear(tbody);
    let list = rows.slice();
    if (sortCol) {
      const key = sortCol.sort || ((r) => r[sortCol.key]);
      list.sort((a, b) => {
        const x = key(a), y = key(b);
        if (x === y) return 0;
        if (x === undefined || x === null) return 1;
        if (y === undefined || y === null) return -1;
        return (x < y ? -1 : 1) * dir;
      });
    }
    for (const r of list) {
      const tr = h('tr');
      if (opts.onRow) {
        tr.className = 'clickable';
        tr.tabIndex = 0;
        tr.addEventListener('click', (e) => { if (!(e.target instanceof HTMLAnchorElement)) opts.onRow(r); });
        tr.addEventListener('keydown', (e) => { if (e.key === 'Enter') opts.onRow(r); });
      }
      for (const c of cols) {
        const v = c.render ? c.render(r) : r[c.key];
        tr.appendChild(h('td', { class: c.num ? 'num' : null }, v));
      }
      tbody.appendChild(tr);
    }
  };
  const ths = cols.map((c) => {
    const th = h('th', { class: (c.num ? 'num ' : '') + (c.nosort ? '' : 'sortable'), scope: 'col' }, c.label);
    if (!c.nosort) {
      th.tabIndex = 0;
      const go = () => {
        if (sortCol === c) dir = -dir; else { sortCol = c; dir = c.num ? -1 : 1; }
        for (const t of ths) t.removeAttribute('aria-sort');
        th.setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending');
        fill();
      };
      th.addEventListener('click', go);
      th.addEventListener('keydown', (e) => { if (e.key === 'Enter') go(); });
    }
    return th;
  });
  fill();
  const t = h('table', { class: opts.class || null }, h('thead', null, h('tr', null, ths)), tbody);
  return opts.nowrap ? t : h('div', { class: 'tablewrap' }, t);
}

export function dl(pairs) {
  const el = h('dl', { class: 'facts' });
  for (const [k, v] of pairs) {
    if (v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    el.appendChild(h('dt', null, k));
    el.appendChild(h('dd', null, v));
  }
  return el;
}

export function toast(msg) {
  const box = document.getElementById('toast');
  if (!box) return;
  const m = h('div', { class: 'msg' }, msg);
  box.appendChild(m);
  setTimeout(() => m.remove(), 4000);
}

// download saves a blob under a file name.
export function download(name, blob) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 5000);
}

// categoryColour gives a label category its colour in graphs and legends.
const CAT = {
  sanctioned: '#7a0916', sanction: '#7a0916', hack: '#d62828', theft: '#d62828', ransomware: '#9d0208', scam: '#e85d04', fraud: '#e85d04',
  mixer: '#7b2cbf', mixing_service: '#7b2cbf', coinjoin: '#9d4edd', exchange: '#1d5fa8', defi: '#2a9d8f', defi_dex: '#2a9d8f', dex: '#2a9d8f',
  defi_bridge: '#e9c46a', bridge: '#e9c46a', otc: '#457b9d', gambling: '#bc6c25', miner: '#6c757d', service: '#3d5a80', attacker: '#d62828',
};
export function categoryColour(cat) {
  if (!cat) return '#b8c0cc';
  const c = String(cat).toLowerCase();
  if (CAT[c]) return CAT[c];
  for (const [k, v] of Object.entries(CAT)) if (c.includes(k)) return v;
  let x = 0;
  for (const ch of c) x = (x * 31 + ch.charCodeAt(0)) >>> 0;
  return 'hsl(' + (x % 360) + ', 45%, 50%)';
}

// palette is a list of distinguishable colours for chart series.
export const palette = ['#1d5fa8', '#e76f51', '#2a9d8f', '#e9c46a', '#7b2cbf', '#d62828', '#457b9d', '#f4a261', '#6c757d', '#8ab17d', '#bc6c25', '#264653'];
