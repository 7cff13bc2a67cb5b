// The REST API client: JSON in and out, problem details turned into
// ApiError, the API key from session storage sent as a bearer token.

const KEY = 'chaintrace.apikey';

export class ApiError extends Error {
  constructor(status, problem, requestId) {
    super((problem && problem.title) || 'HTTP ' + status);
    this.name = 'ApiError';
    this.status = status;
    this.title = (problem && problem.title) || 'HTTP ' + status;
    this.detail = problem && problem.detail;
    this.type = problem && problem.type;
    this.problem = problem;
    this.requestId = requestId;
  }
}

export function getKey() {
  try { return sessionStorage.getItem(KEY) || ''; } catch { return ''; }
}

export function setKey(k) {
  try {
    if (k) sessionStorage.setItem(KEY, k); else sessionStorage.removeItem(KEY);
  } catch { /* storage disabled: the key lasts for nothing */ }
}

export function isAbort(err) {
  return err && (err.name === 'AbortError' || err.name === 'TimeoutError');
}

// api calls /api/v1 + path. opts: method, body (JSON), signal, headers.
// It resolves to the parsed body (null for 204) and, with opts.full, to
// {body, headers, status}.
export async function api(path, opts) {
  opts = opts || {};
  const headers = Object.assign({ Accept: 'application/json' }, opts.headers || {});
  const key = getKey();
  if (key) headers.Authorization = 'Bearer ' + key;
  let body;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  }
  let res;
  for (let attempt = 0; ; attempt++) {
    try {
      res = await fetch('/api/v1' + path, { method: opts.method || 'GET', headers, body, signal: opts.signal, credentials: 'same-origin' });
    } catch (err) {
      if (isAbort(err)) throw err;
      throw new ApiError(0, { title: 'The server cannot be reached', detail: String(err.message || err) });
    }
    // Rate limited: wait as told (a little, at most 5 s) and retry a
    // few times before showing the problem.
    if (res.status !== 429 || attempt >= 3) break;
    const wait = Math.min(5, Math.max(0.2, parseFloat(res.headers.get('Retry-After')) || 1));
    await new Promise((resolve, reject) => {
      const tm = setTimeout(resolve, wait * 1000 * (attempt + 1));
      if (opts.signal) opts.signal.addEventListener('abort', () => { clearTimeout(tm); reject(new DOMException('aborted', 'AbortError')); }, { once: true });
    });
  }
  const rid = res.headers.get('X-Request-Id');
  const ct = res.headers.get('Content-Type') || '';
  let data = null;
  if (res.status !== 204 && res.status !== 304) {
    const text = await res.text();
    if (text && (ct.includes('json'))) {
      try { data = JSON.parse(text); } catch { data = null; }
    } else if (text) {
      data = text;
    }
  }
  if (!res.ok) {
    const problem = data && typeof data === 'object' ? data : { title: res.status + ' ' + res.statusText, detail: typeof data === 'string' ? data.slice(0, 300) : '' };
    if (res.status === 404 && problem.type === 'about:blank' && /^no resource at/.test(problem.detail || '')) {
      problem.title = 'Not offered by this server';
      problem.detail = 'The server has no route ' + path.split('?')[0] + ' (an older or partial chaintrace build).';
      problem.missingRoute = true;
    }
    throw new ApiError(res.status, problem, rid);
  }
  if (opts.full) return { body: data, headers: res.headers, status: res.status };
  return data;
}

// missing reports whether an error says the route does not exist.
export function missing(err) {
  return err instanceof ApiError && err.status === 404 && err.problem && err.problem.missingRoute;
}

let chainsCache = null;
// chains lists the server's chain stores (cached for the page's life).
export async function chains(signal) {
  if (!chainsCache) {
    chainsCache = api('/chains', { signal }).then((r) => (r && r.chains) || []).catch((e) => { chainsCache = null; throw e; });
  }
  return chainsCache;
}

// stream follows the server-sent events at /api/v1 + path with fetch
// rather than EventSource, which cannot send the API key (a server run
// with --anonymous none would refuse it). onEvent gets {event, data, id}
// for each event; onState gets 'open', 'retry' or 'denied' (with the
// error). After a broken connection it reconnects with the last event's
// id as Last-Event-ID, waiting longer each time up to 30 s; an id the
// server no longer knows (a compacted journal) is dropped and the stream
// goes on from the newest. It ends when signal aborts.
export async function stream(path, onEvent, onState, signal) {
  let lastId = '';
  let delay = 1000;
  while (!signal.aborted) {
    const headers = { Accept: 'text/event-stream' };
    const key = getKey();
    if (key) headers.Authorization = 'Bearer ' + key;
    if (lastId) headers['Last-Event-ID'] = lastId;
    try {
      const res = await fetch('/api/v1' + path, { headers, signal, credentials: 'same-origin' });
      if (!res.ok || !res.body) {
        let problem = null;
        try { problem = await res.json(); } catch { /* not a problem document */ }
        throw new ApiError(res.status, problem, res.headers.get('X-Request-Id'));
      }
      onState('open');
      delay = 1000;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      let ev = { event: 'message', data: [], id: '' };
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          let line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.endsWith('\r')) line = line.slice(0, -1);
          if (line === '') {
            if (ev.data.length) {
              if (ev.id) lastId = ev.id;
              onEvent({ event: ev.event, data: ev.data.join('\n'), id: ev.id });
            }
            ev = { event: 'message', data: [], id: '' };
            continue;
          }
          if (line.startsWith(':')) continue; // a comment: the heartbeat
          const c = line.indexOf(':');
          const field = c < 0 ? line : line.slice(0, c);
          let val = c < 0 ? '' : line.slice(c + 1);
          if (val.startsWith(' ')) val = val.slice(1);
          if (field === 'data') ev.data.push(val);
          else if (field === 'event') ev.event = val;
          else if (field === 'id') ev.id = val;
        }
      }
    } catch (err) {
      if (isAbort(err) || signal.aborted) return;
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        onState('denied', err);
        return;
      }
      if (err instanceof ApiError && err.status >= 400 && err.status < 500 && lastId) {
        lastId = ''; // the journal no longer has it: go on from the newest
        path = path.replace(/([?&])since=[^&]*&?/, '$1').replace(/[?&]$/, '');
      }
    }
    if (signal.aborted) return;
    onState('retry');
    await new Promise((resolve) => {
      const tm = setTimeout(resolve, delay);
      signal.addEventListener('abort', () => { clearTimeout(tm); resolve(); }, { once: true });
    });
    delay = Math.min(delay * 2, 30000);
  }
}
