// Screening: paste or upload addresses, screen them in batches, show a
// results table and export it as CSV.

import { h, clear, loading, errorBox, table, link, addrHref, short, download, empty } from '../dom.js';
import { api, chains, isAbort } from '../api.js';

const BATCH = 1000;

// parseAddresses reads "address", "chain,address" or "chain address"
// lines (and CSV files with an address column); # starts a comment.
export function parseAddresses(text, defChain) {
  const out = [];
  const seen = new Set();
  for (let line of String(text).split(/\r?\n/)) {
    line = line.replace(/#.*$/, '').trim();
    if (!line) continue;
    const cells = line.split(/[,;\t ]+/).map((c) => c.replace(/^"|"$/g, '').trim()).filter(Boolean);
    if (!cells.length || /^(address|chain)$/i.test(cells[0])) continue;
    let chain = defChain, address = cells[0];
    if (cells.length >= 2 && /^[a-z][a-z0-9-]{1,24}$/.test(cells[0]) && cells[1].length > cells[0].length) { chain = cells[0]; address = cells[1]; }
    const k = chain + ':' + address;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push({ chain, address });
  }
  return out;
}

function csvCell(v) {
  const str = v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(str) ? '"' + str.replace(/"/g, '""') + '"' : str;
}

export async function screenPage(view, ctx) {
  view.appendChild(h('h1', null, 'Screening'));
  const cs = await chains(ctx.signal).catch((e) => { if (isAbort(e)) throw e; return []; });
  const known = [...new Set(cs.map((c) => c.chain).concat(['btc', 'eth', 'trx', 'ltc', 'bch']))];
  const defChain = ctx.query.get('chain') || (cs[0] && cs[0].chain) || 'btc';
  const chainSel = h('select', { name: 'chain', 'aria-label': 'Default chain' }, known.map((c) => h('option', { value: c, selected: c === defChain }, c)));
  const ta = h('textarea', { name: 'addresses', id: 'screen-input', 'aria-label': 'Addresses to screen', placeholder: 'One address per line, or "chain,address". Lines starting with # are ignored.' });
  if (ctx.query.get('a')) ta.value = ctx.query.get('a');
  const file = h('input', { type: 'file', accept: '.txt,.csv,text/plain,text/csv', 'aria-label': 'Upload a file of addresses' });
  const exposure = h('input', { type: 'checkbox', name: 'exposure', checked: true });
  const run = h('button', { type: 'submit', id: 'screen-run' }, 'Screen');
  const csvBtn = h('button', { type: 'button', class: 'secondary', disabled: true }, 'Export CSV');
  const out = h('div', { id: 'screen-results' });
  file.addEventListener('change', async () => {
    const f = file.files && file.files[0];
    if (!f) return;
    ta.value = (ta.value ? ta.value + '\n' : '') + (await f.text());
    file.value = '';
  });
  let results = [];
  csvBtn.addEventListener('click', () => {
    const rows = [['chain', 'address', 'risk', 'rule', 'reason', 'identifications', 'categories', 'error']];
    for (const r of results) {
      const res = r.result || {};
      const ids = res.identifications || [];
      rows.push([r.chain, r.address, res.risk ? res.risk.level : '', res.risk ? res.risk.rule || '' : '', res.risk ? res.risk.reason || '' : '',
        ids.map((i) => i.name).join('; '), [...new Set(ids.map((i) => i.category).filter(Boolean))].join('; '), r.error ? r.error.detail || r.error.title : '']);
    }
    download('chaintrace-screening.csv', new Blob([rows.map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n'], { type: 'text/csv' }));
  });
  const form = h('form', { class: 'panel', on: { submit: async (e) => {
    e.preventDefault();
    const list = parseAddresses(ta.value, chainSel.value);
    clear(out);
    if (!list.length) { out.appendChild(empty('Paste or upload at least one address.')); return; }
    run.disabled = true;
    csvBtn.disabled = true;
    results = [];
    out.appendChild(loading(`Screening ${list.length} address${list.length > 1 ? 'es' : ''}…`));
    try {
      for (let i = 0; i < list.length; i += BATCH) {
        const r = await api('/screen' + (exposure.checked ? '' : '?exposure=false'), { method: 'POST', body: { addresses: list.slice(i, i + BATCH) }, signal: ctx.signal });
        results.push(...(r.results || []));
      }
    } catch (err) {
      run.disabled = false;
      if (isAbort(err)) return;
      clear(out).appendChild(errorBox(err, 'Screening'));
      return;
    }
    run.disabled = false;
    csvBtn.disabled = !results.length;
    const order = { SEVERE: 4, HIGH: 3, MEDIUM: 2, LOW: 1 };
    const flagged = results.filter((r) => r.result && r.result.risk && r.result.risk.level !== 'LOW').length;
    const errors = results.filter((r) => r.error).length;
    clear(out).appendChild(h('p', { class: 'muted' }, `${results.length} screened: ${flagged} above LOW, ${errors} with errors.`));
    out.appendChild(table([
      { key: 'chain', label: 'Chain' },
      { key: 'address', label: 'Address', render: (r) => link(addrHref(r.chain, r.address), short(r.address, 12)) },
      { key: 'risk', label: 'Risk', render: (r) => (r.result && r.result.risk ? h('span', { class: 'badge risk-' + r.result.risk.level }, r.result.risk.level) : h('span', { class: 'badge risk-HIGH' }, 'error')),
        sort: (r) => (r.result && r.result.risk ? order[r.result.risk.level] || 0 : 5) },
      { key: 'ids', label: 'Identifications', render: (r) => ((r.result && r.result.identifications) || []).map((i) => h('span', { class: 'tag' }, i.name + (i.category ? ' (' + i.category + ')' : ''))),
        sort: (r) => ((r.result && r.result.identifications) || []).length },
      { key: 'reason', label: 'Why', render: (r) => (r.error ? (r.error.detail || r.error.title) : r.result && r.result.risk ? (r.result.risk.rule ? r.result.risk.rule + ': ' : '') + (r.result.risk.reason || '') : '') },
      { key: 'exposure', label: 'Indirect exposure', render: (r) => ((r.result && r.result.exposure && r.result.exposure.indirect) || []).map((x) => h('div', null, `${x.category} ${(x.share * 100).toFixed(1)}%`)), nosort: true },
    ], results, { class: 'screen-results' }));
  } } },
  h('div', { class: 'row' }, h('label', null, 'Default chain ', chainSel), h('label', null, exposure, ' exposure (slower)'), h('label', null, 'Upload ', file)),
  ta, h('div', { class: 'row' }, run, csvBtn));
  view.append(form, out);
}
