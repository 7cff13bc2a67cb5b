// The investigation graph: start from an address, a transaction, a
// cluster or an incident; expand neighbours in and out with amounts;
// filter by value and time; collapse clusters; save and reopen a case;
// export SVG, PNG and JSON.

import { h, clear, loading, errorBox, notice, amount, units, short, time, link, addrHref, clusterHref, incidentHref, enc, download, toast, categoryColour, dl } from '../dom.js';
import { api, chains, isAbort, missing } from '../api.js';
import { ForceGraph } from '../graph.js';

const NEIGHBOURS = 25;
const nodeId = (chain, addr) => chain + ':' + addr;
const RISKY = /sanction|hack|theft|ransom|scam|fraud|attacker|exploit|mixer|mixing/i;

function labelsOf(list) {
  return (list || []).map((l) => ({ label: l.label || l.name, category: l.category || l.abuse || '', abuse: l.abuse || '' }));
}

// startSpec parses ?start=kind:chain:id (kind address, tx, cluster) or
// incident:ID; a bare chain:address is an address.
export function startSpec(q) {
  const st = q.get('start') || '';
  if (q.get('case')) return { kind: 'case', id: q.get('case') };
  if (!st) return null;
  const parts = st.split(':');
  if (parts[0] === 'incident') return { kind: 'incident', id: parts.slice(1).join(':') };
  if (['address', 'tx', 'cluster'].includes(parts[0]) && parts.length >= 3) return { kind: parts[0], chain: parts[1], id: parts.slice(2).join(':') };
  if (parts.length >= 2) return { kind: 'address', chain: parts[0], id: parts.slice(1).join(':') };
  return null;
}

export async function graphPage(view, ctx) {
  const spec = startSpec(ctx.query);
  const title = h('h1', null, 'Investigation graph');
  view.appendChild(title);
  const msg = h('div');
  const cs = await chains(ctx.signal).catch((e) => { if (isAbort(e)) throw e; msg.appendChild(errorBox(e, 'Chain stores')); return []; });

  // Start form.
  const chainSel = h('select', { name: 'chain', 'aria-label': 'Chain' }, cs.map((c) => h('option', { value: c.chain, selected: spec && spec.chain === c.chain }, c.chain)));
  const startIn = h('input', { type: 'text', name: 'start', placeholder: 'address, tx hash, cluster id, or incident:ID', 'aria-label': 'Start from', size: 44,
    value: spec && spec.kind !== 'case' && spec.kind !== 'incident' ? spec.id : spec && spec.kind === 'incident' ? 'incident:' + spec.id : '' });
  const kindSel = h('select', { name: 'kind', 'aria-label': 'Kind' }, ['address', 'tx', 'cluster'].map((k) => h('option', { value: k, selected: spec && spec.kind === k }, k)));
  const startForm = h('form', { class: 'toolbar', on: { submit: (e) => {
    e.preventDefault();
    const v = startIn.value.trim();
    if (!v) return;
    location.hash = '#/graph?start=' + enc(v.startsWith('incident:') ? v : kindSel.value + ':' + chainSel.value + ':' + v);
  } } }, h('strong', null, 'Start from'), kindSel, chainSel, startIn, h('button', { type: 'submit' }, 'Open'));

  // Filters.
  const minIn = h('input', { type: 'number', min: '0', step: 'any', name: 'min', 'aria-label': 'Minimum value', placeholder: 'min value', size: 8 });
  const fromIn = h('input', { type: 'date', name: 'from', 'aria-label': 'Active from' });
  const toIn = h('input', { type: 'date', name: 'to', 'aria-label': 'Active until' });
  const fileIn = h('input', { type: 'file', accept: '.json,application/json', 'aria-label': 'Open a graph JSON file' });
  fileIn.hidden = true;
  const tools = h('div', { class: 'toolbar' },
    h('label', null, 'Value ≥ ', minIn), h('label', null, 'active from ', fromIn), h('label', null, 'until ', toIn),
    h('button', { type: 'button', class: 'secondary', on: { click: () => applyFilters() } }, 'Filter'),
    h('span', { class: 'muted' }, '|'),
    h('button', { type: 'button', class: 'secondary', on: { click: () => fg.fit() } }, 'Fit'),
    h('button', { type: 'button', class: 'secondary', id: 'export-svg', on: { click: () => exportSVG() } }, 'SVG'),
    h('button', { type: 'button', class: 'secondary', id: 'export-png', on: { click: () => exportPNG() } }, 'PNG'),
    h('button', { type: 'button', class: 'secondary', id: 'export-json', on: { click: () => exportJSON() } }, 'JSON'),
    h('button', { type: 'button', class: 'secondary', on: { click: () => fileIn.click() } }, 'Open JSON…'), fileIn,
    h('button', { type: 'button', id: 'save-case', on: { click: () => saveCase() } }, 'Save case'));
  view.append(startForm, tools, msg);

  const box = h('div', { class: 'graphbox', id: 'graphbox' });
  const status = h('div', { class: 'status', role: 'status', 'aria-live': 'polite' }, '');
  const overlay = h('div', { class: 'overlay' });
  const side = h('aside', { class: 'side', 'aria-label': 'Selected node' });
  const detail = h('div', { class: 'panel', id: 'node-detail' }, h('p', { class: 'muted' }, 'Select a node (click, or Tab in the graph).'));
  const caseBox = h('div', { class: 'panel' });
  const notesIn = h('textarea', { name: 'notes', 'aria-label': 'Case notes', placeholder: 'Notes kept with the case' });
  notesIn.style.minHeight = '70px';
  const caseTitle = h('input', { type: 'text', name: 'name', 'aria-label': 'Case name', placeholder: 'Case name' });
  caseTitle.style.width = '100%';
  caseBox.append(h('h3', null, 'Case'), caseTitle, notesIn);
  const help = h('div', { class: 'panel' }, h('h3', null, 'Keys (graph focused)'),
    h('ul', { class: 'keys' },
      h('li', null, h('kbd', null, 'Tab'), ' / ', h('kbd', null, '←↑→↓'), ' move between nodes'),
      h('li', null, h('kbd', null, 'Enter'), ' expand outgoing, ', h('kbd', null, 'Shift+Enter'), ' incoming (or double-click)'),
      h('li', null, h('kbd', null, 'C'), ' collapse / expand cluster'),
      h('li', null, h('kbd', null, 'Delete'), ' remove node'),
      h('li', null, h('kbd', null, '+'), h('kbd', null, '−'), ' zoom, ', h('kbd', null, '0'), ' fit, ', h('kbd', null, 'Esc'), ' deselect')));
  const legend = h('div', { class: 'panel' }, h('h3', null, 'Colours'), h('div', { class: 'legend' },
    ['exchange', 'mixer', 'sanctioned', 'hack', 'defi', 'bridge', 'otc', ''].map((c) => { const sw = h('span', { class: 'sw' }); sw.style.background = categoryColour(c); return h('span', null, sw, c || 'unlabelled'); }),
    h('span', null, '◯ red ring: tainted (followed from the start)')));
  side.append(detail, caseBox, help, legend);
  box.append(overlay, status);
  view.appendChild(h('div', { class: 'graphpage' }, box, side));

  let caseId = null, caseVersion = null;
  let busy = 0;
  const setBusy = (d, text) => {
    busy += d;
    overlay.replaceChildren(busy > 0 ? loading(text || 'Loading…') : '');
    box.setAttribute('aria-busy', busy > 0 ? 'true' : 'false');
  };

  const fg = new ForceGraph(box, {
    onExpand: (n, dir) => expand(n, dir),
    onSelect: (n) => { box.dataset.focus = n ? n.id : ''; showDetail(n); },
    onChange: (shown) => {
      status.textContent = `${shown.nodes.length} nodes, ${shown.edges.length} edges` + (fg.nodes.size !== shown.nodes.length ? ` (${fg.nodes.size} loaded)` : '');
      box.dataset.nodes = String(shown.nodes.length);
      box.dataset.edges = String(shown.edges.length);
    },
  });
  box.insertBefore(fg.svg, overlay);

  function showMsg(el) {
    msg.replaceChildren(el);
  }

  function applyFilters() {
    fg.filters.minValue = parseFloat(minIn.value) || 0;
    fg.filters.from = fromIn.value ? Date.parse(fromIn.value + 'T00:00:00Z') : null;
    fg.filters.to = toIn.value ? Date.parse(toIn.value + 'T23:59:59Z') : null;
    fg.render();
    fg.kick(0.3);
  }

  function showDetail(n) {
    clear(detail);
    if (!n) { detail.appendChild(h('p', { class: 'muted' }, 'Select a node (click, or Tab in the graph).')); return; }
    detail.appendChild(h('h3', null, n.kind === 'cluster' ? 'Cluster ' + n.cluster : n.kind === 'tx' ? 'Transaction' : 'Address'));
    detail.appendChild(h('div', { class: 'mono' }, n.kind === 'cluster' ? `${n.chain}, ${n.members ? n.members.length : '?'} addresses shown` : n.address));
    detail.appendChild(dl([
      ['Chain', n.chain],
      ['Labels', (n.labels || []).map((l) => h('span', { class: 'tag' }, l.label + (l.category ? ' (' + l.category + ')' : '')))],
      ['Tainted', n.tainted ? 'yes' : null],
      ['Cluster', n.cluster && n.kind !== 'cluster' ? link(clusterHref(n.chain, n.cluster), `${n.cluster} (${n.clusterSize || '?'} addresses)`) : null],
      ['Balance', n.balance], ['Active', n.firstSeen ? time(new Date(n.firstSeen).toISOString()) + ' – ' + time(new Date(n.lastSeen).toISOString()) : null],
    ]));
    const acts = h('div', { class: 'toolbar' });
    if (n.kind !== 'tx') {
      acts.append(
        h('button', { type: 'button', on: { click: () => expand(n, 'out') } }, 'Expand out'),
        h('button', { type: 'button', on: { click: () => expand(n, 'in') } }, 'Expand in'));
    }
    if (n.kind === 'cluster' || (n.cluster && n.clusterSize > 1)) {
      acts.append(h('button', { type: 'button', class: 'secondary', on: { click: () => fg.toggleCollapse(n) } }, n.kind === 'cluster' ? 'Expand cluster' : 'Collapse cluster'));
    }
    acts.append(h('button', { type: 'button', class: 'secondary', on: { click: () => fg.removeShown(n) } }, 'Remove'));
    if (n.kind === 'address') acts.append(link(addrHref(n.chain, n.address), 'Address page', { class: 'button secondary' }));
    detail.appendChild(acts);
  }

  // describe fills in a node's labels, cluster, activity and balance from
  // the address summary.
  async function describe(list) {
    let i = 0;
    const work = async () => {
      while (i < list.length) {
        const n = list[i++];
        try {
          const a = await api('/chains/' + enc(n.chain) + '/addresses/' + enc(n.address), { signal: ctx.signal });
          const labs = labelsOf(a.labels);
          if (labs.length) { n.labels = labs; n.category = labs[0].category; }
          if (a.cluster) { n.cluster = String(a.cluster.id); n.clusterSize = a.cluster.size; }
          if (a.first_seen) n.firstSeen = Date.parse(a.first_seen.time);
          if (a.last_seen) n.lastSeen = Date.parse(a.last_seen.time);
          if (a.balances && a.balances.length) n.balance = a.balances.map((b) => amount(b.balance, b.asset.decimals, b.asset.symbol)).join(', ');
        } catch (e) {
          if (isAbort(e)) return;
        }
      }
    };
    await Promise.all([work(), work(), work()]);
    if (ctx.signal.aborted) return;
    fg.render();
    if (fg.focusId) showDetail(fg.focused());
  }

  async function expand(n, dir) {
    if (n.kind === 'tx') return;
    let path;
    if (n.kind === 'cluster') path = '/chains/' + enc(n.chain) + '/clusters/' + enc(n.cluster) + '/neighbors?direction=' + dir + '&limit=' + NEIGHBOURS;
    else path = '/chains/' + enc(n.chain) + '/addresses/' + enc(n.address) + '/neighbors?direction=' + dir + '&limit=' + NEIGHBOURS;
    setBusy(1, 'Expanding ' + (dir === 'out' ? 'outgoing' : 'incoming') + '…');
    let r;
    try {
      r = await api(path, { signal: ctx.signal });
    } catch (e) {
      setBusy(-1);
      if (isAbort(e)) return;
      showMsg(errorBox(missing(e) && n.kind === 'cluster' ? Object.assign(e, { detail: 'This server cannot expand clusters yet; expand the cluster into addresses (C) instead.' }) : e, 'Expanding ' + short(n.address)));
      return;
    }
    setBusy(-1);
    msg.replaceChildren();
    const fresh = [];
    const srcIds = n.members ? n.members.map((m) => m.id) : [n.id];
    for (const nb of r.neighbors || []) {
      const id = nodeId(n.chain, nb.address);
      const isNew = !fg.nodes.has(id);
      const labs = labelsOf(nb.labels);
      const node = fg.addNode({ id, chain: n.chain, address: nb.address, near: srcIds[0], labels: isNew ? labs : undefined, category: isNew && labs[0] ? labs[0].category : undefined });
      if (labs.length) { node.labels = labs; node.category = labs[0].category; }
      if (dir === 'out' && n.tainted && !(node.labels.length && !RISKY.test(node.category || ''))) node.tainted = true;
      if (isNew) fresh.push(node);
      for (const v of nb.values || [{ asset: { symbol: '' }, value: '0' }]) {
        const sym = v.asset.symbol || v.asset.token || '';
        const e = { asset: sym, raw: String(v.value), value: units(v.value, v.asset.decimals), display: amount(v.value, v.asset.decimals), txs: nb.tx_count, tainted: dir === 'out' && n.tainted };
        // A cluster's neighbour links to the cluster's first member.
        if (dir === 'out') fg.addEdge(Object.assign({ from: srcIds[0], to: id }, e));
        else fg.addEdge(Object.assign({ from: id, to: srcIds[0] }, e));
      }
    }
    (n.members || [n]).forEach((m) => { m.expanded = Object.assign({}, m.expanded, { [dir]: true }); });
    fg.render();
    fg.kick(0.7);
    fg.pendingFit = true;
    if (!(r.neighbors || []).length) toast('No ' + (dir === 'out' ? 'outgoing' : 'incoming') + ' counterparties');
    else if (r.total > (r.neighbors || []).length) toast(`Showing ${r.neighbors.length} of ${r.total} counterparties (largest first)`);
    if (fresh.length) await describe(fresh.slice(0, NEIGHBOURS));
  }

  async function startAddress(chain, address, tainted) {
    const n = fg.addNode({ id: nodeId(chain, address), chain, address, start: true, tainted: !!tainted, x: 0, y: 0 });
    await describe([n]);
    fg.render();
    return n;
  }

  async function start() {
    if (!spec) {
      overlay.replaceChildren(h('p', null, 'Choose a starting point above, or open one from an address, transaction, cluster or incident page.'));
      fg.render();
      return;
    }
    setBusy(1, 'Loading the starting point…');
    try {
      if (spec.kind === 'address') {
        if (!cs.some((c) => c.chain === spec.chain)) throw Object.assign(new Error('no chain store ' + spec.chain), { title: 'No chain store ' + spec.chain, detail: 'This server holds: ' + cs.map((c) => c.chain).join(', ') });
        // The starting address is where the funds of interest are:
        // what it pays out is followed as tainted.
        const n = await startAddress(spec.chain, spec.id, true);
        title.textContent = 'Graph from ' + short(spec.id, 10);
        fg.setFocus(n.id);
      } else if (spec.kind === 'tx') {
        const t = await api('/chains/' + enc(spec.chain) + '/txs/' + enc(spec.id), { signal: ctx.signal });
        const tid = 'tx:' + spec.chain + ':' + t.hash;
        fg.addNode({ id: tid, kind: 'tx', chain: spec.chain, address: t.hash, start: true, x: 0, y: 0 });
        const add = (addr, labs, value, asset, dec, out) => {
          if (!addr) return;
          const id = nodeId(spec.chain, addr);
          const nd = fg.addNode({ id, chain: spec.chain, address: addr, near: tid });
          const ls = labelsOf(labs);
          if (ls.length) { nd.labels = ls; nd.category = ls[0].category; }
          const e = { asset, raw: String(value), value: units(value, dec), display: amount(value, dec) };
          fg.addEdge(Object.assign(out ? { from: tid, to: id } : { from: id, to: tid }, e));
        };
        if (t.kind === 'utxo') {
          for (const i of t.inputs || []) add(i.address, i.labels, i.value, 'BTC', 8, false);
          for (const o of t.outputs || []) add(o.address, o.labels, o.value, 'BTC', 8, true);
        } else {
          for (const tr of t.transfers || []) {
            const a = tr.asset || { symbol: '', decimals: 0 };
            add(tr.from, tr.from_labels, tr.amount, a.symbol, a.decimals, false);
            add(tr.to, tr.to_labels, tr.amount, a.symbol, a.decimals, true);
          }
        }
        title.textContent = 'Graph from transaction ' + short(t.hash, 10);
        fg.render();
        fg.setFocus(tid);
        describe([...fg.nodes.values()].filter((x) => x.kind === 'address'));
      } else if (spec.kind === 'cluster') {
        const c = await api('/chains/' + enc(spec.chain) + '/clusters/' + enc(spec.id), { signal: ctx.signal });
        const members = (c.members || c.addresses || []).slice(0, 60);
        const cl = (c.labels || []).map((l) => Object.assign({}, l.label || l, { address: l.address }));
        for (const m of members) {
          const addr = typeof m === 'string' ? m : m.address;
          const nd = fg.addNode({ id: nodeId(spec.chain, addr), chain: spec.chain, address: addr, start: true, cluster: String(c.id !== undefined ? c.id : spec.id), clusterSize: Math.max(2, c.size || members.length) });
          const ls = labelsOf(cl.filter((l) => l.address === addr));
          if (ls.length) { nd.labels = ls; nd.category = ls[0].category; }
        }
        const cid = String(c.id !== undefined ? c.id : spec.id);
        fg.collapsed.add(spec.chain + ':' + cid);
        title.textContent = 'Graph from cluster ' + cid;
        fg.render();
        fg.setFocus('cluster:' + spec.chain + ':' + cid);
      } else if (spec.kind === 'incident') {
        const inc = await api('/incidents/' + enc(spec.id), { signal: ctx.signal });
        const rec = inc.incident || inc;
        title.replaceChildren('Graph of incident ', link(incidentHref(rec.id || spec.id), (rec.victim && rec.victim.name) || spec.id));
        const held = new Set(cs.map((c) => c.chain));
        const addrs = (rec.addresses || []).filter((a) => held.has(a.chain));
        if (!addrs.length) {
          showMsg(notice('No chain store on this server holds the addresses of this incident' + ((rec.addresses || []).length ? ' (' + [...new Set(rec.addresses.map((a) => a.chain))].join(', ') + ')' : ' (the record lists none)') + '.'));
        }
        const list = addrs.map((a) => fg.addNode({ id: nodeId(a.chain, a.address), chain: a.chain, address: a.address, start: true, tainted: /attacker|exploit|thief|launder/i.test(a.role || 'attacker'), labels: [{ label: a.role || 'incident', category: 'attacker' }], category: 'attacker' }));
        fg.render();
        if (list.length) fg.setFocus(list[0].id);
        if (list.length) describe(list).then(() => { for (const n of list) if (!n.labels.length) n.labels = [{ label: 'attacker', category: 'attacker' }]; });
      } else if (spec.kind === 'case') {
        const c = await api('/cases/' + enc(spec.id), { signal: ctx.signal, full: true });
        const body = c.body || {};
        caseId = body.id || spec.id;
        caseVersion = body.version !== undefined ? body.version : (c.headers.get('ETag') || null);
        caseTitle.value = body.name || body.title || '';
        notesIn.value = body.notes || '';
        fg.load(caseState(body.graph));
        title.textContent = 'Case: ' + (body.name || body.title || caseId);
        fg.render();
        fg.fit();
      }
    } catch (e) {
      setBusy(-1);
      if (isAbort(e)) throw e;
      showMsg(errorBox(e, 'Opening the starting point'));
      fg.render();
      return;
    }
    setBusy(-1);
    fg.kick(0.8);
    fg.pendingFit = true;
  }

  function exportSVG() {
    download('chaintrace-graph.svg', new Blob([fg.toSVGString()], { type: 'image/svg+xml' }));
  }
  async function exportPNG() {
    try {
      const png = await fg.toPNG(2);
      box.dataset.exported = 'png:' + png.size;
      download('chaintrace-graph.png', png);
    } catch (e) {
      showMsg(errorBox(e, 'PNG export'));
    }
  }
  function exportJSON() {
    const st = Object.assign(fg.toJSON(), { name: caseTitle.value, notes: notesIn.value });
    download('chaintrace-graph.json', new Blob([JSON.stringify(st, null, 2)], { type: 'application/json' }));
  }
  fileIn.addEventListener('change', async () => {
    const f = fileIn.files && fileIn.files[0];
    if (!f) return;
    try {
      const st = JSON.parse(await f.text());
      fg.load(st);
      if (st.name || st.title) caseTitle.value = st.name || st.title;
      if (st.notes) notesIn.value = st.notes;
      fg.render();
      fg.fit();
      msg.replaceChildren();
      toast('Graph opened from ' + f.name);
    } catch (e) {
      showMsg(errorBox(e, 'Opening ' + f.name));
    }
    fileIn.value = '';
  });

  // caseGraph maps the graph to the case store's schema (addresses with
  // positions, edges with base-unit values) and keeps the whole UI state
  // (labels, taint, clusters, view) in its filters, from which a reopened
  // case restores everything.
  function caseGraph() {
    const st = fg.toJSON();
    const nodes = st.nodes.filter((n) => n.kind !== 'tx').map((n) => ({
      id: n.id, chain: n.chain, address: n.address, kind: n.kind || 'address',
      label: ((n.labels && n.labels[0] && n.labels[0].label) || '').slice(0, 100), x: n.x, y: n.y,
      collapsed: !!(n.cluster && st.collapsed.includes(n.chain + ':' + n.cluster)),
    }));
    const ids = new Set(nodes.map((n) => n.id));
    const edges = st.edges.filter((e) => ids.has(e.from) && ids.has(e.to)).map((e) => ({
      from: e.from, to: e.to, asset: (e.asset || '').slice(0, 100), value: /^[0-9]+$/.test(e.raw || '') ? e.raw : '',
      label: e.display ? (e.display + ' ' + (e.asset || '')).trim().slice(0, 100) : '',
    }));
    return { nodes, edges, filters: { ui: st } };
  }

  // caseState turns a stored case graph back into the UI's state.
  function caseState(g) {
    g = g || {};
    if (g.filters && g.filters.ui && Array.isArray(g.filters.ui.nodes)) return g.filters.ui;
    return {
      nodes: (g.nodes || []).map((n) => ({ id: n.id, chain: n.chain, address: n.address, kind: n.kind || 'address', labels: n.label ? [{ label: n.label }] : [], x: n.x, y: n.y })),
      edges: (g.edges || []).map((e) => ({ from: e.from, to: e.to, asset: e.asset, raw: e.value, value: Number(e.value) || 0, display: e.label })),
    };
  }

  async function saveCase() {
    const body = { name: caseTitle.value.trim() || title.textContent, notes: notesIn.value, graph: caseGraph() };
    try {
      let r;
      if (caseId) {
        const headers = {};
        if (caseVersion !== null && caseVersion !== undefined) headers['If-Match'] = String(caseVersion).startsWith('"') ? String(caseVersion) : '"' + caseVersion + '"';
        r = await api('/cases/' + enc(caseId), { method: 'PUT', body, headers, signal: ctx.signal, full: true });
      } else {
        r = await api('/cases', { method: 'POST', body, signal: ctx.signal, full: true });
      }
      const b = r.body || {};
      caseId = b.id || caseId;
      caseVersion = b.version !== undefined ? b.version : r.headers.get('ETag');
      if (!caseTitle.value.trim()) caseTitle.value = body.name;
      history.replaceState(null, '', '#/graph?case=' + enc(caseId));
      toast('Case saved as ' + caseId + (b.version !== undefined ? ' (version ' + b.version + ')' : ''));
      msg.replaceChildren();
    } catch (e) {
      if (isAbort(e)) return;
      if (e.status === 412 || e.status === 409) e.detail = (e.detail || '') + ' Someone saved this case since you opened it; reopen it from the cases page to see their version.';
      showMsg(errorBox(e, 'Saving the case'));
    }
  }

  await start();
  return () => fg.stop();
}
