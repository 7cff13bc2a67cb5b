// The incident dashboard: statistics charts by year (stacked by victim
// type), by actor and by victim type, and the incident table, all over
// the registry records and filtered on the page.

import { h, clear, loading, empty, errorBox, table, usd, link, incidentHref, actorHref, enc, palette } from '../dom.js';
import { api, isAbort } from '../api.js';
import { stackedBars, hbars } from '../charts.js';

// allIncidents reads every page of /incidents.
export async function allIncidents(signal) {
  const items = [];
  let cursor = '';
  for (let i = 0; i < 50; i++) {
    const r = await api('/incidents?limit=500' + (cursor ? '&cursor=' + enc(cursor) : ''), { signal });
    for (const it of (r && r.items) || []) items.push(it);
    cursor = r && r.next_cursor;
    if (!cursor) break;
  }
  return items;
}

const year = (it) => String(it.date || '').slice(0, 4) || 'unknown';
const actorOf = (it) => (it.attribution && it.attribution.actor) || 'unattributed';
const vtype = (it) => (it.victim && it.victim.type) || 'unknown';
const pretty = (s) => String(s || '').replace(/_/g, ' ');

export async function incidentsPage(view, ctx) {
  const q = ctx.query;
  const f = { year: q.get('year') || '', actor: q.get('actor') || '', victim_type: q.get('victim_type') || '', q: q.get('q') || '', measure: q.get('measure') || 'usd' };
  view.appendChild(h('h1', null, 'Incidents'));
  const body = h('div', null, loading('Loading the incident registry…'));
  view.appendChild(body);
  let items;
  try {
    items = await allIncidents(ctx.signal);
  } catch (e) {
    if (isAbort(e)) throw e;
    clear(body).appendChild(errorBox(e, 'The incident registry'));
    return;
  }
  clear(body);
  if (!items.length) {
    body.appendChild(empty('The registry holds no incidents.'));
    return;
  }
  const setF = (patch) => {
    const n = Object.assign({}, f, patch);
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(n)) if (v && !(k === 'measure' && v === 'usd')) p.set(k, v);
    location.hash = '#/incidents' + (p.toString() ? '?' + p : '');
  };
  const opts = (vals, cur) => [h('option', { value: '' }, 'all')].concat([...new Set(vals)].sort().map((v) => h('option', { value: v, selected: v === cur }, pretty(v))));
  const sel = (name, vals) => h('select', { name, on: { change: (e) => setF({ [name]: e.target.value }) } }, opts(vals, f[name]));
  const qIn = h('input', { type: 'search', name: 'q', value: f.q, placeholder: 'victim, id, notes' });
  const filters = h('form', { class: 'filters panel', on: { submit: (e) => { e.preventDefault(); setF({ q: qIn.value.trim() }); } } },
    h('label', null, 'Year', sel('year', items.map(year))),
    h('label', null, 'Actor', sel('actor', items.map(actorOf))),
    h('label', null, 'Victim type', sel('victim_type', items.map(vtype))),
    h('label', null, 'Text', qIn),
    h('label', null, 'Charts show', h('select', { name: 'measure', on: { change: (e) => setF({ measure: e.target.value }) } },
      h('option', { value: 'usd', selected: f.measure === 'usd' }, 'USD stolen'), h('option', { value: 'count', selected: f.measure === 'count' }, 'number of incidents'))),
    h('button', { type: 'submit' }, 'Apply'),
    (f.year || f.actor || f.victim_type || f.q) ? h('a', { href: '#/incidents', class: 'button secondary' }, 'Clear filters') : null);
  body.appendChild(filters);

  const needle = f.q.toLowerCase();
  const rows = items.filter((it) => (!f.year || year(it) === f.year) && (!f.actor || actorOf(it) === f.actor) && (!f.victim_type || vtype(it) === f.victim_type) &&
    (!needle || JSON.stringify([it.id, it.victim, it.notes, it.vector, it.chains]).toLowerCase().includes(needle)));
  const val = f.measure === 'count' ? () => 1 : (it) => (typeof it.usd === 'number' ? it.usd : 0);
  const fmt = f.measure === 'count' ? (v) => String(Math.round(v)) : usd;
  const totalUSD = rows.reduce((a, it) => a + (typeof it.usd === 'number' ? it.usd : 0), 0);
  body.appendChild(h('p', { class: 'muted', id: 'incident-summary' }, `${rows.length} incidents, ${usd(totalUSD)} stolen` + (rows.length !== items.length ? ` (of ${items.length})` : '')));

  // By year, stacked by victim type.
  const years = [...new Set(rows.map(year))].sort();
  const types = [...new Set(rows.map(vtype))].sort();
  const series = types.map((t, j) => ({ name: pretty(t), colour: palette[j % palette.length], values: years.map((y) => rows.filter((it) => year(it) === y && vtype(it) === t).reduce((a, it) => a + val(it), 0)) }));
  const agg = (key) => {
    const m = new Map();
    for (const it of rows) m.set(key(it), (m.get(key(it)) || 0) + val(it));
    return [...m].map(([k, v]) => ({ key: k, label: pretty(k), value: v }));
  };
  const charts = h('div', { class: 'grid2' },
    h('section', { class: 'panel', 'aria-labelledby': 'ch-year' }, h('h2', { id: 'ch-year' }, 'By year and victim type'),
      stackedBars({ cats: years, series, fmt, title: 'incidents by year and victim type', onClick: (y) => setF({ year: f.year === y ? '' : y }) })),
    h('section', { class: 'panel', 'aria-labelledby': 'ch-actor' }, h('h2', { id: 'ch-actor' }, 'By actor'),
      hbars({ rows: agg(actorOf), fmt, title: 'incidents by actor', onClick: (a) => setF({ actor: f.actor === a ? '' : a }) })),
    h('section', { class: 'panel', 'aria-labelledby': 'ch-type' }, h('h2', { id: 'ch-type' }, 'By victim type'),
      hbars({ rows: agg(vtype), fmt, colour: palette[2], title: 'incidents by victim type', onClick: (t) => setF({ victim_type: f.victim_type === t ? '' : t }) })),
    h('section', { class: 'panel', 'aria-labelledby': 'ch-vector' }, h('h2', { id: 'ch-vector' }, 'By attack vector'),
      hbars({ rows: agg((it) => it.vector || 'unknown'), fmt, colour: palette[1], title: 'incidents by vector' })));
  body.appendChild(charts);

  body.appendChild(h('h2', null, 'Incidents'));
  if (!rows.length) {
    body.appendChild(empty('No incident matches these filters.'));
    return;
  }
  body.appendChild(table([
    { key: 'date', label: 'Date' },
    { key: 'victim', label: 'Victim', render: (it) => link(incidentHref(it.id), (it.victim && it.victim.name) || it.id), sort: (it) => ((it.victim && it.victim.name) || '').toLowerCase() },
    { key: 'type', label: 'Victim type', render: (it) => pretty(vtype(it)), sort: vtype },
    { key: 'actor', label: 'Actor', render: (it) => actorOf(it) === 'unattributed' ? h('span', { class: 'muted' }, 'unattributed') : link(actorHref(actorOf(it)), actorOf(it)), sort: actorOf },
    { key: 'vector', label: 'Vector', render: (it) => pretty(it.vector) },
    { key: 'chains', label: 'Chains', render: (it) => (it.chains || []).join(', '), sort: (it) => (it.chains || []).join(',') },
    { key: 'usd', label: 'USD', num: true, render: (it) => usd(it.usd), sort: (it) => (typeof it.usd === 'number' ? it.usd : -1) },
  ], rows.slice().sort((a, b) => String(b.date).localeCompare(String(a.date))), { onRow: (it) => { location.hash = incidentHref(it.id); }, class: 'incidents' }));
}
