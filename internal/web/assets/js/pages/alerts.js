// Alerts: the monitor's journal, followed live over server-sent events
// (read with fetch, so that the API key goes along).

import { h, clear, loading, errorBox, empty, link, addrHref, txHref, short, time, table, amount } from '../dom.js';
import { api, isAbort, stream } from '../api.js';

// decimalsOf is the number of decimals of an alert's asset: the native
// coins' and the common stablecoins'; other tokens show in base units.
function decimalsOf(a) {
  if (a.asset === 'BTC' || (!a.asset && String(a.chain || '').startsWith('btc'))) return 8;
  if (a.asset === 'ETH') return 18;
  if (/^USD[TC]$/.test(a.asset || '')) return 6;
  return 0;
}

export async function alertsPage(view, ctx) {
  view.appendChild(h('h1', null, 'Alerts'));
  const state = h('p', { class: 'muted', role: 'status' });
  const body = h('div', null, loading());
  view.append(state, body);
  let r;
  try { r = await api('/alerts?limit=200', { signal: ctx.signal }); } catch (e) {
    if (isAbort(e)) throw e;
    clear(body).appendChild(errorBox(e, 'Alerts'));
    return;
  }
  const alerts = (r.alerts || []).slice().reverse();
  const draw = () => {
    clear(body);
    if (!alerts.length) { body.appendChild(empty('No alerts yet. Watches raise them as blocks arrive (chaintrace watch add).')); return; }
    body.appendChild(table([
      { key: 'id', label: 'Id' },
      { key: 'kind', label: 'Kind', render: (a) => a.kind || 'alert' },
      { key: 'watch', label: 'Watch', render: (a) => a.watch_name || a.watch || a.watch_id || '' },
      { key: 'rule', label: 'Rule' },
      { key: 'chain', label: 'Chain' },
      { key: 'tx', label: 'Transaction', render: (a) => (a.tx ? link(txHref(a.chain, a.tx), short(a.tx, 8)) : '') },
      { key: 'direction', label: 'Direction' },
      { key: 'amount', label: 'Amount', num: true, render: (a) => (a.value ? amount(a.value, decimalsOf(a), a.asset) : a.amount ? amount(a.amount, 8, 'BTC') : ''), sort: (a) => Number(a.value || a.amount || 0) },
      { key: 'counterparties', label: 'Counterparties', nosort: true, render: (a) => (a.counterparties || []).slice(0, 3).map((c) => h('div', null, c.address ? link(addrHref(a.chain, c.address), short(c.address, 8)) : '', c.labels && c.labels.length ? ' ' + (c.labels[0].label || c.labels[0].name || '') : '')) },
      { key: 'height', label: 'Height', num: true },
      { key: 'reason', label: 'Note', render: (a) => a.reason || (a.new_rating ? `${a.old_rating} → ${a.new_rating}` : '') },
      { key: 'time', label: 'Time', render: (a) => time(a.time || a.block_time) },
    ], alerts));
  };
  draw();
  const last = alerts.length ? alerts[0].id : '';
  const live = new AbortController();
  ctx.signal.addEventListener('abort', () => live.abort(), { once: true });
  state.textContent = 'Connecting to the live stream…';
  const onState = (s, err) => {
    if (s === 'open') state.textContent = 'Live: new alerts appear at the top.';
    else if (s === 'denied') state.textContent = 'The live stream needs an API key with the read role (' + ((err && err.title) || 'refused') + ').';
    else state.textContent = 'The live stream is interrupted; reconnecting…';
  };
  const onEvent = (ev) => {
    try {
      const a = JSON.parse(ev.data);
      if (alerts.some((x) => x.id === a.id)) return;
      alerts.unshift(a);
      draw();
    } catch { /* not an alert */ }
  };
  stream('/alerts/stream' + (last ? '?since=' + encodeURIComponent(last) : ''), onEvent, onState, live.signal);
  return () => live.abort();
}
