// Alerts: the monitor's journal, followed live over server-sent events.

import { h, clear, loading, errorBox, empty, link, addrHref, txHref, short, time, table } from '../dom.js';
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
      { key: 'address', label: 'Address', render: (a) => (a.address ? link(addrHref(a.chain, a.address), short(a.address, 8)) : '') },
      { key: 'height', label: 'Height', num: true },
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
