// gossipdb console: talks to the node's own HTTP API (same origin), polls the
// slow-moving state and follows GET /api/v0/events for changes as they merge.
'use strict';
(() => {
  const API = '/api/v0';
  const PAGE = 25;          // documents per page
  const FEED_MAX = 300;     // changes kept in the feed
  const POLL_MS = 2000;     // peers, subscriptions and catch-up
  const GONE_SHOWN = 20;    // peers that left shown in the overview; the node remembers more
  const TOKEN_KEY = 'gossipdb-token';
  const HISTORY = 50;       // a document's newest blocks shown
  // The node writes to a quiet stream every 15 s: a stream silent for three
  // of those lost its node (stopped, frozen, or cut off without a reset),
  // and so did a request for one unanswered as long.
  const SILENCE_MS = 45000;

  const $ = (id) => document.getElementById(id);
  const state = {
    token: sessionStorage.getItem(TOKEN_KEY) || '',
    me: '',
    collections: [],        // [{name, schemaID, fields}]
    subs: [],               // subscribed names
    peers: [],              // connected, then those that left: [{peer, addr, connected, lastSeen}]
    sync: {},               // name -> SyncInfo
    watched: null,          // names the event stream watches, or 'all' when it follows every collection
    feed: [],
    unseen: 0,
    view: '',
    doc: { col: '', after: '', stack: [], where: null, whereText: '', next: '', showDeleted: false },
    rendered: {},           // view part -> JSON last drawn, to redraw only on change
  };

  // ---- JSON with exact integers ------------------------------------------------
  // Int fields hold int64: integers beyond 2^53 are kept as BigInt.
  const parseJSON = (text) => JSON.parse(text, (k, v, ctx) =>
    typeof v === 'number' && !Number.isSafeInteger(v) && ctx && /^-?\d+$/.test(ctx.source) ? BigInt(ctx.source) : v);
  const jsonText = (v) => {
    if (typeof v === 'bigint') return v.toString();
    if (Array.isArray(v)) return '[' + v.map(jsonText).join(',') + ']';
    if (v && typeof v === 'object') return '{' + Object.keys(v).map((k) => JSON.stringify(k) + ':' + jsonText(v[k])).join(',') + '}';
    return JSON.stringify(v);
  };

  // ---- API -----------------------------------------------------------------------
  class APIError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }
  const authHeaders = () => (state.token ? { Authorization: 'Bearer ' + state.token } : {});

  // api calls the node's API; body is JSON text. A 401 asks for the token and
  // tries again.
  async function api(method, path, body) {
    for (;;) {
      const headers = authHeaders();
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      const res = await fetch(API + path, { method, headers, body, cache: 'no-store' });
      if (res.status === 401) { await askToken(); continue; }
      const text = await res.text();
      if (!res.ok) {
        let msg = text;
        try { msg = JSON.parse(text).error; } catch (e) { /* not JSON: keep the text */ }
        throw new APIError(res.status, msg || res.statusText);
      }
      return text ? parseJSON(text) : null;
    }
  }
  const enc = encodeURIComponent;

  // ---- Token ---------------------------------------------------------------------
  let tokenWait = null;
  function askToken() {
    if (tokenWait) return tokenWait;
    const dlg = $('token-dialog');
    const err = $('token-error');
    if (state.token) { err.textContent = 'That token was refused.'; err.hidden = false; }
    tokenWait = new Promise((resolve) => {
      $('token-form').onsubmit = () => {
        state.token = $('token').value.trim();
        sessionStorage.setItem(TOKEN_KEY, state.token);
        tokenWait = null;
        resolve();
      };
    });
    dlg.addEventListener('cancel', (e) => e.preventDefault(), { once: true });
    if (!dlg.open) dlg.showModal();
    return tokenWait;
  }

  // ---- DOM helpers ---------------------------------------------------------------
  // el builds an element; text is always set as text, never parsed as HTML.
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else if (k === 'style') e.style.cssText = v; // CSSOM: allowed by the page's CSP, a style attribute is not
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const kid of kids.flat()) if (kid !== null && kid !== undefined && kid !== false) e.append(kid);
    return e;
  }
  const short = (id) => (id && id.length > 16 ? id.slice(0, 8) + '…' + id.slice(-6) : id || '');
  const clock = (d) => d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  function ago(t) {
    const s = Math.max(0, Math.round((Date.now() - new Date(t).getTime()) / 1000));
    if (s < 5) return 'just now';
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.round(s / 60) + ' min ago';
    return Math.round(s / 3600) + ' h ago';
  }
  // reason is the last clause of an error: "peer …, collection …: reconcile:
  // peer does not have the collection" says "peer does not have the collection".
  const reason = (err) => err.slice(err.lastIndexOf(': ') + 2);
  const plural = (n, one, many) => n + ' ' + (n === 1 ? one : many || one + 's');
  function bytes(n) {
    if (n < 1024) return n + ' B';
    if (n < 1 << 20) return (n / 1024).toFixed(1) + ' KiB';
    return (n / (1 << 20)).toFixed(1) + ' MiB';
  }
  let toastTimer = 0;
  function toast(msg, bad) {
    const t = $('toast');
    t.textContent = msg;
    t.className = 'toast' + (bad ? ' bad' : '');
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, bad ? 6000 : 2500);
  }
  // changed reports whether part must be redrawn for data, and remembers it.
  function changed(part, data) {
    const s = jsonText(data);
    if (state.rendered[part] === s) return false;
    state.rendered[part] = s;
    return true;
  }
  const collection = (name) => state.collections.find((c) => c.name === name);
  // A field's kind is SDL's spelling: a scalar, a list of one ([Int], [String!]),
  // a relation (Author), or the derived inverse side of one ([Book]), which holds
  // no data: documents do not show it and no write takes it.
  const SCALARS = new Set(['String', 'Int', 'Float', 'Boolean', 'DateTime', 'JSON']);
  const isList = (f) => f.kind.startsWith('[');
  const isInverse = (f) => isList(f) && !SCALARS.has(f.kind.slice(1, -1).replace(/!$/, ''));
  const isNum = (f) => f.kind === 'Int' || f.kind === 'Float';
  // docFields are the fields a document of c holds.
  const docFields = (c) => c.fields.filter((f) => !isInverse(f));
  // valueText is a field's value as the console shows and edits it: JSON values and
  // lists as JSON, the others as they are.
  const valueText = (f, v) => (f.kind === 'JSON' || isList(f) ? jsonText(v) : String(v));

  // ---- Routing -------------------------------------------------------------------
  function route() {
    const [, view = '', arg = ''] = location.hash.split('/');
    const v = ['collections', 'documents', 'feed'].includes(view) ? view : 'overview';
    const syncWasShown = showsSync();
    state.view = v;
    if (state.collections.length && showsSync() && !syncWasShown) pollLoop(); // its catch-up state is not fresh
    for (const s of document.querySelectorAll('.view')) s.hidden = s.id !== 'view-' + v;
    for (const a of document.querySelectorAll('#nav a')) {
      if (a.dataset.view === v) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    }
    if (v === 'feed') { state.unseen = 0; drawUnseen(); }
    if (v === 'documents') {
      const name = decodeURIComponent(arg) || state.doc.col || (state.collections[0] || {}).name || '';
      if (name !== state.doc.col) {
        state.doc = { col: name, after: '', stack: [], where: null, whereText: '', next: '', showDeleted: state.doc.showDeleted };
        drawDocsChrome();
      }
      loadDocs();
    }
    drawAll();
  }

  // ---- Loading -------------------------------------------------------------------
  async function loadIdentity() {
    const [health, addrs] = await Promise.all([api('GET', '/health'), api('GET', '/p2p/info')]);
    state.me = health.peerID;
    $('me').textContent = state.me;
    $('node-id').textContent = state.me;
    document.title = 'gossipdb · ' + short(state.me);
    const list = $('node-addrs');
    list.replaceChildren(...addrs.map((a) => el('li', {}, el('code', { text: a }),
      navigator.clipboard ? el('button', { class: 'quiet small', type: 'button', text: 'copy',
        onclick: () => navigator.clipboard.writeText(a).then(() => toast('Address copied')) }) : null)));
    if (!addrs.length) list.append(el('li', { class: 'muted', text: 'not listening' }));
  }

  async function poll() {
    const [cols, subs, peers] = await Promise.all([
      api('GET', '/collections'), api('GET', '/p2p/collections'), api('GET', '/p2p/known-peers')]);
    state.collections = cols;
    state.subs = subs;
    state.peers = peers;
    if (showsSync()) state.sync = Object.fromEntries((await api('GET', '/sync')).map((i) => [i.collection, i]));
    const names = cols.map((c) => c.name);
    if (state.watched && state.watched !== 'all' && jsonText(state.watched) !== jsonText(names)) restartStream();
    if (state.view === 'documents' && !state.doc.col && names.length) route();
    drawAll();
  }

  // showsSync reports whether the view shows the collections' catch-up state:
  // the others do not ask for it.
  const showsSync = () => state.view !== 'documents' && state.view !== 'feed';

  let pollTimer = 0;
  async function pollLoop() {
    clearTimeout(pollTimer);
    if (!document.hidden) {
      try { await poll(); } catch (e) { if (!(e instanceof APIError)) setLive('offline'); }
    }
    pollTimer = setTimeout(pollLoop, POLL_MS);
  }

  // ---- Drawing -------------------------------------------------------------------
  function drawAll() {
    if (state.view === 'overview') { drawPeers(); drawCols(); drawCatchup(); drawRecent(); }
    if (state.view === 'collections') drawCollections();
    if (state.view === 'documents') drawDocsChrome();
  }

  // peerRows merges the peers the node knows, connected or not, with those
  // catch-up has met.
  function peerRows() {
    const rows = new Map();
    for (const p of state.peers) rows.set(p.peer, { id: p.peer, addr: p.addr, connected: p.connected, lastSeen: p.lastSeen, sessions: [], topics: [] });
    for (const info of Object.values(state.sync)) {
      for (const id of info.topicPeers) if (rows.has(id)) rows.get(id).topics.push(info.collection);
      for (const p of info.peers) {
        if (!rows.has(p.peer)) rows.set(p.peer, { id: p.peer, addr: '', connected: false, sessions: [], topics: [] });
        rows.get(p.peer).sessions.push({ collection: info.collection, ...p });
      }
    }
    return [...rows.values()];
  }

  function drawPeers() {
    const all = peerRows();
    const now = Math.floor(Date.now() / 10000); // "ago" texts move every 10 s
    if (!changed('peers', [all, now])) return;
    const connected = all.filter((p) => p.connected).length;
    const gone = all.length - connected;
    $('peers-count').textContent = all.length ? '· ' + connected + ' connected' + (gone ? ' · ' + gone + ' left' : '') : '';
    const list = $('peers');
    if (!all.length) {
      list.replaceChildren(el('li', { class: 'muted', text: 'No peers. Connect to one with its address, or start this node with --peers.' }));
      return;
    }
    // Every connected peer, and the peers that left last: a public node meets
    // many.
    const rows = all.filter((p) => p.connected).concat(all.filter((p) => !p.connected).slice(0, GONE_SHOWN));
    const more = all.length - rows.length;
    list.replaceChildren(...rows.map((p) => {
      const running = p.sessions.filter((s) => !s.finished);
      const failed = p.sessions.filter((s) => s.finished && s.error);
      const last = p.sessions.filter((s) => s.finished).sort((a, b) => new Date(b.finished) - new Date(a.finished))[0];
      const badge = p.connected ? el('span', { class: 'badge ok', text: 'connected' }) : el('span', { class: 'badge bad', text: 'disconnected' });
      let sub = p.addr ? p.addr.slice(0, p.addr.lastIndexOf('/p2p/')) : 'met in catch-up';
      if (!p.connected && p.lastSeen) sub += ' · last seen ' + ago(p.lastSeen);
      if (p.topics.length) sub += ' · subscribed to ' + p.topics.join(', ');
      if (running.length) sub += ' · catching up ' + running.map((s) => s.collection).join(', ');
      else if (failed.length) sub += ' · catch-up of ' + failed.map((s) => s.collection).join(', ') + ' failed: ' + reason(failed[0].error);
      else if (last) sub += ' · in sync ' + ago(last.finished);
      return el('li', { class: 'peer', dataset: { peer: p.id, state: p.connected ? 'connected' : 'disconnected' } },
        badge, el('span', { class: 'id', title: p.id, text: p.id }), el('span', { class: 'sub', text: sub }));
    }));
    if (more) list.append(el('li', { class: 'muted', dataset: { more: String(more) }, text: plural(more, 'more peer') + ' left earlier: GET /api/v0/p2p/known-peers lists them' }));
  }

  function drawCols() {
    const rows = state.collections.map((c) => ({ name: c.name, fields: c.fields.length,
      subscribed: state.subs.includes(c.name), reach: ((state.sync[c.name] || {}).topicPeers || []).length }));
    if (!changed('cols', rows)) return;
    const list = $('cols');
    if (!rows.length) {
      list.replaceChildren(el('li', { class: 'muted', text: 'No collections yet: add one on the Collections view.' }));
      return;
    }
    list.replaceChildren(...rows.map((c) => el('li', { dataset: { collection: c.name } },
      el('a', { href: '#/documents/' + enc(c.name), text: c.name }),
      c.subscribed ? el('span', { class: 'badge ok', text: 'subscribed' }) : el('span', { class: 'badge', text: 'not subscribed' }),
      el('span', { class: 'sub', text: plural(c.fields, 'field') + ' · ' + (c.reach ? 'writes reach ' + plural(c.reach, 'peer') + ' directly' : 'no peer on its topic') }))));
  }

  function drawCatchup() {
    const infos = state.subs.map((n) => state.sync[n]).filter(Boolean);
    const now = Math.floor(Date.now() / 10000);
    if (!changed('catchup', [infos, now])) return;
    const list = $('catchup');
    if (!infos.length) {
      list.replaceChildren(el('li', { class: 'muted', text: 'Not subscribed to any collection. Subscribe on the Collections view to receive and catch up on changes.' }));
      return;
    }
    list.replaceChildren(...infos.map((i) => {
      const open = i.peers.filter((p) => !p.finished);
      const docs = open.reduce((s, p) => s + p.docs, 0);
      const pulled = open.reduce((s, p) => s + p.pulled, 0);
      const busy = i.running > 0 || i.pending > 0;
      const done = i.peers.filter((p) => p.finished);
      const last = done.sort((a, b) => new Date(b.finished) - new Date(a.finished))[0];
      let sub;
      if (busy) sub = plural(i.running, 'session') + ' running · ' + plural(i.pending, 'document') + ' to pull' + (docs ? ' · ' + pulled + ' of ' + docs + ' pulled' : '');
      else if (last) sub = 'reconciled with ' + plural(done.length, 'peer') + ', last ' + ago(last.finished);
      else sub = 'no peer to reconcile with yet';
      return el('li', { dataset: { collection: i.collection, busy: busy ? '1' : '' } },
        el('div', { class: 'head' }, el('b', { text: i.collection }),
          busy ? el('span', { class: 'badge warn', text: 'catching up' }) : el('span', { class: 'badge ok', text: 'up to date' })),
        busy ? el('div', { class: 'progress', title: docs ? pulled + ' / ' + docs : '' },
          el('i', { style: 'width:' + (docs ? Math.round(100 * pulled / docs) : 5) + '%' })) : null,
        el('span', { class: 'sub', text: sub }));
    }));
  }

  function drawCollections() {
    if (!changed('collections', [state.collections, state.subs, state.sync, Math.floor(Date.now() / 10000)])) return;
    const box = $('collections');
    if (!state.collections.length) {
      box.replaceChildren(el('p', { class: 'empty', text: 'No collections yet. Add one with "New collection", e.g. type User { name: String age: Int }.' }));
      return;
    }
    box.replaceChildren(...state.collections.map((c) => {
      const subscribed = state.subs.includes(c.name);
      const info = state.sync[c.name] || { peers: [], running: 0, pending: 0 };
      const reach = info.topicPeers && info.topicPeers.length
        ? 'writes reach ' + plural(info.topicPeers.length, 'peer') + ' directly' : 'no peer on its topic';
      const head = el('div', { class: 'col-head' },
        el('h3', { text: c.name }),
        subscribed ? el('span', { class: 'badge ok', text: 'subscribed' }) : el('span', { class: 'badge', text: 'not subscribed' }),
        info.running ? el('span', { class: 'badge warn', text: 'catching up · ' + plural(info.pending, 'doc') + ' to pull' }) : null,
        el('span', { class: 'spacer' }),
        el('a', { href: '#/documents/' + enc(c.name), text: 'Browse' }),
        subscribed ? el('button', { class: 'quiet small', type: 'button', text: 'Sync now', onclick: () => act('POST', '/collections/' + enc(c.name) + '/sync', undefined, 'Catch-up of ' + c.name + ' started') }) : null,
        el('button', { class: subscribed ? 'quiet small' : 'small', type: 'button', text: subscribed ? 'Unsubscribe' : 'Subscribe',
          dataset: { action: subscribed ? 'unsubscribe' : 'subscribe' },
          onclick: () => act(subscribed ? 'DELETE' : 'POST', '/p2p/collections', jsonText([c.name]), (subscribed ? 'Unsubscribed from ' : 'Subscribed to ') + c.name) }));
      const chips = el('div', { class: 'chips' }, c.fields.map((f) => el('span', { class: 'chip' }, f.name + ' ',
        el('em', { text: f.kind + (f.required ? '!' : '') + (f.counter ? ' counter' : '') }))));
      let sync;
      if (!info.peers.length) {
        sync = el('p', { class: 'muted', text: subscribed ? 'No catch-up session yet: it runs when a peer connects.' : 'Subscribe to receive this collection\'s changes and catch up with peers.' });
      } else {
        sync = el('div', { class: 'table-wrap' }, el('table', { class: 'sync' },
          el('thead', {}, el('tr', {}, ['Peer', 'Last session', 'Differed', 'Pulled', 'Blocks', 'Exchanged', 'Result'].map((h, i) => el('th', { class: i > 1 && i < 6 ? 'num' : '', text: h })))),
          el('tbody', {}, info.peers.map((p) => el('tr', {},
            el('td', { class: 'id', title: p.peer, text: short(p.peer) }),
            el('td', { text: p.finished ? ago(p.finished) : 'running since ' + ago(p.started) }),
            el('td', { class: 'num', text: p.docs }), el('td', { class: 'num', text: p.pulled }),
            el('td', { class: 'num', text: p.blocks }), el('td', { class: 'num', text: bytes(p.bytes) + ' · ' + plural(p.rounds, 'round') }),
            el('td', { class: 'result' }, p.error ? [el('span', { class: 'badge bad', title: p.error, text: 'failed' }), ' ', el('span', { class: 'muted', text: reason(p.error) })] : p.finished ? el('span', { class: 'badge ok', text: p.docs ? 'caught up' : 'equal' }) : el('span', { class: 'badge warn', text: 'running' })))))));
      }
      return el('article', { class: 'card', dataset: { collection: c.name } }, head,
        el('p', { class: 'schema' }, el('code', { title: 'Schema ID: also the collection\'s pubsub topic', text: c.schemaID }), ' · ' + reach), chips, sync);
    }));
  }

  // act runs one write from a button, then shows what happened and polls.
  async function act(method, path, body, done) {
    try {
      await api(method, path, body);
      toast(done);
      state.rendered = {};
      await poll();
    } catch (e) { toast(e.message, true); }
  }

  // ---- Documents -----------------------------------------------------------------
  function drawDocsChrome() {
    const sel = $('doc-collection');
    const names = state.collections.map((c) => c.name);
    if (changed('doc-select', [names, state.doc.col])) {
      sel.replaceChildren(...names.map((n) => el('option', { value: n, text: n, selected: n === state.doc.col })));
    }
    const c = collection(state.doc.col);
    $('new-doc').disabled = !c;
    const fields = c ? c.fields.filter((f) => f.kind !== 'JSON' && !isList(f)) : []; // where compares neither
    if (changed('filter-fields', [state.doc.col, fields])) {
      $('filter-field').replaceChildren(...fields.map((f) => el('option', { value: f.name, text: f.name })));
      $('filter-value').value = '';
      $('filter-clear').hidden = true;
    }
  }

  let docsSeq = 0;
  let flashIDs = new Set();
  async function loadDocs() {
    const d = state.doc;
    const c = collection(d.col);
    if (!c) { drawDocs(null, []); return; }
    const seq = ++docsSeq;
    let q = '?limit=' + PAGE;
    if (d.after) q += '&after=' + enc(d.after);
    if (d.whereText) q += '&where=' + enc(d.whereText);
    if (d.showDeleted) q += '&showDeleted=true';
    try {
      const page = await api('GET', '/collections/' + enc(c.name) + '/documents' + q);
      if (seq !== docsSeq) return;
      d.next = page.next || '';
      drawDocs(c, page.documents);
    } catch (e) {
      if (seq === docsSeq) { drawDocs(c, []); toast(e.message, true); }
    }
  }

  function cell(f, v) {
    if (v === null || v === undefined) return el('td', { class: isNum(f) ? 'null num' : 'null', text: '—' });
    const t = valueText(f, v);
    return el('td', { class: isNum(f) ? 'num' : '', title: t, text: t });
  }

  function drawDocs(c, docs) {
    const table = $('docs');
    const fields = c ? docFields(c) : [];
    table.tHead.replaceChildren(el('tr', {}, el('th', { text: 'Document ID' }),
      fields.map((f) => el('th', { class: isNum(f) ? 'num' : '', text: f.name }))));
    table.tBodies[0].replaceChildren(...docs.map((doc) => el('tr', {
      class: [flashIDs.has(doc._docID) ? 'flash' : '', doc._deleted ? 'deleted' : ''].join(' ').trim(),
      dataset: doc._deleted ? { id: doc._docID, deleted: '1' } : { id: doc._docID }, tabindex: '0',
      onclick: () => openDoc(c, doc), onkeydown: (e) => { if (e.key === 'Enter') openDoc(c, doc); },
    }, el('td', { class: 'id', title: doc._docID, text: short(doc._docID) }), fields.map((f) => cell(f, doc[f.name])))));
    flashIDs = new Set();
    const empty = $('docs-empty');
    empty.hidden = docs.length > 0;
    empty.textContent = !state.collections.length ? 'No collection yet: add one on the Collections view.'
      : !c ? 'This node has no collection ' + state.doc.col + '.'
      : state.doc.whereText ? 'No document matches the filter.' : 'No documents. Create one, or subscribe to the collection to receive them from peers.';
    $('docs').parentElement.hidden = docs.length === 0;
    const pageNo = state.doc.stack.length + 1;
    $('page-info').textContent = docs.length ? 'page ' + pageNo : '';
    $('page-prev').disabled = !state.doc.stack.length;
    $('page-next').disabled = !state.doc.next;
    $('page-prev').parentElement.hidden = !state.doc.stack.length && !state.doc.next;
  }

  let reloadTimer = 0;
  function reloadDocsSoon() {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(loadDocs, 120);
  }

  // listExample is a value of the list kind, as a hint.
  function listExample(kind) {
    const item = kind.slice(1, -1).replace(/!$/, '');
    return { String: '["a", "b"]', Boolean: '[true, false]', DateTime: '["2026-01-02T15:04:05Z"]', Float: '[1.5, 2]' }[item] || '[1, 2]';
  }

  // literal returns the JSON text of an input's value for a field of kind, or
  // throws with what is wrong. Numbers keep the digits typed.
  function literal(kind, input) {
    const t = input.trim();
    if (kind.startsWith('[')) {
      let v;
      try { v = JSON.parse(t); } catch (e) { v = null; }
      if (!Array.isArray(v)) throw new Error('want a JSON list, such as ' + listExample(kind));
      return t;
    }
    switch (kind) {
      case 'Int':
        if (!/^-?\d+$/.test(t)) throw new Error('want an integer');
        return t;
      case 'Float':
        if (!/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(t)) throw new Error('want a number');
        return t;
      case 'Boolean':
        if (t !== 'true' && t !== 'false') throw new Error('want true or false');
        return t;
      case 'JSON':
        try { JSON.parse(t); } catch (e) { throw new Error('want JSON: ' + e.message); }
        return t;
      default:
        return JSON.stringify(input);
    }
  }
  const shown = (f, v) => (v === null || v === undefined ? '' : valueText(f, v));

  let dialogDoc = null;
  function openDoc(c, doc) {
    dialogDoc = { c, doc };
    const gone = Boolean(doc && doc._deleted); // shown read-only, with its history
    $('doc-title').textContent = doc ? c.name + ' document' + (gone ? ' (deleted)' : '') : 'New ' + c.name;
    $('doc-id').textContent = doc ? doc._docID : '';
    $('doc-id').parentElement.hidden = !doc;
    $('doc-error').hidden = true;
    const del = $('doc-delete');
    del.hidden = !doc || gone;
    $('doc-save').hidden = gone;
    del.textContent = 'Delete';
    delete del.dataset.armed;
    $('doc-save').textContent = doc ? 'Save' : 'Create';
    const hist = $('doc-history-box');
    hist.hidden = !doc;
    hist.open = false;
    $('doc-history').replaceChildren();
    const box = $('doc-fields');
    box.replaceChildren();
    for (const f of docFields(c)) {
      const id = 'field-' + f.name;
      const v = doc ? doc[f.name] : null;
      let input;
      if (f.kind === 'Boolean') {
        input = el('select', { id, name: f.name }, el('option', { value: '', text: '—' }),
          el('option', { value: 'true', text: 'true' }), el('option', { value: 'false', text: 'false' }));
        input.value = shown(f, v);
      } else if (f.kind === 'JSON') {
        input = el('textarea', { id, name: f.name, rows: 3, spellcheck: 'false' });
        input.value = shown(f, v);
      } else {
        input = el('input', { id, name: f.name, autocomplete: 'off', spellcheck: 'false',
          inputmode: isNum(f) ? 'decimal' : null,
          placeholder: f.kind === 'DateTime' ? '2026-01-02T15:04:05Z' : f.counter && doc ? 'add…'
            : isList(f) ? listExample(f.kind) : '' });
        input.value = f.counter && doc ? '' : shown(f, v);
      }
      input.dataset.orig = f.counter && doc ? '' : input.value;
      input.disabled = gone;
      if (f.required && !doc) input.required = true;
      box.append(el('label', { for: id }, f.name, el('em', { text: f.kind + (f.required ? '!' : '') + (f.counter ? ' counter' : '') })), input);
      if (f.counter && doc && !gone) {
        box.append(el('span', { class: 'hint', text: v === null || v === undefined
          ? 'no value yet: a number entered here starts it' : 'now ' + shown(f, v) + ': a number entered here is added to it' }));
      }
    }
    const dlg = $('doc-dialog');
    if (!dlg.open) dlg.showModal();
    const first = box.querySelector('input, select, textarea');
    if (first) first.focus();
  }

  // loadHistory lists the open document's newest blocks, each one change to
  // it: who wrote it and what it changed.
  async function loadHistory() {
    const { c, doc } = dialogDoc;
    const list = $('doc-history');
    list.replaceChildren(el('li', { class: 'muted', text: 'loading…' }));
    try {
      const blocks = await api('GET', '/collections/' + enc(c.name) + '/documents/' + enc(doc._docID) + '/history?limit=' + HISTORY);
      if (dialogDoc.doc !== doc) return;
      list.replaceChildren(...blocks.map(historyItem));
      if (blocks.length === HISTORY) {
        list.append(el('li', { class: 'muted', text: 'older changes: gossipdb client collection history --name ' + c.name + ' ' + doc._docID }));
      }
    } catch (e) {
      list.replaceChildren(el('li', { class: 'error', text: e.message }));
    }
  }

  function historyItem(b) {
    const parts = [];
    const list = (v) => v.map(jsonText).join(', ');
    for (const [k, v] of Object.entries(b.set || {})) parts.push(k + (v === null ? ' cleared' : ' = ' + jsonText(v)));
    for (const [k, v] of Object.entries(b.add || {})) {
      const n = jsonText(v);
      parts.push(n.startsWith('-') ? k + ' - ' + n.slice(1) : k + ' + ' + n);
    }
    for (const [k, v] of Object.entries(b.setAdd || {})) parts.push(k + ' adds ' + list(v));
    for (const [k, v] of Object.entries(b.setRemove || {})) parts.push(k + ' removes ' + list(v));
    if (b.delete) parts.push('deleted');
    if (b.prev.length > 1) parts.push('merges ' + b.prev.length + ' concurrent changes');
    if (b.disowned) parts.push('cut off by the policy: does not count');
    return el('li', { dataset: { cid: b.cid, height: String(b.height) }, class: b.disowned ? 'disowned' : null, title: b.cid },
      el('b', { text: '#' + b.height }), ' ',
      el('span', { class: 'who', title: b.author, text: short(b.author) }), ' ',
      el('span', { class: 'what', text: parts.join('; ') || (b.prev.length ? 'no change' : 'created empty') }));
  }

  // docBody returns the JSON text to send: every filled field for a new
  // document; the changed ones for an edit (emptied ones become null, which
  // clears them).
  function docBody(c, doc) {
    const parts = [];
    for (const f of docFields(c)) {
      const input = $('field-' + f.name);
      if (doc && input.value === input.dataset.orig) continue;
      if (f.kind === 'String' ? input.value === '' : input.value.trim() === '') {
        if (doc && !f.counter) parts.push(JSON.stringify(f.name) + ':null');
        continue;
      }
      try { parts.push(JSON.stringify(f.name) + ':' + literal(f.kind, input.value)); }
      catch (e) { throw new Error(f.name + ': ' + e.message); }
    }
    return '{' + parts.join(',') + '}';
  }

  async function saveDoc(ev) {
    ev.preventDefault();
    const { c, doc } = dialogDoc;
    const err = $('doc-error');
    try {
      const body = docBody(c, doc);
      if (doc) {
        if (body !== '{}') await api('PATCH', '/collections/' + enc(c.name) + '/documents/' + enc(doc._docID), body);
        toast(body === '{}' ? 'Nothing changed' : 'Saved');
      } else {
        const r = await api('POST', '/collections/' + enc(c.name) + '/documents', body);
        flashIDs.add(r._docID);
        toast('Created ' + short(r._docID));
      }
      $('doc-dialog').close();
      loadDocs();
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
    }
  }

  async function deleteDoc() {
    const del = $('doc-delete');
    if (!del.dataset.armed) { del.dataset.armed = '1'; del.textContent = 'Really delete?'; return; }
    const { c, doc } = dialogDoc;
    try {
      await api('DELETE', '/collections/' + enc(c.name) + '/documents/' + enc(doc._docID));
      $('doc-dialog').close();
      toast('Deleted ' + short(doc._docID));
      loadDocs();
    } catch (e) {
      $('doc-error').textContent = e.message;
      $('doc-error').hidden = false;
    }
  }

  // ---- Live feed -----------------------------------------------------------------
  function feedItem(e, fresh) {
    if (e.kind === 'dropped') {
      return el('li', { class: 'dropped' + (fresh ? ' new' : '') }, el('span', { class: 'time', text: clock(e.at) }),
        el('span', { text: plural(e.dropped, 'change') + ' of ' + e.collection + ' not shown: this page read too slowly. The views were reloaded.' }));
    }
    if (e.kind === 'skipped') {
      return el('li', { class: 'skipped' + (fresh ? ' new' : '') }, el('span', { class: 'time', text: clock(e.at) }),
        el('span', { text: 'and ' + plural(e.skipped, 'more change') + ' of ' + e.collection + ' in the same write' }));
    }
    const who = e.peer
      ? el('span', { class: 'who remote', title: 'received from peer ' + e.peer }, 'from ', el('b', { text: short(e.peer) }))
      : el('span', { class: 'who local', title: 'made on this node', text: 'this node' });
    return el('li', { class: fresh ? 'new' : '', dataset: { doc: e.docID, type: e.type, peer: e.peer || '' } },
      el('span', { class: 'time', text: clock(e.at) }),
      el('span', { class: 'badge ' + e.type, text: e.type }),
      el('span', { class: 'col', text: e.collection }),
      el('a', { class: 'doc', href: '#/documents/' + enc(e.collection), title: e.docID, text: e.docID }),
      who);
  }

  function drawRecent() {
    const recent = state.feed.slice(0, 6);
    if (!changed('recent', recent.map((e) => e.at.getTime() + (e.block || e.kind)))) return;
    $('recent').replaceChildren(...recent.map((e) => feedItem(e, false)));
    if (!recent.length) $('recent').append(el('li', { class: 'muted', text: 'No changes since this page opened.' }));
  }

  function drawUnseen() {
    const b = $('feed-count');
    b.textContent = state.unseen > 99 ? '99+' : String(state.unseen);
    b.hidden = state.unseen === 0;
  }

  function onChange(e, kind) {
    e.at = new Date();
    e.kind = kind;
    state.feed.unshift(e);
    const list = $('feed');
    list.prepend(feedItem(e, true));
    if (state.feed.length > FEED_MAX) { state.feed.length = FEED_MAX; list.lastElementChild.remove(); }
    $('feed-empty').hidden = true;
    if (state.view !== 'feed') { state.unseen++; drawUnseen(); }
    if (state.view === 'overview') drawRecent();
    if (kind === 'dropped') { state.rendered = {}; pollLoop(); }
    if (state.view === 'documents' && e.collection === state.doc.col) {
      if (e.docID) flashIDs.add(e.docID);
      reloadDocsSoon();
    }
  }

  // ---- Event stream --------------------------------------------------------------
  // The stream is read with fetch, not EventSource, so that it can carry the
  // bearer token in a header like every other call.
  // setLive shows the stream's state s; why, if given, says what it means.
  function setLive(s, why) {
    const live = $('live');
    live.dataset.state = s;
    live.lastElementChild.textContent = s;
    if (why !== undefined) live.title = why;
  }

  let streamCtrl = null;
  let streamRestart = false;
  let identityStale = false; // the stream reconnected: the node's identity and addresses are read again
  function restartStream() {
    streamRestart = true;
    if (streamCtrl) streamCtrl.abort();
  }

  function frame(text) {
    let event = 'message';
    let data = '';
    for (const line of text.split('\n')) {
      if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data += line.slice(6);
    }
    if (!data) return;
    const d = JSON.parse(data);
    if (event === 'ready') {
      // A stream that names no collection follows those added later too;
      // a node of an older version lists those it follows.
      state.watched = d.all ? 'all' : d.collections;
      setLive('live', d.all ? 'Following the changes of every collection'
        : d.collections.length ? 'Following the changes of ' + d.collections.join(', ') : 'No collection to follow yet');
      // The node may have restarted, on other addresses, or another node
      // answers here now: what the page showed of the one before goes.
      if (identityStale || d.peerID !== state.me) {
        if (state.me && d.peerID !== state.me) {
          state.feed = [];
          $('feed').replaceChildren();
          $('feed-empty').hidden = false;
          state.unseen = 0;
          drawUnseen();
          state.rendered = {};
          drawAll();
        }
        identityStale = false;
        loadIdentity().catch(() => { identityStale = true; });
      }
    } else if (event === 'change' || event === 'skipped' || event === 'dropped') {
      onChange(d, event);
    }
  }

  async function streamLoop() {
    let wait = 1000;
    let first = true;
    let refused = '';
    let told = false; // that the node refused the stream, since it last opened one
    let silent = false; // the stream was given up for its silence
    let timer = 0;
    const heard = () => {
      clearTimeout(timer);
      const ctrl = streamCtrl;
      timer = setTimeout(() => { silent = true; ctrl.abort(); }, SILENCE_MS);
    };
    for (;;) {
      streamRestart = false;
      refused = '';
      silent = false;
      streamCtrl = new AbortController();
      heard();
      try {
        const res = await fetch(API + '/events', { headers: authHeaders(), signal: streamCtrl.signal, cache: 'no-store' });
        if (res.status === 401) { await askToken(); continue; }
        if (!res.ok) {
          // The node answers but opens no stream for now (503: all its
          // event streams are taken): say so, rather than that it is offline.
          let msg = res.statusText;
          try { msg = JSON.parse(await res.text()).error || msg; } catch (e) { /* not JSON: keep the status */ }
          refused = 'The node refused the live changes (' + res.status + '): ' + msg + '. Retrying.';
          throw new Error(refused);
        }
        if (!first) { identityStale = true; state.rendered = {}; pollLoop(); if (state.view === 'documents') loadDocs(); }
        first = false;
        told = false;
        wait = 1000;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          heard();
          buf += value;
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) { frame(buf.slice(0, i)); buf = buf.slice(i + 2); }
        }
      } catch (e) { /* ended or aborted: reconnect below */ }
      clearTimeout(timer);
      if (streamRestart) continue;
      if (refused) {
        setLive('refused', refused);
        if (!told) toast(refused, true);
        told = true;
      }
      else if (silent) setLive('offline', 'The node sent nothing for ' + SILENCE_MS / 1000 + ' s: it stopped answering. Reconnecting.');
      else setLive('offline', 'The live changes stopped. Reconnecting.');
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(wait * 2, 15000);
      setLive('connecting');
    }
  }

  // ---- Wiring --------------------------------------------------------------------
  function wire() {
    window.addEventListener('hashchange', route);
    document.addEventListener('visibilitychange', () => { if (!document.hidden) pollLoop(); });
    $('connect-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const btn = ev.submitter;
      btn.disabled = true;
      try {
        await api('POST', '/p2p/peers', jsonText({ addr: $('connect-addr').value.trim() }));
        $('connect-addr').value = '';
        toast('Connected');
        await poll();
      } catch (e) { toast(e.message, true); } finally { btn.disabled = false; }
    });
    $('doc-collection').addEventListener('change', (ev) => { location.hash = '#/documents/' + enc(ev.target.value); });
    $('new-doc').addEventListener('click', () => openDoc(collection(state.doc.col), null));
    $('doc-form').addEventListener('submit', saveDoc);
    $('doc-cancel').addEventListener('click', () => $('doc-dialog').close());
    $('doc-delete').addEventListener('click', deleteDoc);
    $('doc-history-box').addEventListener('toggle', () => { if ($('doc-history-box').open) loadHistory(); });
    $('filter-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const c = collection(state.doc.col);
      const f = c && c.fields.find((x) => x.name === $('filter-field').value);
      if (!f) return;
      const value = $('filter-value').value;
      try {
        state.doc.whereText = value.trim() === '' ? '' : '{' + JSON.stringify(f.name) + ':' + literal(f.kind, value) + '}';
      } catch (e) { toast(f.name + ': ' + e.message, true); return; }
      state.doc.after = '';
      state.doc.stack = [];
      $('filter-clear').hidden = !state.doc.whereText;
      loadDocs();
    });
    $('show-deleted').addEventListener('change', (ev) => {
      Object.assign(state.doc, { showDeleted: ev.target.checked, after: '', stack: [] });
      loadDocs();
    });
    $('filter-clear').addEventListener('click', () => {
      $('filter-value').value = '';
      $('filter-clear').hidden = true;
      Object.assign(state.doc, { whereText: '', after: '', stack: [] });
      loadDocs();
    });
    $('page-next').addEventListener('click', () => {
      if (!state.doc.next) return;
      state.doc.stack.push(state.doc.after);
      state.doc.after = state.doc.next;
      state.doc.next = ''; // known again once this page has loaded: a second click must wait for it
      $('page-next').disabled = true;
      loadDocs();
    });
    $('page-prev').addEventListener('click', () => {
      if (!state.doc.stack.length) return;
      state.doc.after = state.doc.stack.pop();
      loadDocs();
    });
    $('add-collection').addEventListener('click', () => { $('sdl-error').hidden = true; $('sdl-dialog').showModal(); });
    $('sdl-cancel').addEventListener('click', () => $('sdl-dialog').close());
    $('sdl-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        const cols = await api('POST', '/collections', jsonText({ sdl: $('sdl').value }));
        $('sdl-dialog').close();
        $('sdl').value = '';
        toast('Added ' + cols.map((c) => c.name).join(', '));
        state.rendered = {};
        await poll();
      } catch (e) { $('sdl-error').textContent = e.message; $('sdl-error').hidden = false; }
    });
  }

  async function start() {
    wire();
    try {
      await loadIdentity();
      await poll();
    } catch (e) {
      toast('Cannot reach the node: ' + e.message, true);
    }
    route();
    document.body.dataset.ready = '1';
    pollTimer = setTimeout(pollLoop, POLL_MS);
    streamLoop();
  }
  start();
})();
