// Address, transaction and cluster pages: labels with provenance,
// balances, exposure, activity and counterparties.

import { h, clear, loading, empty, errorBox, notice, table, dl, amount, short, time, link, addrHref, txHref, clusterHref, graphHref, enc, actorHref } from '../dom.js';
import { api, isAbort, missing } from '../api.js';

// section appends a titled panel whose body a loader fills, showing
// loading, errors and empty states by itself.
function section(view, title, loader) {
  const body = h('div', null, loading());
  view.appendChild(h('section', { class: 'panel' }, h('h2', null, title), body));
  return loader().then((el) => { clear(body).appendChild(el); }).catch((e) => {
    if (isAbort(e)) return;
    clear(body).appendChild(errorBox(e));
  });
}

export function labelTable(labels) {
  if (!labels || !labels.length) return empty('No labels.');
  return table([
    { key: 'label', label: 'Label', render: (l) => [l.label, l.retired ? h('span', { class: 'badge' }, ' retired') : null] },
    { key: 'category', label: 'Category' },
    { key: 'actor', label: 'Actor', render: (l) => (l.actor ? link(actorHref(l.actor), l.actor) : '') },
    { key: 'confidence', label: 'Confidence', render: (l) => `${l.confidence || ''}${l.confidence_level !== undefined ? ' (' + l.confidence_level + ')' : ''}`, sort: (l) => l.confidence_level },
    { key: 'source', label: 'Source', render: (l) => (/^https?:\/\//.test(l.source || '') ? h('a', { href: l.source, rel: 'noopener noreferrer', target: '_blank' }, short(l.source.replace(/^https?:\/\//, ''), 18)) : l.source) },
    { key: 'dataset', label: 'Dataset' },
    { key: 'lastmod', label: 'Updated', render: (l) => time(l.lastmod || l.last_imported) },
  ], labels);
}

function riskBadge(r) {
  if (!r) return '';
  return h('span', { class: 'badge risk-' + r.level, title: r.reason || '' }, r.level);
}

export async function addressPage(view, ctx) {
  const [chain, address] = ctx.parts;
  if (!chain || !address) { view.appendChild(errorBox({ title: 'An address page needs a chain and an address', detail: 'as in #/address/btc/1A1z…' })); return; }
  view.appendChild(h('h1', null, h('span', { class: 'muted' }, chain + ' '), address));
  view.appendChild(h('div', { class: 'toolbar' }, link(graphHref('address', chain, address), 'Open in graph', { class: 'button' }),
    link('#/screen?chain=' + enc(chain) + '&a=' + enc(address), 'Screen', { class: 'button secondary' })));
  const sig = { signal: ctx.signal };
  const base = '/chains/' + enc(chain) + '/addresses/' + enc(address);
  const jobs = [];
  jobs.push(section(view, 'Summary', async () => {
    let a;
    try { a = await api(base, sig); } catch (e) {
      if (e.status === 404 && !missing(e)) return notice('This chain store has no record of the address (', e.detail || 'not found', '). Labels and screening below still apply.');
      throw e;
    }
    const el = h('div', null, dl([
      ['Transactions', String(a.tx_count)],
      ['First seen', a.first_seen ? [time(a.first_seen.time), ' (block ', String(a.first_seen.height), ')'] : null],
      ['Last seen', a.last_seen ? [time(a.last_seen.time), ' (block ', String(a.last_seen.height), ')'] : null],
      ['Cluster', a.cluster ? link(clusterHref(chain, a.cluster.id), `${a.cluster.id} (${a.cluster.size} addresses)`) : null],
    ]));
    if ((a.balances || []).length) {
      el.appendChild(h('h2', null, 'Balances'));
      el.appendChild(table([
        { key: 'asset', label: 'Asset', render: (b) => b.asset.symbol || short(b.asset.token || '') },
        { key: 'received', label: 'Received', num: true, render: (b) => amount(b.received, b.asset.decimals), sort: (b) => Number(b.received) },
        { key: 'sent', label: 'Sent', num: true, render: (b) => amount(b.sent, b.asset.decimals), sort: (b) => Number(b.sent) },
        { key: 'balance', label: 'Balance', num: true, render: (b) => amount(b.balance, b.asset.decimals), sort: (b) => Number(b.balance) },
      ], a.balances));
    }
    return el;
  }));
  jobs.push(section(view, 'Labels (with provenance)', async () => {
    const r = await api('/labels/' + enc(chain) + '/' + enc(address), sig);
    return labelTable(r.labels);
  }));
  const btc = /^btc/.test(chain);
  jobs.push(section(view, 'Screening and exposure', async () => {
    const r = await api('/screen/' + enc(chain) + '/' + enc(address), sig);
    const el = h('div', null, h('p', null, 'Risk ', riskBadge(r.risk), r.risk && r.risk.rule ? ` — rule ${r.risk.rule}: ${r.risk.reason}` : r.risk ? ' — ' + r.risk.reason : ''));
    const ids = r.identifications || [];
    if (ids.length) el.appendChild(h('p', null, 'Identified as ', ids.map((i) => h('span', { class: 'tag' }, i.name + (i.category ? ' (' + i.category + ')' : '')))));
    const ex = r.exposure;
    if (ex) {
      el.appendChild(h('p', { class: 'muted' }, `Over ${ex.txs} transactions, ${ex.hops} hops back` + (btc ? `: received ${amount(ex.received, 8, 'BTC')}, sent ${amount(ex.sent, 8, 'BTC')}.` : '.')));
      const ind = ex.indirect || [];
      if (ind.length) {
        el.appendChild(table([
          { key: 'category', label: 'Source category' },
          { key: 'value', label: 'Value', num: true, render: (x) => (btc ? amount(x.value, 8, 'BTC') : String(x.value)) },
          { key: 'share', label: 'Share of received', num: true, render: (x) => (x.share * 100).toFixed(2) + '%' },
        ], ind));
      } else el.appendChild(empty('No exposure to labelled sources.'));
      const cps = (ex.direct && ex.direct.counterparties) || [];
      if (cps.length) {
        el.appendChild(h('h2', null, 'Labelled direct counterparties'));
        el.appendChild(table([
          { key: 'address', label: 'Address', render: (c) => link(addrHref(chain, c.address), short(c.address, 10)) },
          { key: 'name', label: 'Name' }, { key: 'categories', label: 'Categories', render: (c) => (c.categories || []).join(', ') },
          { key: 'received', label: 'Received from', num: true, render: (c) => (btc ? amount(c.received, 8) : String(c.received)) },
          { key: 'sent', label: 'Sent to', num: true, render: (c) => (btc ? amount(c.sent, 8) : String(c.sent)) }, { key: 'txs', label: 'Txs', num: true },
        ], cps));
      }
    }
    for (const n of r.notes || []) el.appendChild(h('p', { class: 'muted' }, n));
    return el;
  }));
  jobs.push(section(view, 'Activity', async () => {
    const box = h('div');
    let cursor = '';
    const rows = [];
    const more = h('button', { type: 'button', class: 'secondary' }, 'More');
    const holder = h('div');
    const load = async () => {
      more.disabled = true;
      const r = await api(base + '/txs?limit=25' + (cursor ? '&cursor=' + enc(cursor) : ''), sig);
      rows.push(...(r.txs || []));
      cursor = r.next_cursor || '';
      holder.replaceChildren(rows.length ? table([
        { key: 'hash', label: 'Transaction', render: (t) => link(txHref(chain, t.hash), short(t.hash, 10)) },
        { key: 'height', label: 'Block', num: true }, { key: 'time', label: 'Time', render: (t) => time(t.time) },
        { key: 'flows', label: 'Received / sent', nosort: true, render: (t) => (t.flows || []).map((f) => h('div', null, [f.received !== '0' ? '+' + amount(f.received, f.asset.decimals) : '', f.sent !== '0' ? '−' + amount(f.sent, f.asset.decimals) : ''].filter(Boolean).join(' / ') + ' ' + (f.asset.symbol || ''))) },
      ], rows) : empty('No transactions.'));
      more.disabled = false;
      more.hidden = !cursor;
    };
    more.addEventListener('click', () => load().catch((e) => { if (!isAbort(e)) holder.appendChild(errorBox(e)); }));
    await load();
    box.append(holder, more);
    return box;
  }));
  for (const dir of ['in', 'out']) {
    jobs.push(section(view, dir === 'in' ? 'Senders (incoming)' : 'Receivers (outgoing)', async () => {
      const r = await api(base + '/neighbors?direction=' + dir + '&limit=50', sig);
      const ns = r.neighbors || [];
      if (!ns.length) return empty('None.');
      return h('div', null, r.total > ns.length ? h('p', { class: 'muted' }, `${ns.length} of ${r.total}`) : null, table([
        { key: 'address', label: 'Address', render: (n) => link(addrHref(chain, n.address), short(n.address, 12)) },
        { key: 'labels', label: 'Labels', render: (n) => (n.labels || []).map((l) => l.label).join(', ') },
        { key: 'tx_count', label: 'Txs', num: true },
        { key: 'values', label: 'Value', nosort: true, render: (n) => (n.values || []).map((v) => h('div', null, amount(v.value, v.asset.decimals, v.asset.symbol))) },
      ], ns));
    }));
  }
  await Promise.all(jobs);
}

export async function txPage(view, ctx) {
  const [chain, hash] = ctx.parts;
  view.appendChild(h('h1', null, h('span', { class: 'muted' }, chain + ' tx '), hash || ''));
  const body = h('div', null, loading());
  view.appendChild(body);
  let t;
  try { t = await api('/chains/' + enc(chain) + '/txs/' + enc(hash), { signal: ctx.signal }); } catch (e) {
    if (isAbort(e)) throw e;
    clear(body).appendChild(errorBox(e, 'Transaction'));
    return;
  }
  clear(body);
  body.appendChild(h('div', { class: 'toolbar' }, link(graphHref('tx', chain, t.hash), 'Open in graph', { class: 'button' })));
  body.appendChild(h('div', { class: 'panel' }, dl([
    ['Block', t.block ? [String(t.block.height), ' · ', time(t.block.time)] : 'unconfirmed'], ['Confirmations', t.confirmations !== undefined ? String(t.confirmations) : null],
    ['Fee', t.fee !== undefined ? amount(t.fee, t.kind === 'utxo' ? 8 : 0) : null], ['Size', t.vsize ? `${t.size} bytes, ${t.vsize} vbytes` : null],
    ['From', t.from ? link(addrHref(chain, t.from), t.from) : null], ['To', t.to ? link(addrHref(chain, t.to), t.to) : null], ['Status', t.status],
  ])));
  const labs = (ls) => (ls || []).map((l) => h('span', { class: 'tag' }, l.label));
  if (t.kind === 'utxo') {
    body.appendChild(h('div', { class: 'grid2' },
      h('section', { class: 'panel' }, h('h2', null, 'Inputs'), (t.inputs || []).length ? table([
        { key: 'address', label: 'Address', render: (i) => (i.address ? [link(addrHref(chain, i.address), short(i.address, 10)), ' ', labs(i.labels)] : i.coinbase ? 'coinbase' : '—') },
        { key: 'value', label: 'BTC', num: true, render: (i) => amount(i.value, 8) },
        { key: 'prev_tx', label: 'Spends', render: (i) => (i.prev_tx ? link(txHref(chain, i.prev_tx), short(i.prev_tx, 6) + ':' + i.prev_out) : '') },
      ], t.inputs) : empty('No inputs (coinbase).')),
      h('section', { class: 'panel' }, h('h2', null, 'Outputs'), table([
        { key: 'address', label: 'Address', render: (o) => (o.address ? [link(addrHref(chain, o.address), short(o.address, 10)), ' ', labs(o.labels)] : o.script) },
        { key: 'value', label: 'BTC', num: true, render: (o) => amount(o.value, 8) },
        { key: 'spent_by', label: 'Spent by', render: (o) => (o.spent_by ? link(txHref(chain, o.spent_by.tx), short(o.spent_by.tx, 6)) : h('span', { class: 'muted' }, 'unspent')) },
      ], t.outputs || []))));
  } else {
    body.appendChild(h('section', { class: 'panel' }, h('h2', null, 'Transfers'), (t.transfers || []).length ? table([
      { key: 'kind', label: 'Kind' },
      { key: 'from', label: 'From', render: (x) => (x.from ? [link(addrHref(chain, x.from), short(x.from, 8)), ' ', labs(x.from_labels)] : '') },
      { key: 'to', label: 'To', render: (x) => (x.to ? [link(addrHref(chain, x.to), short(x.to, 8)), ' ', labs(x.to_labels)] : '') },
      { key: 'amount', label: 'Amount', num: true, render: (x) => x.display || amount(x.amount, x.asset && x.asset.decimals, x.asset && x.asset.symbol) },
    ], t.transfers) : empty('No transfers.')));
  }
}

export async function clusterPage(view, ctx) {
  const [chain, id] = ctx.parts;
  view.appendChild(h('h1', null, h('span', { class: 'muted' }, chain + ' '), 'cluster ' + (id || '')));
  view.appendChild(h('div', { class: 'toolbar' }, link(graphHref('cluster', chain, id), 'Open in graph', { class: 'button' })));
  const body = h('div', null, loading());
  view.appendChild(body);
  let c;
  try { c = await api('/chains/' + enc(chain) + '/clusters/' + enc(id), { signal: ctx.signal }); } catch (e) {
    if (isAbort(e)) throw e;
    clear(body).appendChild(errorBox(missing(e) ? Object.assign(e, { detail: 'This server has no cluster route yet; `chaintrace cluster show ADDR` answers on the command line.' }) : e, 'Cluster'));
    return;
  }
  clear(body);
  const members = c.members || c.addresses || [];
  body.appendChild(h('div', { class: 'panel' }, dl([
    ['Addresses', String(c.size !== undefined ? c.size : members.length)], ['First member', c.address ? link(addrHref(chain, c.address), c.address) : null],
    ['Transactions', c.tx_count !== undefined ? String(c.tx_count) : null],
    ['First activity', c.first_seen ? time(c.first_seen.time || c.first_seen) : null], ['Last activity', c.last_seen ? time(c.last_seen.time || c.last_seen) : null],
    ['Balances', (c.balances || []).map((b) => h('div', null, amount(b.balance, b.asset.decimals, b.asset.symbol)))],
  ])));
  const clabels = (c.labels || []).map((l) => Object.assign({}, l.label || l, { address: l.address, applies: l.applies_to_cluster }));
  if (clabels.length) body.appendChild(h('section', { class: 'panel' }, h('h2', null, 'Labels on members'), labelTable(clabels)));
  if (c.partial) body.appendChild(notice(`The summary covers the first ${c.summarized_members} members only.`));
  body.appendChild(h('section', { class: 'panel' }, h('h2', null, 'Members'), members.length ? table([
    { key: 'address', label: 'Address', render: (m) => { const a = typeof m === 'string' ? m : m.address; return link(addrHref(chain, a), a); }, sort: (m) => (typeof m === 'string' ? m : m.address) },
    { key: 'labels', label: 'Labels', render: (m) => clabels.filter((l) => l.address === (typeof m === 'string' ? m : m.address)).map((l) => l.label).join(', ') },
  ], members) : empty('No members listed.')));
}
