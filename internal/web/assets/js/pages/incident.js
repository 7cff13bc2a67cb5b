// The incident page: facts, sources, and the trace of the funds: a flow
// diagram from the source addresses through the hops to the endpoints,
// the endpoints table and the funds still at attacker addresses.

import { h, s, clear, loading, empty, errorBox, notice, table, dl, usd, amount, short, time, link, addrHref, txHref, actorHref, graphHref, enc, categoryColour, download } from '../dom.js';
import { api, chains, isAbort } from '../api.js';

const DECIMALS = { BTC: 8, ETH: 18, USDT: 6, USDC: 6 };
const ROLE_FILL = { source: '#d62828', hop: '#8a94a3', holding: '#f4a261', mixer: '#7b2cbf', bridge: '#e9c46a', limit: '#c9ced6' };
const pretty = (x) => String(x || '').replace(/_/g, ' ');
const sourceLink = (src) => h('a', { href: src.url, rel: 'noopener noreferrer', target: '_blank' }, src.title || src.url);

function decimalsOf(asset, result) {
  if (DECIMALS[asset] !== undefined) return DECIMALS[asset];
  const t = ((result && result.totals) || []).find((x) => x.asset === asset && x.decimals !== undefined);
  return t ? t.decimals : 0;
}

// flowDiagram lays the trace out in columns by hop: sources on the left,
// endpoints where they were reached, bands as wide as the tainted value
// (relative to the largest movement of the same asset).
export function flowDiagram(result) {
  const nodes = new Map((result.nodes || []).map((n) => [n.id, Object.assign({}, n, { win: 0, wout: 0 })]));
  const agg = new Map();
  const maxA = new Map();
  for (const e of result.edges || []) {
    const v = Number(e.tainted) || 0;
    maxA.set(e.asset, Math.max(maxA.get(e.asset) || 0, v));
  }
  for (const e of result.edges || []) {
    if (!nodes.has(e.from) || !nodes.has(e.to) || e.from === e.to) continue;
    const k = e.from + '|' + e.to;
    const w = (Number(e.tainted) || 0) / (maxA.get(e.asset) || 1);
    const o = agg.get(k);
    if (o) { o.w += w; o.txs++; o.amounts[e.asset] = (o.amounts[e.asset] || 0n) + BigInt(e.tainted || 0); }
    else agg.set(k, { from: e.from, to: e.to, w, txs: 1, amounts: { [e.asset]: BigInt(e.tainted || 0) } });
  }
  for (const e of agg.values()) { nodes.get(e.from).wout += e.w; nodes.get(e.to).win += e.w; }
  let list = [...nodes.values()];
  for (const n of list) n.w = Math.max(n.win, n.wout, 0.02);
  const MAX = 60;
  let hidden = 0;
  if (list.length > MAX) {
    // Sources, endpoints, holdings, mixers and bridges always show; the
    // hops between fill the rest by value.
    const keep = new Set(list.filter((n) => n.role !== 'hop' && n.role !== 'limit').map((n) => n.id));
    for (const n of list.slice().sort((a, b) => b.w - a.w)) { if (keep.size >= MAX) break; keep.add(n.id); }
    hidden = list.length - keep.size;
    list = list.filter((n) => keep.has(n.id));
  }
  const ids = new Set(list.map((n) => n.id));
  const edges = [...agg.values()].filter((e) => ids.has(e.from) && ids.has(e.to));
  const cols = new Map();
  for (const n of list) {
    const c = n.role === 'source' ? 0 : Math.max(1, n.hop || 0);
    n.col = c;
    if (!cols.has(c)) cols.set(c, []);
    cols.get(c).push(n);
  }
  const colKeys = [...cols.keys()].sort((a, b) => a - b);
  const colIndex = new Map(colKeys.map((c, i) => [c, i]));
  const W = Math.max(720, colKeys.length * 180), colW = (W - 200) / Math.max(1, colKeys.length - 1 || 1);
  const scale = 40;
  const height = (n) => Math.max(6, Math.min(60, Math.sqrt(n.w) * scale));
  const colHeights = [...cols.values()].map((c) => c.reduce((a, n) => a + height(n) + 16, 0));
  const H = Math.max(240, Math.max(...colHeights) + 40);
  for (const c of colKeys) {
    const col = cols.get(c).sort((a, b) => b.w - a.w);
    const total = col.reduce((a, n) => a + height(n) + 16, 0);
    let y = Math.max(20, (H - total) / 2);
    for (const n of col) {
      n.h = height(n);
      n.x = 20 + colIndex.get(c) * colW;
      n.y = y;
      y += n.h + 16;
    }
  }
  const svg = s('svg', { viewBox: `0 0 ${W} ${H + 20}`, role: 'img', 'aria-label': 'Flow of the stolen funds from the sources through hops to endpoints', xmlns: 'http://www.w3.org/2000/svg', 'font-family': 'system-ui, sans-serif' });
  svg.appendChild(s('rect', { x: 0, y: 0, width: W, height: H + 20, fill: '#ffffff' }));
  colKeys.forEach((c, i) => svg.appendChild(s('text', { x: 20 + i * colW, y: 12, 'font-size': '10', fill: '#5b6776', text: c === 0 ? 'sources' : 'hop ' + c })));
  const out = new Map(), inn = new Map();
  for (const e of edges.sort((a, b) => b.w - a.w)) {
    const a = nodes.get(e.from), b = nodes.get(e.to);
    const sw = Math.max(1, Math.min(a.h, b.h, Math.sqrt(e.w) * scale));
    const oy = out.get(a.id) || 0, iy = inn.get(b.id) || 0;
    out.set(a.id, oy + sw); inn.set(b.id, iy + sw);
    const y1 = a.y + Math.min(a.h, oy + sw / 2), y2 = b.y + Math.min(b.h, iy + sw / 2);
    const x1 = a.x + 12, x2 = b.x;
    const mx = x2 > x1 ? (x1 + x2) / 2 : x1 + 60;
    const amt = Object.entries(e.amounts).map(([as, v]) => amount(v, decimalsOf(as, result), as)).join(', ');
    svg.appendChild(s('path', { d: `M${x1},${y1} C${mx},${y1} ${x2 > x1 ? mx : x2 - 60},${y2} ${x2},${y2}`, fill: 'none', stroke: '#d62828', 'stroke-opacity': '0.35', 'stroke-width': sw.toFixed(1) },
      s('title', { text: `${short(a.address)} → ${short(b.address)}: ${amt} (${e.txs} movement${e.txs > 1 ? 's' : ''})` })));
  }
  for (const n of list) {
    const lab = (n.labels && n.labels[0]) || null;
    const fill = ROLE_FILL[n.role] || (lab ? categoryColour(lab.category) : '#8a94a3');
    const name = lab ? (lab.label.length > 20 ? lab.label.slice(0, 19) + '…' : lab.label) : short(n.address, 5);
    const a = s('a', { href: addrHref(n.chain, n.address) },
      s('rect', { x: n.x, y: n.y, width: 12, height: n.h, fill, rx: 2 }),
      s('text', { x: n.x + 16, y: n.y + Math.min(n.h, 12) / 2 + 8, 'font-size': '10', fill: '#1b2430', text: name }),
      s('title', { text: `${n.address} · ${n.role}${lab ? ' · ' + lab.label : ''}` }));
    svg.appendChild(a);
  }
  const legend = h('div', { class: 'legend' }, [['source', 'source'], ['hop', 'hop'], ['endpoint', 'endpoint (service; colour by category)'], ['holding', 'still held'], ['mixer', 'mixer'], ['limit', 'beyond the limits']].map(([r, text]) => {
    const sw = h('span', { class: 'sw' });
    sw.style.background = ROLE_FILL[r] || categoryColour('exchange');
    return h('span', null, sw, text);
  }));
  return h('div', { class: 'flow' }, svg, legend, hidden ? h('p', { class: 'muted' }, `${hidden} smaller addresses left out of the diagram; the tables list everything.`) : null);
}

function traceTables(result) {
  const box = h('div');
  const eps = result.endpoints || [];
  box.appendChild(h('h2', null, 'Endpoints (where the funds were stopped or received)'));
  box.appendChild(eps.length ? table([
    { key: 'entity', label: 'Entity', render: (e) => e.entity || e.label || '—' },
    { key: 'category', label: 'Category' },
    { key: 'address', label: 'Address', render: (e) => link(addrHref(e.chain, e.address), short(e.address, 10)) },
    { key: 'tainted', label: 'Tainted', num: true, render: (e) => amount(e.tainted, decimalsOf(e.asset, result), e.asset), sort: (e) => Number(e.tainted) },
    { key: 'share', label: 'Share', num: true, render: (e) => (e.share * 100).toFixed(2) + '%' },
    { key: 'hop', label: 'Hop', num: true }, { key: 'txs', label: 'Txs', num: true },
  ], eps, { class: 'endpoints' }) : empty('No endpoint reached.'));
  const hs = result.holdings || [];
  box.appendChild(h('h2', null, 'Funds still at attacker addresses'));
  box.appendChild(hs.length ? table([
    { key: 'address', label: 'Address', render: (x) => link(addrHref(x.chain, x.address), short(x.address, 12)) },
    { key: 'chain', label: 'Chain' },
    { key: 'amount', label: 'Amount', num: true, render: (x) => amount(x.amount, decimalsOf(x.asset, result), x.asset), sort: (x) => Number(x.amount) },
    { key: 'hop', label: 'Hop', num: true },
  ], hs, { class: 'holdings' }) : empty('Nothing left at attacker addresses.'));
  return box;
}

async function runTrace(box, rec, chain, signal) {
  clear(box).appendChild(loading('Starting a trace on ' + chain + '…'));
  let job;
  try {
    try {
      job = await api('/traces', { method: 'POST', body: { incident: rec.id, chain }, signal });
    } catch (e) {
      // A tracer that reads another registry than the incident routes
      // does not know the record: start from its addresses instead.
      const from = (rec.addresses || []).filter((a) => a.chain === chain && !/victim/i.test(a.role || '')).map((a) => a.address);
      if (!(e.status === 400 && /incident/i.test(e.detail || '') && from.length)) throw e;
      job = await api('/traces', { method: 'POST', body: { chain, from }, signal });
    }
    const t0 = Date.now();
    while (!['done', 'failed', 'cancelled'].includes(job.status)) {
      clear(box).appendChild(loading(`Tracing (${job.status}, ${Math.round((Date.now() - t0) / 1000)} s)…`));
      await new Promise((r) => setTimeout(r, 700));
      if (signal.aborted) return;
      job = await api('/traces/' + enc(job.id), { signal });
    }
    if (job.status !== 'done') {
      clear(box).appendChild(errorBox(job.error || { title: 'The trace ' + job.status }, 'Trace'));
      return;
    }
    const result = await api('/traces/' + enc(job.id) + '/result?format=json', { signal });
    clear(box);
    const tools = h('div', { class: 'toolbar' },
      h('span', { class: 'muted' }, `${(result.nodes || []).length} addresses, ${(result.edges || []).length} movements` + (job.trace_id ? ' · saved as trace ' + job.trace_id : '')),
      h('button', { type: 'button', class: 'secondary', on: { click: () => download('trace-' + rec.id + '.json', new Blob([JSON.stringify(result, null, 2)], { type: 'application/json' })) } }, 'Download JSON'),
      link(graphHref('incident', '', rec.id), 'Open in graph', { class: 'button secondary' }));
    box.append(tools, flowDiagram(result), traceTables(result));
  } catch (e) {
    if (isAbort(e)) return;
    clear(box).appendChild(errorBox(e, 'Trace'));
  }
}

export async function incidentPage(view, ctx) {
  const id = ctx.parts[0] || '';
  const title = h('h1', null, 'Incident ' + id);
  view.appendChild(title);
  const body = h('div', null, loading());
  view.appendChild(body);
  let rec;
  try {
    const r = await api('/incidents/' + enc(id), { signal: ctx.signal });
    rec = r.incident || r;
  } catch (e) {
    if (isAbort(e)) throw e;
    clear(body).appendChild(errorBox(e, 'Incident ' + id));
    return;
  }
  clear(body);
  title.textContent = ((rec.victim && rec.victim.name) || rec.id) + ' — ' + rec.date;
  const att = rec.attribution || {};
  body.appendChild(h('section', { class: 'panel', id: 'incident-facts' }, h('h2', null, 'Facts'), dl([
    ['Id', rec.id], ['Date', rec.date + (rec.date_precision && rec.date_precision !== 'day' ? ` (to the ${rec.date_precision})` : '')],
    ['Victim', rec.victim ? `${rec.victim.name} (${pretty(rec.victim.type)}${rec.victim.country ? ', ' + rec.victim.country : ''})` : null],
    ['Also known as', rec.victim && rec.victim.aliases ? rec.victim.aliases.join(', ') : null],
    ['Stolen', rec.usd !== null && rec.usd !== undefined ? usd(rec.usd) + (rec.usd_source ? ' (' + rec.usd_source + ')' : '') : 'not known'],
    ['Other estimates', (rec.usd_alternatives || []).map((a) => h('div', null, usd(a.usd) + ' — ' + a.source + (a.note ? ' (' + a.note + ')' : '')))],
    ['Amounts', (rec.amounts || []).map((a) => h('div', null, a.native + ' ' + a.asset + (a.usd ? ' (' + usd(a.usd) + ')' : '')))],
    ['Vector', pretty(rec.vector)], ['Chains', (rec.chains || []).join(', ')], ['Assets', (rec.assets || []).join(', ')],
    ['Attribution', att.actor ? [link(actorHref(att.actor), att.actor), ' — ', pretty(att.confidence)] : 'unattributed'],
    ['Other attributions', (rec.alternatives || []).map((a) => h('div', null, link(actorHref(a.actor), a.actor), ' — ', pretty(a.confidence)))],
    ['Frozen', rec.frozen_usd !== undefined && rec.frozen_usd !== null ? usd(rec.frozen_usd) + (rec.frozen_source ? ' (' + rec.frozen_source + ')' : '') : null],
    ['Recovered', rec.recovered_usd !== undefined && rec.recovered_usd !== null ? usd(rec.recovered_usd) + (rec.recovered_source ? ' (' + rec.recovered_source + ')' : '') : null],
    ['Notes', rec.notes],
  ])));
  const srcs = rec.sources || [];
  body.appendChild(h('section', { class: 'panel' }, h('h2', null, 'Sources'), srcs.length
    ? h('ul', null, srcs.map((x) => h('li', null, x.publisher ? x.publisher + ': ' : '', sourceLink(x), x.date ? ' (' + x.date + ')' : '')))
    : empty('No sources listed.')));
  if ((rec.addresses || []).length) {
    body.appendChild(h('section', { class: 'panel' }, h('h2', null, 'Addresses'), table([
      { key: 'chain', label: 'Chain' },
      { key: 'address', label: 'Address', render: (a) => link(addrHref(a.chain, a.address), a.address) },
      { key: 'role', label: 'Role', render: (a) => pretty(a.role) },
      { key: 'source', label: 'Source', render: (a) => (/^https?:/.test(a.source || '') ? h('a', { href: a.source, rel: 'noopener noreferrer', target: '_blank' }, short(a.source.replace(/^https?:\/\//, ''), 16)) : a.source) },
    ], rec.addresses)));
  }
  if ((rec.transactions || []).length) {
    body.appendChild(h('section', { class: 'panel' }, h('h2', null, 'Transactions'), table([
      { key: 'chain', label: 'Chain' },
      { key: 'hash', label: 'Hash', render: (t) => link(txHref(t.chain, t.hash), short(t.hash, 12)) },
      { key: 'what', label: 'What' },
    ], rec.transactions)));
  }
  const traceBox = h('div');
  const sec = h('section', { class: 'panel', id: 'incident-trace' }, h('h2', null, 'Where the funds went'), traceBox);
  body.appendChild(sec);
  let cs = [];
  try { cs = await chains(ctx.signal); } catch (e) { if (isAbort(e)) throw e; }
  const held = new Set(cs.map((c) => c.chain));
  const addrChains = [...new Set((rec.addresses || []).map((a) => a.chain))];
  const traceable = [...new Set(addrChains.concat(rec.chains || []))].filter((c) => held.has(c));
  if (!traceable.length) {
    traceBox.appendChild(notice('No chain store on this server holds ' + (addrChains.length ? 'this incident’s chains (' + addrChains.join(', ') + ')' : 'this incident’s chains' + ((rec.chains || []).length ? ' (' + rec.chains.join(', ') + ')' : '')) +
      (addrChains.length ? '' : '; the record lists no addresses to start from') + '. Ingest the chain to trace the funds.'));
    return;
  }
  traceBox.appendChild(h('div', { class: 'toolbar' }, traceable.map((c) => h('button', { type: 'button', class: 'trace-start', on: { click: () => runTrace(traceBox, rec, c, ctx.signal) } }, 'Trace the funds on ' + c)),
    link(graphHref('incident', '', rec.id), 'Open in graph', { class: 'button secondary' }),
    h('span', { class: 'muted' }, ' Starts a forward trace from the attacker addresses (may need an API key).')));
}
