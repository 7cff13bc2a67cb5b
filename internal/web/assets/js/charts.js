// SVG charts: vertical stacked bars (a category axis, series stacked)
// and horizontal bars. Each returns an element holding the SVG and a
// legend; bars carry <title> tooltips and are keyboard-focusable links
// when the caller passes onClick.

import { h, s, palette } from './dom.js';

function niceMax(v) {
  if (v <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

// stackedBars: cats (x labels), series [{name, values[]}], fmt(value).
export function stackedBars({ cats, series, fmt, title, onClick, height }) {
  const W = 640, H = height || 260, L = 58, R = 10, T = 12, B = 34;
  const totals = cats.map((_, i) => series.reduce((a, sr) => a + (sr.values[i] || 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const bw = (W - L - R) / Math.max(1, cats.length);
  const y = (v) => T + (H - T - B) * (1 - v / max);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title || 'chart' });
  const axis = s('g', { class: 'axis' });
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    axis.appendChild(s('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: '#e3e7ec' }));
    axis.appendChild(s('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', text: fmt(v) }));
  }
  svg.appendChild(axis);
  const every = Math.ceil(cats.length / 16);
  cats.forEach((c, i) => {
    let base = 0;
    const x = L + i * bw + bw * 0.12, w = bw * 0.76;
    const g = s('g', { class: 'bar' });
    series.forEach((sr, j) => {
      const v = sr.values[i] || 0;
      if (v <= 0) return;
      const r = s('rect', { x, y: y(base + v), width: w, height: Math.max(0.5, y(base) - y(base + v)), fill: sr.colour || palette[j % palette.length] },
        s('title', { text: `${c} · ${sr.name}: ${fmt(v)}` }));
      g.appendChild(r);
      base += v;
    });
    g.appendChild(s('title', { text: `${c}: ${fmt(totals[i])}` }));
    if (onClick) {
      g.setAttribute('tabindex', '0');
      g.setAttribute('role', 'button');
      g.setAttribute('aria-label', `${c}: ${fmt(totals[i])}`);
      g.addEventListener('click', () => onClick(c));
      g.addEventListener('keydown', (e) => { if (e.key === 'Enter') onClick(c); });
      g.style.cursor = 'pointer';
    }
    svg.appendChild(g);
    if (i % every === 0) svg.appendChild(s('text', { x: L + i * bw + bw / 2, y: H - B + 14, 'text-anchor': 'middle', text: String(c) }));
  });
  svg.appendChild(s('line', { x1: L, x2: W - R, y1: y(0), y2: y(0), stroke: '#9aa4b2' }));
  const legend = h('div', { class: 'legend' }, series.filter((sr) => sr.values.some((v) => v > 0)).map((sr) => {
    const sw = h('span', { class: 'sw' });
    sw.style.background = sr.colour || palette[series.indexOf(sr) % palette.length];
    return h('span', null, sw, sr.name);
  }));
  return h('div', { class: 'chart' }, svg, series.length > 1 ? legend : null);
}

// hbars: rows [{key, value, label}], horizontal, largest first.
export function hbars({ rows, fmt, title, onClick, colour, max: maxRows }) {
  rows = rows.slice().sort((a, b) => b.value - a.value).slice(0, maxRows || 12);
  const W = 640, rh = 22, L = 170, R = 70, T = 4;
  const H = T + rows.length * rh + 4;
  const max = niceMax(Math.max(0, ...rows.map((r) => r.value)));
  const svg = s('svg', { viewBox: `0 0 ${W} ${Math.max(H, 30)}`, role: 'img', 'aria-label': title || 'chart' });
  rows.forEach((r, i) => {
    const y0 = T + i * rh;
    const w = ((W - L - R) * r.value) / max;
    const g = s('g', { class: 'bar' });
    const name = String(r.label || r.key);
    g.appendChild(s('text', { x: L - 6, y: y0 + 15, 'text-anchor': 'end', text: name.length > 26 ? name.slice(0, 25) + '…' : name }));
    g.appendChild(s('rect', { x: L, y: y0 + 3, width: Math.max(1, w), height: rh - 6, fill: colour || palette[0], rx: 2 }));
    g.appendChild(s('text', { x: L + w + 4, y: y0 + 15, text: fmt(r.value) }));
    g.appendChild(s('title', { text: `${name}: ${fmt(r.value)}` }));
    if (onClick) {
      g.setAttribute('tabindex', '0');
      g.setAttribute('role', 'button');
      g.setAttribute('aria-label', `${name}: ${fmt(r.value)}`);
      g.addEventListener('click', () => onClick(r.key));
      g.addEventListener('keydown', (e) => { if (e.key === 'Enter') onClick(r.key); });
      g.style.cursor = 'pointer';
    }
    svg.appendChild(g);
  });
  if (!rows.length) svg.appendChild(s('text', { x: W / 2, y: 20, 'text-anchor': 'middle', text: 'no data' }));
  return h('div', { class: 'chart' }, svg);
}
