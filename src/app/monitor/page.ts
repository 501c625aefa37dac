/**
 * The live page: static HTML, one script (/app.js) and one stylesheet
 * (/app.css), no framework and no build step. Nothing of a record is ever put
 * into markup: the script builds rows with textContent only, and the CSP
 * allows no inline script or style. The rows follow /v1/events (EventSource);
 * ages tick in the browser.
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
  <span id="count" class="pill">0 instances</span>
  <span id="state" class="state connecting">connecting…</span>
</header>
<main>
  <table id="instances">
    <thead>
      <tr>
        <th>Instance</th><th>Project</th><th>Provider</th><th>Status</th><th>Health</th>
        <th class="num">PID</th><th>Host</th><th class="num">Up</th><th class="num">Last beat</th><th>Connect</th>
      </tr>
    </thead>
    <tbody id="rows"></tbody>
  </table>
  <p id="empty">No running instances.</p>
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
th, td { text-align: left; padding: 8px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; }
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
#empty { color: var(--muted); padding: 12px 10px; }
#empty[hidden] { display: none; }
footer { margin-top: 24px; font-size: 12px; }
footer a { color: var(--accent); }
`;

export const APP_JS = `'use strict';
(function () {
  var rows = document.getElementById('rows');
  var empty = document.getElementById('empty');
  var count = document.getElementById('count');
  var state = document.getElementById('state');
  var entries = new Map();

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
    td.textContent = text;
    tr.appendChild(td);
    return td;
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

  function row(record, health) {
    var tr = document.createElement('tr');
    tr.dataset.instanceId = record.instance_id;
    cell(tr, 'id', record.instance_id);
    cell(tr, 'project', record.project_name == null ? '–' : String(record.project_name)).title = record.project_name == null ? '' : String(record.project_name);
    cell(tr, 'provider', record.provider == null ? '–' : String(record.provider));
    cell(tr, 'status', typeof record.status === 'string' ? record.status : '–');
    cell(tr, 'health ' + (health === 'healthy' ? 'healthy' : 'unresponsive'), String(health));
    cell(tr, 'num pid', String(record.pid));
    cell(tr, 'host', record.hostname == null ? '–' : String(record.hostname));
    cell(tr, 'num up', age(record.started_at)).dataset.since = record.started_at;
    cell(tr, 'num beat', age(record.last_heartbeat)).dataset.since = record.last_heartbeat;
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

  function upsert(record, health) {
    var id = record.instance_id;
    var old = entries.get(id);
    var tr = row(record, health);
    entries.set(id, { record: record, tr: tr });
    if (old) {
      rows.replaceChild(tr, old.tr);
    } else {
      var before = null;
      entries.forEach(function (other, otherId) {
        if (otherId === id || before) return;
        var a = startedAt(other.record), b = startedAt(record);
        if (a > b || (a === b && otherId > id)) before = other.tr;
      });
      rows.insertBefore(tr, before);
    }
    changed();
  }

  function remove(record) {
    var old = entries.get(record.instance_id);
    if (!old) return;
    entries.delete(record.instance_id);
    old.tr.remove();
    changed();
  }

  function clear() {
    entries.forEach(function (e) { e.tr.remove(); });
    entries.clear();
    changed();
  }

  function changed() {
    var n = entries.size;
    count.textContent = n + (n === 1 ? ' instance' : ' instances');
    empty.hidden = n > 0;
  }

  function tick() {
    var cells = rows.querySelectorAll('td[data-since]');
    for (var i = 0; i < cells.length; i++) cells[i].textContent = age(cells[i].dataset.since);
  }

  function setState(name, text) {
    state.className = 'state ' + name;
    state.textContent = text;
  }

  fetch('/healthz', { headers: { accept: 'application/json' } })
    .then(function (r) { return r.json(); })
    .then(function (h) { document.getElementById('store').textContent = h.store + ' · ' + h.location; })
    .catch(function () {});

  var source = new EventSource('/v1/events');
  source.addEventListener('open', function () {
    // A (re)connected stream starts with the whole current state.
    clear();
    setState('live', 'live');
  });
  function handle(event) {
    var data = JSON.parse(event.data);
    if (data.type === 'removed') remove(data.record);
    else upsert(data.record, data.health);
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
