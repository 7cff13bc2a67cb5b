// Cases: saved investigation graphs with notes, reopened in the graph.

import { h, clear, loading, errorBox, empty, table, link, time, enc, toast } from '../dom.js';
import { api, isAbort } from '../api.js';

export async function casesPage(view, ctx) {
  view.appendChild(h('h1', null, 'Cases'));
  view.appendChild(h('p', null, 'A case is a saved investigation graph with notes. Save one from the ', link('#/graph', 'graph'), '.'));
  const body = h('div', null, loading());
  view.appendChild(body);
  const load = async () => {
    let r;
    try { r = await api('/cases?limit=200', { signal: ctx.signal }); } catch (e) {
      if (isAbort(e)) throw e;
      clear(body).appendChild(errorBox(e, 'Cases'));
      return;
    }
    const items = (r && (r.items || r.cases)) || (Array.isArray(r) ? r : []);
    clear(body);
    if (!items.length) { body.appendChild(empty('No saved cases.')); return; }
    body.appendChild(table([
      { key: 'name', label: 'Name', render: (c) => link('#/graph?case=' + enc(c.id), c.name || c.title || c.id) },
      { key: 'description', label: 'Description' },
      { key: 'nodes', label: 'Nodes', num: true },
      { key: 'updated', label: 'Updated', render: (c) => time(c.updated || c.updated_at || c.modified) },
      { key: 'version', label: 'Version', num: true },
      { key: 'del', label: '', nosort: true, render: (c) => h('button', { type: 'button', class: 'secondary', on: { click: async () => {
        if (!confirm('Delete case “' + (c.name || c.id) + '”?')) return;
        try {
          const headers = {};
          if (c.version !== undefined) headers['If-Match'] = '"' + c.version + '"';
          await api('/cases/' + enc(c.id), { method: 'DELETE', headers, signal: ctx.signal });
          toast('Case deleted');
          await load();
        } catch (e) { if (!isAbort(e)) body.prepend(errorBox(e, 'Deleting the case')); }
      } } }, 'Delete') },
    ], items));
  };
  await load();
}
