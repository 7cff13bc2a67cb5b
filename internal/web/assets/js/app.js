// The single-page application: a hash router over the pages, the
// settings dialog and the top search box. A page is an async function
// (view, ctx) where ctx holds the route's parts, its query, and an
// AbortSignal that fires when the user navigates away; it may return a
// cleanup function.

import { h, clear, errorBox, toast } from './dom.js';
import { getKey, setKey, isAbort } from './api.js';
import { searchPage, actorPage } from './pages/search.js';
import { incidentsPage } from './pages/incidents.js';
import { incidentPage } from './pages/incident.js';
import { graphPage } from './pages/graph.js';
import { addressPage, txPage, clusterPage } from './pages/address.js';
import { screenPage } from './pages/screen.js';
import { alertsPage } from './pages/alerts.js';
import { casesPage } from './pages/cases.js';

const pages = {
  '': searchPage,
  search: searchPage,
  incidents: incidentsPage,
  incident: incidentPage,
  graph: graphPage,
  address: addressPage,
  tx: txPage,
  cluster: clusterPage,
  actor: actorPage,
  screen: screenPage,
  alerts: alertsPage,
  cases: casesPage,
};

const titles = { '': 'Search', search: 'Search', incidents: 'Incidents', incident: 'Incident', graph: 'Investigation graph', address: 'Address',
  tx: 'Transaction', cluster: 'Cluster', actor: 'Actor', screen: 'Screening', alerts: 'Alerts', cases: 'Cases' };

let current = null; // {abort, cleanup}

// parse splits "#/a/b?x=1" into parts and a URLSearchParams.
export function parse(hash) {
  let s = (hash || '').replace(/^#\/?/, '');
  let q = '';
  const i = s.indexOf('?');
  if (i >= 0) { q = s.slice(i + 1); s = s.slice(0, i); }
  const parts = s.split('/').filter((p) => p !== '').map((p) => { try { return decodeURIComponent(p); } catch { return p; } });
  return { parts, query: new URLSearchParams(q) };
}

async function route() {
  if (current) {
    current.abort.abort();
    if (current.cleanup) { try { current.cleanup(); } catch (e) { console.warn(e); } }
    current = null;
  }
  const view = document.getElementById('view');
  const { parts, query } = parse(location.hash);
  const name = parts[0] || '';
  for (const a of document.querySelectorAll('header nav a')) a.classList.toggle('active', a.dataset.nav === name || (name === 'incident' && a.dataset.nav === 'incidents'));
  const page = pages[name];
  clear(view);
  const abort = new AbortController();
  const me = { abort, cleanup: null };
  current = me;
  document.title = (titles[name] || 'Not found') + ' · chaintrace';
  if (!page) {
    view.appendChild(h('h1', null, 'Page not found'));
    view.appendChild(h('p', null, 'There is no page at ', h('code', null, location.hash), '. ', h('a', { href: '#/' }, 'Go to the search page'), '.'));
    return;
  }
  try {
    const cleanup = await page(view, { parts: parts.slice(1), query, signal: abort.signal });
    if (typeof cleanup === 'function') {
      if (current === me) me.cleanup = cleanup; else cleanup();
    }
  } catch (err) {
    if (isAbort(err) || abort.signal.aborted) return;
    console.warn('page failed', err);
    view.appendChild(errorBox(err, 'This page failed'));
  }
}

// go navigates to a hash route.
export function go(hash) {
  if (location.hash === hash) route(); else location.hash = hash;
}

function setupSettings() {
  const dlg = document.getElementById('settings');
  const form = document.getElementById('settings-form');
  const btn = document.getElementById('settings-btn');
  const label = () => { btn.textContent = getKey() ? 'API key ✓' : 'API key'; };
  label();
  btn.addEventListener('click', () => {
    form.elements.key.value = getKey();
    if (typeof dlg.showModal === 'function') dlg.showModal(); else dlg.setAttribute('open', '');
  });
  form.addEventListener('submit', (e) => {
    const v = e.submitter ? e.submitter.value : 'save';
    if (v === 'save') { setKey(form.elements.key.value.trim()); toast(getKey() ? 'API key set for this tab' : 'No API key'); }
    if (v === 'clear') { setKey(''); toast('API key forgotten'); }
    label();
  });
}

function setupSearch() {
  const f = document.getElementById('topsearch');
  f.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = f.elements.q.value.trim();
    if (q) go('#/search?q=' + encodeURIComponent(q));
  });
}

window.addEventListener('hashchange', route);
window.addEventListener('unhandledrejection', (e) => {
  if (isAbort(e.reason)) { e.preventDefault(); return; }
});
setupSettings();
setupSearch();
document.documentElement.dataset.app = 'ready';
route();
