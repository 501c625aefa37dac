/**
 * The live page: static HTML, one script (/app.js) and one stylesheet
 * (/app.css), no framework and no build step. Nothing of a record is ever put
 * into markup: the script builds rows with textContent only, and the CSP
 * allows no inline script or style. The rows come from /v1/services (so the
 * page says "Loading…", never "No running instances", until it knows) and
 * then follow /v1/events (EventSource); ages tick in the browser. Below 1200 px
 * each instance is a card instead of a table row, so nothing scrolls sideways.
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>marcus-registry</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header>
  <h1>marcus-registry</h1>
  <span id="store" class="muted"></span>
  <span id="count" class="pill">…</span>
  <span id="state" class="state connecting">connecting…</span>
</header>
<main>
  <table id="instances">
    <thead>
      <tr>
        <th>Instance</th><th>Project</th><th>Provider</th><th>Status</th><th>Health</th>
        <th class="num">PID</th><th>Host</th><th class="num">Up</th><th class="num">Last beat</th><th>MCP</th><th>Capabilities</th><th>Connect</th>
      </tr>
    </thead>
    <tbody id="rows"></tbody>
  </table>
  <p id="loading">Loading instances…</p>
  <p id="empty" hidden>No running instances.</p>
</main>
<footer class="muted">
  Live from <a href="/v1/events">/v1/events</a> · <a href="/v1/services">/v1/services</a> · <a href="/metrics">/metrics</a> · <a href="/healthz">/healthz</a>
</footer>
</body>
</html>
`;

export const APP_CSS = `:root {
  color-scheme: light dark;
  --fg: #1f2328; --muted: #656d76; --bg: #ffffff; --line: #d0d7de; --head: #f6f8fa;
  --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --accent: #0969da;
}
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --muted: #8d96a0; --bg: #0d1117; --line: #30363d; --head: #161b22; --ok: #3fb950; --warn: #d29922; --bad: #f85149; --accent: #4493f8; }
}
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: baseline; gap: 16px; margin-bottom: 16px; flex-wrap: wrap; }
h1 { font-size: 20px; margin: 0; }
.muted { color: var(--muted); }
.pill { border: 1px solid var(--line); border-radius: 999px; padding: 1px 10px; }
.state::before { content: "●"; margin-right: 6px; }
.state.live { color: var(--ok); }
.state.connecting { color: var(--warn); }
.state.down { color: var(--bad); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 8px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
thead th { background: var(--head); font-weight: 600; position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.id, td.cmd code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
td.project { max-width: 28ch; overflow: hidden; text-overflow: ellipsis; }
.health { font-weight: 600; }
.health.healthy { color: var(--ok); }
.health.unresponsive { color: var(--warn); }
td.cmd .connect { display: flex; align-items: center; gap: 8px; }
td.cmd code { background: var(--head); border: 1px solid var(--line); border-radius: 4px; padding: 1px 6px; }
button.copy { font: inherit; font-size: 12px; padding: 2px 10px; border: 1px solid var(--line); border-radius: 6px; background: var(--head); color: var(--fg); cursor: pointer; }
button.copy:hover { border-color: var(--accent); }
#empty, #loading { color: var(--muted); padding: 12px 10px; }
#empty[hidden], #loading[hidden] { display: none; }
.why { display: block; font-weight: 400; font-size: 12px; color: var(--muted); white-space: normal; max-width: 30ch; }
td.mcp, td.caps { white-space: normal; overflow-wrap: anywhere; max-width: 32ch; font-size: 13px; }
td.cmd { white-space: normal; }
td.cmd code { white-space: normal; overflow-wrap: anywhere; }
td.mcp .transport { display: inline-block; margin-left: 6px; font-size: 12px; color: var(--muted); }
.tag { display: inline-block; border: 1px solid var(--line); border-radius: 999px; padding: 0 8px; margin: 1px 4px 1px 0; font-size: 12px; }
@media (max-width: 1200px) {
  body { padding: 16px; }
  table, tbody, tr, td { display: block; width: 100%; }
  thead { display: none; }
  tr { border: 1px solid var(--line); border-radius: 8px; margin-bottom: 12px; padding: 8px 12px; }
  td { border: 0; padding: 3px 0 3px 9em; position: relative; white-space: normal; overflow-wrap: anywhere; max-width: none; text-align: left; }
  td.num { text-align: left; }
  td::before { content: attr(data-label); position: absolute; left: 0; width: 8.5em; color: var(--muted); font-weight: 400; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 13px; }
  td.project { max-width: none; }
  td.cmd .connect { flex-wrap: wrap; min-width: 0; }
  td.cmd code { overflow-wrap: anywhere; white-space: normal; min-width: 0; }
  .why { max-width: none; }
}
footer { margin-top: 24px; font-size: 12px; }
footer a { color: var(--accent); }
`;

export const APP_JS = `'use strict';
(function () {
  var rows = document.getElementById('rows');
  var empty = document.getElementById('empty');
  var loading = document.getElementById('loading');
  var count = document.getElementById('count');
  var state = document.getElementById('state');
  var LABELS = ['Instance', 'Project', 'Provider', 'Status', 'Health', 'PID', 'Host', 'Up', 'Last beat', 'MCP', 'Capabilities', 'Connect'];
  /** id -> { view: {record, health, reason?, detail?}, tr } */
  var entries = new Map();
  /** False until the first snapshot of /v1/services is shown: "Loading…", never a false "No running instances". */
  var loaded = false;
  /** While a snapshot is fetched after a (re)connect: ids the stream added or removed meanwhile win over it. */
  var resync = null;

  function age(timestamp) {
    var at = Date.parse(timestamp);
    if (isNaN(at)) return '?';
    var s = Math.round((Date.now() - at) / 1000);
    if (s < 0) return '0s';
    if (s < 120) return s + 's';
    if (s < 7200) return Math.round(s / 60) + 'm';
    if (s < 172800) return Math.round(s / 3600) + 'h';
    return Math.round(s / 86400) + 'd';
  }

  function cell(tr, className, text) {
    var td = document.createElement('td');
    if (className) td.className = className;
    td.dataset.label = LABELS[tr.children.length] || '';
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }

  function span(className, text) {
    var el = document.createElement('span');
    el.className = className;
    el.textContent = text;
    return el;
  }

  function connectCommand(record) {
    return 'marcus-registry connect --instance ' + record.instance_id;
  }

  function copy(text, button) {
    function done(ok) {
      button.textContent = ok ? 'Copied' : 'Copy failed';
      setTimeout(function () { button.textContent = 'Copy'; }, 1500);
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(false); });
    } else {
      done(false);
    }
  }

  function row(view) {
    var record = view.record;
    var health = view.health;
    var tr = document.createElement('tr');
    tr.dataset.instanceId = record.instance_id;
    cell(tr, 'id', record.instance_id);
    cell(tr, 'project', record.project_name == null ? '–' : String(record.project_name)).title = record.project_name == null ? '' : String(record.project_name);
    cell(tr, 'provider', record.provider == null ? '–' : String(record.provider));
    cell(tr, 'status', typeof record.status === 'string' ? record.status : '–');
    var h = cell(tr, 'health ' + (health === 'healthy' ? 'healthy' : 'unresponsive'), '');
    h.appendChild(span('word', String(health)));
    if (health !== 'healthy' && (view.reason || view.detail)) {
      var why = span('why', (view.reason ? view.reason : '') + (view.detail ? ': ' + view.detail : ''));
      h.appendChild(why);
      h.title = why.textContent;
    }
    cell(tr, 'num pid', String(record.pid));
    cell(tr, 'host', record.hostname == null ? '–' : String(record.hostname));
    cell(tr, 'num up', age(record.started_at)).dataset.since = record.started_at;
    cell(tr, 'num beat', age(record.last_heartbeat)).dataset.since = record.last_heartbeat;
    var mcp = cell(tr, 'mcp', '');
    if (typeof record.mcp_url === 'string') {
      mcp.appendChild(span('url', record.mcp_url));
      mcp.appendChild(span('transport', record.transport === 'sse' ? 'sse' : 'streamable-http'));
    } else {
      mcp.appendChild(span('url', 'stdio'));
      mcp.appendChild(span('transport', 'started by connect'));
    }
    var caps = cell(tr, 'caps', '');
    var list = Array.isArray(record.capabilities) ? record.capabilities : [];
    if (list.length === 0) caps.textContent = '–';
    for (var i = 0; i < list.length; i++) caps.appendChild(span('tag', String(list[i])));
    var td = cell(tr, 'cmd', '');
    var code = document.createElement('code');
    code.textContent = connectCommand(record);
    var button = document.createElement('button');
    button.type = 'button';
    button.className = 'copy';
    button.textContent = 'Copy';
    button.title = 'Copy the command that connects an MCP client to this instance';
    button.addEventListener('click', function () { copy(code.textContent, button); });
    var wrap = document.createElement('div');
    wrap.className = 'connect';
    wrap.appendChild(code);
    wrap.appendChild(button);
    td.appendChild(wrap);
    return tr;
  }

  function startedAt(record) {
    var at = Date.parse(record.started_at);
    return isNaN(at) ? 0 : at;
  }

  function upsert(view) {
    var id = view.record.instance_id;
    var old = entries.get(id);
    // A stream event says healthy or unresponsive, not why: keep the reason we know while the health stands.
    if (old && view.reason === undefined && old.view.health === view.health) {
      view = { record: view.record, health: view.health, reason: old.view.reason, detail: old.view.detail };
    }
    var tr = row(view);
    entries.set(id, { view: view, tr: tr });
    if (old) {
      rows.replaceChild(tr, old.tr);
    } else {
      var before = null;
      entries.forEach(function (other, otherId) {
        if (otherId === id || before) return;
        var a = startedAt(other.view.record), b = startedAt(view.record);
        if (a > b || (a === b && otherId > id)) before = other.tr;
      });
      rows.insertBefore(tr, before);
    }
    if (view.health !== 'healthy' && view.reason === undefined) explain(id);
    changed();
  }

  /** Why an instance is unresponsive: the stream does not say, its entry does. */
  function explain(id) {
    fetch('/v1/services/id/' + encodeURIComponent(id), { headers: { accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (view) {
        var now = entries.get(id);
        if (!view || !now || view.health !== now.view.health || view.health === 'healthy' || view.health === 'stale') return;
        upsert({ record: now.view.record, health: now.view.health, reason: view.reason || '', detail: view.detail });
      })
      .catch(function () {});
  }

  function remove(id) {
    var old = entries.get(id);
    if (!old) return;
    entries.delete(id);
    old.tr.remove();
    changed();
  }

  function changed() {
    var n = entries.size;
    count.textContent = loaded ? n + (n === 1 ? ' instance' : ' instances') : '…';
    loading.hidden = loaded;
    empty.hidden = !loaded || n > 0;
  }

  function tick() {
    var cells = rows.querySelectorAll('td[data-since]');
    for (var i = 0; i < cells.length; i++) cells[i].textContent = age(cells[i].dataset.since);
  }

  function setState(name, text) {
    state.className = 'state ' + name;
    state.textContent = text;
  }

  /** The current state from /v1/services, reconciled with what the stream said since the fetch began. */
  function snapshot() {
    var mine = { added: new Set(), removed: new Set() };
    resync = mine;
    fetch('/v1/services', { headers: { accept: 'application/json' } })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (body) {
        if (resync !== mine) return;
        resync = null;
        var listed = new Set();
        (body.services || []).forEach(function (view) {
          var id = view.record.instance_id;
          listed.add(id);
          if (!mine.removed.has(id) && !mine.added.has(id)) upsert(view);
        });
        entries.forEach(function (_, id) { if (!listed.has(id) && !mine.added.has(id)) remove(id); });
        loaded = true;
        changed();
      })
      .catch(function () {
        if (resync === mine) resync = null;
        setState('down', 'cannot read /v1/services');
      });
  }

  fetch('/healthz', { headers: { accept: 'application/json' } })
    .then(function (r) { return r.json(); })
    .then(function (h) { document.getElementById('store').textContent = h.store + ' · ' + h.location; })
    .catch(function () {});

  var source = new EventSource('/v1/events');
  source.addEventListener('open', function () {
    // A (re)connected stream re-sends the whole state; the snapshot drops what went meanwhile.
    setState('live', 'live');
    snapshot();
  });
  function handle(event) {
    var data = JSON.parse(event.data);
    var id = data.record.instance_id;
    if (data.type === 'removed') {
      if (resync) { resync.removed.add(id); resync.added.delete(id); }
      remove(id);
    } else {
      if (resync) { resync.added.add(id); resync.removed.delete(id); }
      upsert({ record: data.record, health: data.health });
    }
  }
  source.addEventListener('added', handle);
  source.addEventListener('updated', handle);
  source.addEventListener('removed', handle);
  source.addEventListener('failure', function (event) {
    var body = JSON.parse(event.data);
    setState('down', 'store unavailable: ' + (body.error && body.error.code));
  });
  source.addEventListener('error', function () {
    setState(source.readyState === EventSource.CLOSED ? 'down' : 'connecting', source.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting…');
  });
  setInterval(tick, 1000);
  changed();
})();
`;
