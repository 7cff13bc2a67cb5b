// Alerts: the monitor's journal, followed live over server-sent events.

import { h, clear, loading, errorBox, empty, link, addrHref, txHref, short, time, table, amount } from '../dom.js';
import { api, isAbort } from '../api.js';

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
      { key: 'amount', label: 'Amount', num: true, render: (a) => (a.value ? amount(a.value, a.asset === 'ETH' ? 18 : /^USD[TC]$/.test(a.asset || '') ? 6 : 0, a.asset) : a.amount ? amount(a.amount, 8, 'BTC') : ''), sort: (a) => Number(a.value || a.amount || 0) },
      { key: 'counterparties', label: 'Counterparties', nosort: true, render: (a) => (a.counterparties || []).slice(0, 3).map((c) => h('div', null, c.address ? link(addrHref(a.chain, c.address), short(c.address, 8)) : '', c.labels && c.labels.length ? ' ' + (c.labels[0].label || c.labels[0].name || '') : '')) },
      { key: 'height', label: 'Height', num: true },
      { key: 'reason', label: 'Note', render: (a) => a.reason || (a.new_rating ? `${a.old_rating} → ${a.new_rating}` : '') },
      { key: 'time', label: 'Time', render: (a) => time(a.time || a.block_time) },
    ], alerts));
  };
  draw();
  if (typeof EventSource === 'undefined') return;
  const last = alerts.length ? alerts[0].id : '';
  const es = new EventSource('/api/v1/alerts/stream' + (last ? '?since=' + encodeURIComponent(last) : ''));
  state.textContent = 'Connecting to the live stream…';
  es.onopen = () => { state.textContent = 'Live: new alerts appear at the top.'; };
  es.onerror = () => { state.textContent = 'The live stream is interrupted; the browser retries.'; };
  const onAlert = (ev) => {
    try {
      const a = JSON.parse(ev.data);
      if (alerts.some((x) => x.id === a.id)) return;
      alerts.unshift(a);
      draw();
    } catch { /* a comment or keep-alive */ }
  };
  es.onmessage = onAlert;
  es.addEventListener('alert', onAlert);
  es.addEventListener('retraction', onAlert);
  return () => es.close();
}
