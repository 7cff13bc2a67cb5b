// The search page: one box for addresses, transactions, clusters,
// labels, actors and incidents. It asks /api/v1/search; a server without
// that route gets a look-up by the query's shape over the chain stores
// and the incident registry instead.

import { h, clear, loading, empty, errorBox, notice, link, addrHref, txHref, clusterHref, incidentHref, actorHref, dl, enc } from '../dom.js';
import { api, chains, missing, isAbort, ApiError } from '../api.js';

const kindHref = {
  address: (r) => addrHref(r.chain, r.id),
  tx: (r) => txHref(r.chain, r.id),
  transaction: (r) => txHref(r.chain, r.id),
  cluster: (r) => clusterHref(r.chain, r.id),
  label: (r) => addrHref(r.chain, r.id),
  actor: (r) => actorHref(r.id),
  incident: (r) => incidentHref(r.id),
  block: (r) => '#/search?q=' + enc(r.id),
};

function resultList(results) {
  if (!results.length) return empty('Nothing found.');
  return h('ul', { class: 'searchresults' }, results.map((r) => {
    const href = (kindHref[r.kind] || (() => '#/search?q=' + enc(r.id)))(r);
    return h('li', null, h('span', { class: 'badge kind' }, r.kind), ' ',
      link(href, r.title || r.id), r.chain ? h('span', { class: 'muted' }, ' · ' + r.chain) : null,
      r.subtitle ? h('div', { class: 'muted' }, r.subtitle) : null);
  }));
}

// fallbackSearch looks the query up by its shape when /search is absent.
async function fallbackSearch(q, signal) {
  const out = [];
  let cs = [];
  try { cs = await chains(signal); } catch (e) { if (isAbort(e)) throw e; }
  const tries = [];
  const hex64 = /^(0x)?[0-9a-fA-F]{64}$/.test(q);
  for (const c of cs) {
    if (hex64) {
      tries.push(api('/chains/' + enc(c.chain) + '/txs/' + enc(q), { signal }).then(() => out.push({ kind: 'tx', chain: c.chain, id: q, title: q, subtitle: 'transaction' })).catch(() => {}));
    } else if (!/\s/.test(q) && q.length >= 20) {
      tries.push(api('/chains/' + enc(c.chain) + '/addresses/' + enc(q), { signal }).then((a) => out.push({ kind: 'address', chain: c.chain, id: a.address || q, title: a.address || q,
        subtitle: (a.labels || []).map((l) => l.label).join(', ') || (a.tx_count + ' transactions') })).catch(() => {}));
    }
  }
  tries.push(api('/incidents?q=' + enc(q) + '&limit=20', { signal }).then((r) => {
    for (const it of (r && r.items) || []) out.push({ kind: 'incident', id: it.id, title: it.victim ? it.victim.name + ' (' + it.date + ')' : it.id, subtitle: it.id });
  }).catch(() => {}));
  if (/^[a-z0-9_.-]+$/i.test(q) && q.length < 40) {
    tries.push(api('/actors/' + enc(q.toLowerCase()), { signal }).then((a) => out.push({ kind: 'actor', id: a.id || q, title: a.name || q, subtitle: 'actor' })).catch(() => {}));
  }
  await Promise.all(tries);
  return out;
}

export async function searchPage(view, ctx) {
  const q = (ctx.query.get('q') || '').trim();
  const input = h('input', { type: 'search', name: 'q', value: q, placeholder: 'Address, transaction hash, cluster, label, actor or incident', 'aria-label': 'Search query' });
  input.style.flex = '1';
  const form = h('form', { class: 'row', role: 'search', on: { submit: (e) => { e.preventDefault(); location.hash = '#/search?q=' + enc(input.value.trim()); } } },
    input, h('button', { type: 'submit' }, 'Search'));
  view.appendChild(h('h1', null, 'Search'));
  view.appendChild(h('div', { class: 'panel' }, form));
  const out = h('div', { class: 'panel' });
  view.appendChild(out);
  if (!q) {
    out.appendChild(h('p', null, 'Start from the ', link('#/incidents', 'incident dashboard'), ', ', link('#/screen', 'screen addresses'), ', or ',
      link('#/graph', 'open the investigation graph'), '.'));
    const list = h('div', null, loading('Loading chain stores…'));
    out.appendChild(h('h2', null, 'Chain stores'));
    out.appendChild(list);
    try {
      const cs = await chains(ctx.signal);
      clear(list);
      if (!cs.length) list.appendChild(empty('This server holds no chain store; screening and labels still work.'));
      else list.appendChild(h('ul', null, cs.map((c) => h('li', null, h('strong', null, c.chain), ` ${c.kind}, ${c.network}, tip ${c.tip ? c.tip.height : '—'}`))));
    } catch (e) {
      if (isAbort(e)) throw e;
      clear(list).appendChild(errorBox(e, 'Chain stores'));
    }
    input.focus();
    return;
  }
  out.appendChild(loading('Searching…'));
  let results;
  try {
    const r = await api('/search?q=' + enc(q), { signal: ctx.signal });
    results = (r && r.results) || [];
  } catch (e) {
    if (!missing(e)) {
      if (isAbort(e)) throw e;
      clear(out).appendChild(errorBox(e, 'Search'));
      return;
    }
    results = await fallbackSearch(q, ctx.signal);
    clear(out).appendChild(notice('This server has no search route; these are look-ups by the query’s shape.'));
    out.appendChild(resultList(results));
    return;
  }
  clear(out).appendChild(resultList(results));
}

export async function actorPage(view, ctx) {
  const id = ctx.parts[0] || '';
  view.appendChild(h('h1', null, 'Actor ' + id));
  const box = h('div', { class: 'panel' }, loading());
  view.appendChild(box);
  let a;
  try {
    a = await api('/actors/' + enc(id), { signal: ctx.signal });
  } catch (e) {
    if (isAbort(e)) throw e;
    clear(box).appendChild(errorBox(e instanceof ApiError && e.status === 404 ? Object.assign(e, { title: 'No actor ' + id }) : e));
    return;
  }
  clear(box);
  const actor = a.actor || a;
  box.appendChild(dl([
    ['Name', actor.name], ['Id', actor.id], ['Aliases', (actor.aliases || []).join(', ')],
    ['Part of', actor.parent ? link(actorHref(actor.parent), actor.parent) : null],
    ['Root', a.root && a.root.id && a.root.id !== actor.id ? link(actorHref(a.root.id), a.root.name || a.root.id) : null],
    ['Country', actor.country], ['Description', actor.description],
  ]));
  const refs = actor.references || actor.sources || [];
  if (refs.length) {
    box.appendChild(h('h2', null, 'References'));
    box.appendChild(h('ul', null, refs.map((r) => h('li', null, typeof r === 'string' ? h('a', { href: r, rel: 'noopener noreferrer', target: '_blank' }, r)
      : h('a', { href: r.url, rel: 'noopener noreferrer', target: '_blank' }, r.title || r.url)))));
  }
  box.appendChild(h('p', null, link('#/incidents?actor=' + enc(actor.id || id), 'Incidents attributed to this actor')));
}
