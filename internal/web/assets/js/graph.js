// ForceGraph: an SVG force-directed graph of addresses (and collapsed
// clusters, transactions) with pan and zoom, dragging, keyboard focus,
// colours by label category, taint rings, value and time filters,
// cluster collapsing, and export to SVG, PNG and JSON.
//
// The caller owns the data (add, remove, update) and the actions: the
// graph calls opts.onExpand(node, direction) for a double click or Enter,
// opts.onSelect(node) when the focus moves, opts.onChange() after any
// change of what is shown.

import { s, categoryColour, short } from './dom.js';

const R = 9; // node radius before the degree bonus

export class ForceGraph {
  constructor(container, opts) {
    this.opts = opts || {};
    this.nodes = new Map();
    this.edges = new Map();
    this.collapsed = new Set(); // cluster keys "chain:id"
    this.filters = { minValue: 0, from: null, to: null };
    this.view = { k: 1, x: 0, y: 0 };
    this.focusId = null;
    this.alpha = 0;
    this.raf = 0;
    this.els = new Map();
    this.edgeEls = [];
    this.svg = s('svg', { tabindex: '0', role: 'application', 'aria-label': 'Investigation graph. Tab and the arrow keys move between nodes; Enter expands outgoing, Shift+Enter incoming; C collapses a cluster; Delete removes a node.',
      xmlns: 'http://www.w3.org/2000/svg', 'font-family': 'system-ui, sans-serif' });
    const defs = s('defs', null,
      s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: '10', refY: '5', markerUnits: 'userSpaceOnUse', markerWidth: '9', markerHeight: '9', orient: 'auto-start-reverse' }, s('path', { d: 'M0,0L10,5L0,10z', fill: '#8a94a3' })),
      s('marker', { id: 'arrow-t', viewBox: '0 0 10 10', refX: '10', refY: '5', markerUnits: 'userSpaceOnUse', markerWidth: '9', markerHeight: '9', orient: 'auto-start-reverse' }, s('path', { d: 'M0,0L10,5L0,10z', fill: '#d62828' })));
    this.bg = s('rect', { x: '-50000', y: '-50000', width: '100000', height: '100000', fill: '#ffffff' });
    this.port = s('g', { class: 'viewport' });
    this.edgeLayer = s('g', { class: 'edges' });
    this.nodeLayer = s('g', { class: 'nodes' });
    this.port.append(this.bg, this.edgeLayer, this.nodeLayer);
    this.svg.append(defs, this.port);
    container.appendChild(this.svg);
    this.bindPointer();
    this.bindKeys();
  }

  // ---- data ----

  addNode(n) {
    const old = this.nodes.get(n.id);
    if (old) { Object.assign(old, n, { x: old.x, y: old.y }); return old; }
    const near = n.near && this.nodes.get(n.near);
    const a = Math.random() * Math.PI * 2, d = near ? 60 + Math.random() * 40 : 30 + Math.random() * 60;
    const node = Object.assign({ labels: [], tainted: false, kind: 'address', expanded: {} }, n, {
      x: n.x !== undefined ? n.x : (near ? near.x : 0) + Math.cos(a) * d,
      y: n.y !== undefined ? n.y : (near ? near.y : 0) + Math.sin(a) * d, vx: 0, vy: 0,
    });
    delete node.near;
    this.nodes.set(n.id, node);
    return node;
  }

  addEdge(e) {
    const key = e.from + '|' + e.to + '|' + (e.asset || '');
    const old = this.edges.get(key);
    if (old) { Object.assign(old, e); return old; }
    const edge = Object.assign({ value: 0, txs: 0 }, e, { key });
    this.edges.set(key, edge);
    return edge;
  }

  removeNode(id) {
    this.nodes.delete(id);
    for (const [k, e] of this.edges) if (e.from === id || e.to === id) this.edges.delete(k);
    if (this.focusId === id) this.focusId = null;
  }

  clearAll() {
    this.nodes.clear(); this.edges.clear(); this.collapsed.clear(); this.focusId = null;
  }

  // ---- what is shown ----

  clusterKey(n) { return n.cluster && n.clusterSize > 1 ? n.chain + ':' + n.cluster : null; }

  // visible applies collapsing and the filters.
  visible() {
    const f = this.filters;
    const rep = new Map(); // node id -> shown id
    const groups = new Map();
    for (const n of this.nodes.values()) {
      const ck = this.clusterKey(n);
      if (ck && this.collapsed.has(ck)) {
        const gid = 'cluster:' + ck;
        rep.set(n.id, gid);
        if (!groups.has(gid)) groups.set(gid, []);
        groups.get(gid).push(n);
      } else rep.set(n.id, n.id);
    }
    const timeOK = (n) => {
      if (n.start) return true;
      if (f.from && n.lastSeen && n.lastSeen < f.from) return false;
      if (f.to && n.firstSeen && n.firstSeen > f.to) return false;
      return true;
    };
    const shown = new Map();
    for (const n of this.nodes.values()) if (rep.get(n.id) === n.id && timeOK(n)) shown.set(n.id, n);
    for (const [gid, members] of groups) {
      if (!members.some(timeOK)) continue;
      let x = 0, y = 0;
      for (const m of members) { x += m.x; y += m.y; }
      const first = members[0];
      let g = this.groupNodes && this.groupNodes.get(gid);
      if (!g) {
        g = { id: gid, kind: 'cluster', chain: first.chain, cluster: first.cluster, x: x / members.length, y: y / members.length, vx: 0, vy: 0 };
        this.groupNodes = this.groupNodes || new Map();
        this.groupNodes.set(gid, g);
      }
      const labelled = members.find((m) => m.labels && m.labels.length);
      Object.assign(g, { members, address: 'cluster ' + first.cluster, labels: labelled ? labelled.labels : [], category: labelled ? labelled.category : '',
        tainted: members.some((m) => m.tainted), start: members.some((m) => m.start), clusterSize: first.clusterSize });
      shown.set(gid, g);
    }
    const agg = new Map();
    for (const e of this.edges.values()) {
      if (f.minValue && e.value < f.minValue) continue;
      const a = rep.get(e.from), b = rep.get(e.to);
      if (!a || !b || a === b || !shown.has(a) || !shown.has(b)) continue;
      const k = a + '|' + b + '|' + (e.asset || '');
      const o = agg.get(k);
      if (o) { o.value += e.value; o.txs += e.txs || 0; o.tainted = o.tainted || e.tainted; o.display = String(+o.value.toPrecision(10)); }
      else agg.set(k, { from: a, to: b, asset: e.asset, value: e.value, txs: e.txs || 0, tainted: !!e.tainted, display: e.display });
    }
    // A node whose every edge is filtered away goes too, unless it is
    // a starting point.
    const degree = new Map();
    for (const e of agg.values()) { degree.set(e.from, (degree.get(e.from) || 0) + 1); degree.set(e.to, (degree.get(e.to) || 0) + 1); }
    const hasEdges = new Set();
    for (const e of this.edges.values()) { hasEdges.add(rep.get(e.from)); hasEdges.add(rep.get(e.to)); }
    const nodes = [...shown.values()].filter((n) => n.start || degree.get(n.id) || !hasEdges.has(n.id));
    const ids = new Set(nodes.map((n) => n.id));
    const edges = [...agg.values()].filter((e) => ids.has(e.from) && ids.has(e.to));
    for (const n of nodes) n.degree = degree.get(n.id) || 0;
    return { nodes, edges };
  }

  // ---- rendering ----

  render() {
    const { nodes, edges } = this.visible();
    this.shown = { nodes, edges };
    this.byId = new Map(nodes.map((n) => [n.id, n]));
    if (this.focusId && !this.byId.has(this.focusId)) this.focusId = null;
    this.edgeLayer.replaceChildren();
    this.nodeLayer.replaceChildren();
    this.els.clear();
    this.edgeEls = [];
    const maxV = new Map();
    for (const e of edges) maxV.set(e.asset, Math.max(maxV.get(e.asset) || 0, e.value));
    for (const e of edges) {
      const w = 1 + 5 * Math.sqrt(e.value / (maxV.get(e.asset) || 1) || 0);
      const line = s('line', { stroke: e.tainted ? '#d62828' : '#8a94a3', 'stroke-opacity': e.tainted ? '0.8' : '0.6', 'stroke-width': w.toFixed(2),
        'marker-end': e.tainted ? 'url(#arrow-t)' : 'url(#arrow)' }, s('title', { text: `${short(this.byId.get(e.from).address)} → ${short(this.byId.get(e.to).address)}: ${e.display || e.value} ${e.asset || ''}${e.txs ? ` (${e.txs} tx)` : ''}` }));
      this.edgeLayer.appendChild(line);
      // Amounts on the edges while there are few enough to read.
      const label = edges.length <= 40 && e.display ? s('text', { 'font-size': '9', fill: e.tainted ? '#9d0208' : '#5b6776', 'text-anchor': 'middle', text: `${e.display} ${e.asset || ''}`.trim() }) : null;
      if (label) this.edgeLayer.appendChild(label);
      this.edgeEls.push({ e, line, label });
    }
    for (const n of nodes) {
      const r = this.radius(n);
      const cat = n.category || (n.labels && n.labels[0] && n.labels[0].category) || '';
      const fill = categoryColour(cat);
      const body = n.kind === 'cluster'
        ? s('rect', { class: 'body', x: -r, y: -r, width: 2 * r, height: 2 * r, rx: 4, fill, stroke: '#1b2430', 'stroke-width': '1.5' })
        : n.kind === 'tx'
          ? s('rect', { class: 'body', x: -r * 0.8, y: -r * 0.8, width: 1.6 * r, height: 1.6 * r, transform: 'rotate(45)', fill: '#ffffff', stroke: '#5b6776', 'stroke-width': '1.5' })
          : s('circle', { class: 'body', r, fill, stroke: '#ffffff', 'stroke-width': '1.5' });
      const name = n.kind === 'cluster' ? `cluster ${n.cluster} (${n.members ? n.members.length : n.clusterSize || '?'})` : (n.labels && n.labels[0] && n.labels[0].label) || short(n.address, 6);
      const g = s('g', { class: 'gnode', 'data-id': n.id },
        n.tainted ? s('circle', { r: r + 4, fill: 'none', stroke: '#d62828', 'stroke-width': '2.5', 'stroke-dasharray': n.start ? '' : '4 2' }) : null,
        body,
        n.start ? s('circle', { r: 3, fill: '#1b2430' }) : null,
        s('text', { x: r + 4, y: 4, 'font-size': '10', fill: '#1b2430', text: name }),
        s('title', { text: `${n.address}${cat ? ' · ' + cat : ''}${n.tainted ? ' · tainted' : ''}` }));
      if (n.id === this.focusId) g.classList.add('focused');
      this.nodeLayer.appendChild(g);
      this.els.set(n.id, g);
    }
    this.positions();
    if (this.opts.onChange) this.opts.onChange(this.shown);
  }

  radius(n) {
    return R + Math.min(8, Math.sqrt(n.degree || 0) * 1.5) + (n.kind === 'cluster' ? 3 : 0);
  }

  positions() {
    for (const { e, line, label } of this.edgeEls) {
      const a = this.byId.get(e.from), b = this.byId.get(e.to);
      const dx = b.x - a.x, dy = b.y - a.y, d = Math.hypot(dx, dy) || 1;
      const rb = this.radius(b) + 3, ra = this.radius(a);
      line.setAttribute('x1', (a.x + (dx * ra) / d).toFixed(1));
      line.setAttribute('y1', (a.y + (dy * ra) / d).toFixed(1));
      line.setAttribute('x2', (b.x - (dx * rb) / d).toFixed(1));
      line.setAttribute('y2', (b.y - (dy * rb) / d).toFixed(1));
      if (label) {
        label.setAttribute('x', ((a.x + b.x) / 2).toFixed(1));
        label.setAttribute('y', ((a.y + b.y) / 2 - 3).toFixed(1));
      }
    }
    for (const [id, g] of this.els) {
      const n = this.byId.get(id);
      g.setAttribute('transform', `translate(${n.x.toFixed(1)},${n.y.toFixed(1)})`);
    }
    this.port.setAttribute('transform', `translate(${this.view.x.toFixed(1)},${this.view.y.toFixed(1)}) scale(${this.view.k.toFixed(4)})`);
  }

  // ---- simulation ----

  kick(alpha) {
    this.alpha = Math.max(this.alpha, alpha || 0.8);
    if (!this.raf) this.raf = requestAnimationFrame(() => this.tick());
  }

  tick() {
    this.raf = 0;
    if (!this.shown) return;
    const ns = this.shown.nodes, es = this.shown.edges;
    const a = this.alpha;
    for (let i = 0; i < ns.length; i++) {
      const p = ns[i];
      for (let j = i + 1; j < ns.length; j++) {
        const q = ns[j];
        let dx = q.x - p.x, dy = q.y - p.y;
        let d2 = dx * dx + dy * dy;
        if (d2 < 1) { dx = Math.random() - 0.5; dy = Math.random() - 0.5; d2 = 1; }
        if (d2 > 250000) continue;
        const f = (900 * a) / d2;
        const fx = dx * f, fy = dy * f;
        p.vx -= fx; p.vy -= fy; q.vx += fx; q.vy += fy;
      }
      p.vx -= p.x * 0.01 * a; p.vy -= p.y * 0.01 * a;
    }
    for (const e of es) {
      const p = this.byId.get(e.from), q = this.byId.get(e.to);
      const dx = q.x - p.x, dy = q.y - p.y, d = Math.hypot(dx, dy) || 1;
      const f = ((d - 90) / d) * 0.08 * a;
      p.vx += dx * f; p.vy += dy * f; q.vx -= dx * f; q.vy -= dy * f;
    }
    for (const n of ns) {
      if (n.fixed) { n.vx = n.vy = 0; continue; }
      n.vx *= 0.6; n.vy *= 0.6;
      n.x += Math.max(-40, Math.min(40, n.vx)); n.y += Math.max(-40, Math.min(40, n.vy));
    }
    this.positions();
    this.alpha *= 0.97;
    if (this.alpha > 0.02) this.raf = requestAnimationFrame(() => this.tick());
    else if (this.pendingFit) { this.pendingFit = false; this.fit(); }
  }

  stop() {
    if (this.raf) cancelAnimationFrame(this.raf);
    this.raf = 0;
  }

  // ---- view ----

  fit() {
    const ns = this.shown ? this.shown.nodes : [];
    const box = this.svg.getBoundingClientRect();
    if (!ns.length || !box.width) return;
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const n of ns) { x0 = Math.min(x0, n.x); y0 = Math.min(y0, n.y); x1 = Math.max(x1, n.x); y1 = Math.max(y1, n.y); }
    const pad = 60;
    const k = Math.min(2, Math.max(0.1, Math.min(box.width / (x1 - x0 + 2 * pad), box.height / (y1 - y0 + 2 * pad))));
    this.view = { k, x: box.width / 2 - ((x0 + x1) / 2) * k, y: box.height / 2 - ((y0 + y1) / 2) * k };
    this.positions();
  }

  zoom(factor, cx, cy) {
    const box = this.svg.getBoundingClientRect();
    if (cx === undefined) { cx = box.width / 2; cy = box.height / 2; }
    const k = Math.min(6, Math.max(0.05, this.view.k * factor));
    const f = k / this.view.k;
    this.view = { k, x: cx - (cx - this.view.x) * f, y: cy - (cy - this.view.y) * f };
    this.positions();
  }

  toGraph(evt) {
    const box = this.svg.getBoundingClientRect();
    return { x: (evt.clientX - box.left - this.view.x) / this.view.k, y: (evt.clientY - box.top - this.view.y) / this.view.k };
  }

  bindPointer() {
    let drag = null;
    this.svg.addEventListener('pointerdown', (e) => {
      const g = e.target.closest && e.target.closest('.gnode');
      this.svg.focus({ preventScroll: true });
      if (g) {
        const n = this.byId.get(g.dataset.id);
        if (!n) return;
        drag = { node: n, moved: false, sx: e.clientX, sy: e.clientY };
        n.fixed = true;
      } else {
        drag = { pan: true, sx: e.clientX, sy: e.clientY, vx: this.view.x, vy: this.view.y };
      }
      this.svg.setPointerCapture(e.pointerId);
    });
    this.svg.addEventListener('pointermove', (e) => {
      if (!drag) return;
      if (Math.abs(e.clientX - drag.sx) + Math.abs(e.clientY - drag.sy) > 3) drag.moved = true;
      if (drag.pan) {
        this.view.x = drag.vx + e.clientX - drag.sx;
        this.view.y = drag.vy + e.clientY - drag.sy;
        this.positions();
      } else if (drag.moved) {
        const p = this.toGraph(e);
        drag.node.x = p.x; drag.node.y = p.y;
        if (drag.node.members) for (const m of drag.node.members) { m.x = p.x; m.y = p.y; }
        this.positions();
        this.kick(0.2);
      }
    });
    const end = (e) => {
      if (!drag) return;
      if (drag.node) {
        if (!drag.moved) { drag.node.fixed = false; this.setFocus(drag.node.id); }
      }
      drag = null;
      try { this.svg.releasePointerCapture(e.pointerId); } catch { /* released already */ }
    };
    this.svg.addEventListener('pointerup', end);
    this.svg.addEventListener('pointercancel', end);
    this.svg.addEventListener('dblclick', (e) => {
      const g = e.target.closest && e.target.closest('.gnode');
      if (g && this.opts.onExpand) {
        const n = this.byId.get(g.dataset.id);
        if (n) { n.fixed = false; this.opts.onExpand(n, e.shiftKey ? 'in' : 'out'); }
      }
    });
    this.svg.addEventListener('wheel', (e) => {
      e.preventDefault();
      const box = this.svg.getBoundingClientRect();
      this.zoom(Math.exp(-e.deltaY * 0.0015), e.clientX - box.left, e.clientY - box.top);
    }, { passive: false });
  }

  // ---- keyboard ----

  setFocus(id) {
    this.focusId = id;
    for (const [nid, g] of this.els) g.classList.toggle('focused', nid === id);
    const n = id && this.byId.get(id);
    if (n) {
      // Keep the focused node in view.
      const box = this.svg.getBoundingClientRect();
      const sx = n.x * this.view.k + this.view.x, sy = n.y * this.view.k + this.view.y;
      if (box.width && (sx < 20 || sy < 20 || sx > box.width - 20 || sy > box.height - 20)) {
        this.view.x += box.width / 2 - sx; this.view.y += box.height / 2 - sy;
        this.positions();
      }
    }
    if (this.opts.onSelect) this.opts.onSelect(n || null);
  }

  focused() { return this.focusId && this.byId ? this.byId.get(this.focusId) : null; }

  order() {
    return (this.shown ? this.shown.nodes : []).slice().sort((a, b) => (a.y - b.y) || (a.x - b.x));
  }

  bindKeys() {
    this.svg.addEventListener('keydown', (e) => {
      const list = this.order();
      if (!list.length) return;
      const cur = this.focused();
      const idx = cur ? list.indexOf(cur) : -1;
      const k = e.key;
      if (k === 'Tab') {
        const next = idx + (e.shiftKey ? -1 : 1);
        if (next < 0 || next >= list.length) { if (cur) return; }
        e.preventDefault();
        this.setFocus(list[(next + list.length) % list.length].id);
      } else if (k.startsWith('Arrow')) {
        e.preventDefault();
        if (!cur) { this.setFocus(list[0].id); return; }
        const dir = { ArrowRight: [1, 0], ArrowLeft: [-1, 0], ArrowDown: [0, 1], ArrowUp: [0, -1] }[k];
        let best = null, bestScore = Infinity;
        for (const n of list) {
          if (n === cur) continue;
          const dx = n.x - cur.x, dy = n.y - cur.y;
          const along = dx * dir[0] + dy * dir[1];
          if (along <= 0) continue;
          const across = Math.abs(dx * dir[1] - dy * dir[0]);
          const score = along + 2 * across;
          if (score < bestScore) { bestScore = score; best = n; }
        }
        if (best) this.setFocus(best.id);
      } else if (k === 'Enter' && cur && this.opts.onExpand) {
        e.preventDefault();
        this.opts.onExpand(cur, e.shiftKey ? 'in' : 'out');
      } else if ((k === 'c' || k === 'C') && cur) {
        this.toggleCollapse(cur);
      } else if ((k === 'Delete' || k === 'Backspace') && cur) {
        e.preventDefault();
        this.removeShown(cur);
      } else if (k === '+' || k === '=') {
        this.zoom(1.25);
      } else if (k === '-' || k === '_') {
        this.zoom(0.8);
      } else if (k === '0') {
        this.fit();
      } else if (k === 'Escape') {
        this.setFocus(null);
      }
    });
  }

  // toggleCollapse collapses the node's cluster into one node, or
  // expands a collapsed cluster back into its addresses.
  toggleCollapse(n) {
    if (n.kind === 'cluster' && n.members) {
      this.collapsed.delete(n.chain + ':' + n.cluster);
      this.render();
      this.setFocus(n.members[0].id);
      this.kick(0.5);
      this.pendingFit = true;
      return true;
    }
    const ck = this.clusterKey(n);
    if (!ck) return false;
    this.collapsed.add(ck);
    this.render();
    this.setFocus('cluster:' + ck);
    this.kick(0.5);
    this.pendingFit = true;
    return true;
  }

  removeShown(n) {
    if (n.members) for (const m of n.members) this.removeNode(m.id); else this.removeNode(n.id);
    this.render();
    this.kick(0.3);
    this.setFocus(null);
  }

  // ---- export ----

  toSVGString() {
    const box = this.svg.getBoundingClientRect();
    const clone = this.svg.cloneNode(true);
    clone.setAttribute('width', String(Math.round(box.width) || 1000));
    clone.setAttribute('height', String(Math.round(box.height) || 700));
    clone.removeAttribute('tabindex');
    clone.removeAttribute('role');
    for (const g of clone.querySelectorAll('.gnode.focused .body')) { g.setAttribute('stroke', '#f5a524'); g.setAttribute('stroke-width', '4'); }
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + new XMLSerializer().serializeToString(clone);
  }

  toPNG(scale) {
    scale = scale || 2;
    const str = this.toSVGString();
    const box = this.svg.getBoundingClientRect();
    const w = Math.round(box.width) || 1000, hgt = Math.round(box.height) || 700;
    return new Promise((resolve, reject) => {
      const url = URL.createObjectURL(new Blob([str], { type: 'image/svg+xml' }));
      const img = new Image();
      img.onload = () => {
        const c = document.createElement('canvas');
        c.width = w * scale; c.height = hgt * scale;
        const cx = c.getContext('2d');
        cx.fillStyle = '#fff';
        cx.fillRect(0, 0, c.width, c.height);
        cx.drawImage(img, 0, 0, c.width, c.height);
        URL.revokeObjectURL(url);
        c.toBlob((b) => (b ? resolve(b) : reject(new Error('the browser made no PNG'))), 'image/png');
      };
      img.onerror = () => { URL.revokeObjectURL(url); reject(new Error('the graph could not be drawn as an image')); };
      img.src = url;
    });
  }

  toJSON() {
    const strip = (n) => {
      const o = {};
      for (const k of ['id', 'kind', 'chain', 'address', 'labels', 'category', 'tainted', 'start', 'cluster', 'clusterSize', 'firstSeen', 'lastSeen', 'expanded', 'balance']) if (n[k] !== undefined) o[k] = n[k];
      o.x = Math.round(n.x); o.y = Math.round(n.y);
      return o;
    };
    return {
      format: 'chaintrace-graph', version: 1,
      nodes: [...this.nodes.values()].map(strip),
      edges: [...this.edges.values()].map((e) => ({ from: e.from, to: e.to, asset: e.asset, raw: e.raw, value: e.value, display: e.display, txs: e.txs, tainted: !!e.tainted })),
      collapsed: [...this.collapsed], filters: Object.assign({}, this.filters), view: Object.assign({}, this.view),
    };
  }

  load(state) {
    if (!state || !Array.isArray(state.nodes)) throw new Error('not a chaintrace graph: no nodes');
    this.clearAll();
    for (const n of state.nodes) if (n && n.id) this.addNode(n);
    for (const e of state.edges || []) if (e && this.nodes.has(e.from) && this.nodes.has(e.to)) this.addEdge(e);
    for (const c of state.collapsed || []) this.collapsed.add(c);
    if (state.filters) Object.assign(this.filters, state.filters);
    if (state.view && typeof state.view.k === 'number') this.view = Object.assign({}, state.view);
  }
}
