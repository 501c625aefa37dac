// The figures issues 8 and 17 ask for, and the ratios they are stated in.

const find = (figures, group, store, n) => figures.find((f) => f.group === group && (store === undefined || f.store === store) && (n === undefined || f.n === n));

/** Store figure ÷ baseline figure, measured in the same run, for every size both exist at. */
export function ratios(figures) {
  const out = [];
  for (const f of figures) {
    if (f.store === 'json' && f.group === 'discover') {
      const base = find(figures, 'raw-read', 'json', f.n);
      if (base) out.push({ name: `json discover / raw read loop, N=${f.n}`, key: `json-discover-${f.n}`, median: f.median / base.median, p99: f.p99 / base.p99 });
    }
    if (f.store === 'json' && f.group === 'heartbeat') {
      const base = find(figures, 'raw-write', 'json', f.n);
      if (base) out.push({ name: `json heartbeat / raw write-file-atomic, N=${f.n}`, key: `json-heartbeat-${f.n}`, median: f.median / base.median, p99: f.p99 / base.p99 });
    }
  }
  const list = find(figures, 'cli-list');
  const floor = find(figures, 'node-floor');
  if (list && floor) out.push({ name: 'cli list / node -e 0', key: 'cli-list', median: list.median / floor.median, p99: list.p99 / floor.p99 });

  // Issue 17: whole processes (bench/startup.mjs), the read path (bench/read-path.mjs).
  const pair = (key, name, f, base) => f && base && out.push({ name, key, median: f.median / base.median, p99: f.p99 / base.p99 });
  const procFloor = find(figures, 'proc-node-floor');
  pair('proc-import', "import 'marcus-registry' / node -e 0", find(figures, 'proc-lib-import'), procFloor);
  pair('proc-registrant', 'registrant process / node -e 0', find(figures, 'proc-registrant'), procFloor);
  for (const f of figures.filter((x) => x.group === 'proc-cli-list')) {
    pair(`proc-list-${f.n}`, `cli list --json N=${f.n} / node -e 0`, f, procFloor);
    pair(`proc-list-python-${f.n}`, `cli list --json / python discover (whole processes), N=${f.n}`, f, find(figures, 'proc-python-discover', undefined, f.n));
  }
  for (const f of figures.filter((x) => x.group === 'discover-fresh' || x.group === 'discover-settled')) {
    const floorOf = find(figures, 'c-loop', 'json', f.n) ?? find(figures, 'sync-read', 'json', f.n);
    const what = floorOf?.group === 'c-loop' ? 'C read loop' : 'sync Node read loop';
    pair(`${f.group}-${f.n}`, `json discover ${f.group === 'discover-fresh' ? 'nothing cached' : 'settled'} / ${what}, N=${f.n}`, f, floorOf);
    const py = find(figures, 'python-discover-inproc', 'json', f.n);
    if (f.group === 'discover-fresh') pair(`discover-fresh-python-${f.n}`, `json discover nothing cached / python discover_services() in-process, N=${f.n}`, f, py);
  }
  return out;
}

export function evaluateTargets(figures, computed) {
  const targets = [];
  const ratio = (key, name, goal) => {
    const r = computed.find((c) => c.key === key);
    if (r) targets.push({ name, goal: `≤ ${goal}×`, measured: `${r.median.toFixed(2)}×`, value: r.median, limit: goal, met: r.median <= goal });
  };
  const absolute = (store, n, name, goal) => {
    const f = find(figures, 'discover', store, n);
    if (f) targets.push({ name, goal: `≤ ${goal} ms`, measured: `${f.median.toFixed(2)} ms`, value: f.median, limit: goal, met: f.median <= goal });
  };
  ratio('json-discover-1000', 'json discover N=1000 vs raw read loop', 2);
  ratio('json-heartbeat-1000', 'json heartbeat vs raw write-file-atomic (N=1000)', 2);
  absolute('sqlite', 10000, 'sqlite discover N=10000', 15);
  absolute('etcd', 1000, 'etcd discover N=1000 (loopback)', 20);
  ratio('cli-list', 'cli list (empty) vs node -e 0', 2.5);

  // Issue 17.
  ratio('proc-import', "import 'marcus-registry' vs node -e 0 (whole process)", 1.3);
  ratio('proc-registrant', 'registrant process (import, createRegistry, register, exit) vs node -e 0', 1.6);
  ratio('proc-list-0', 'cli list --json, 0 entries, vs node -e 0', 1.4);
  ratio('proc-list-10', 'cli list --json, 10 entries, vs node -e 0', 1.4);
  const faster = computed.find((c) => c.key === 'proc-list-python-1000');
  if (faster) targets.push({ name: 'cli list --json vs the Python registry, 1000 entries (whole processes)', goal: '< 1×', measured: `${faster.median.toFixed(2)}×`, value: faster.median, limit: 1, met: faster.median < 1 });
  ratio('discover-fresh-1000', 'discover of 1000 entries not cached vs the C read loop', 2.5);
  ratio('discover-settled-1000', 'discover of 1000 settled entries vs the C read loop', 1.0);
  const lag = find(figures, 'discover-lag', 'json', 1000);
  if (lag) targets.push({ name: 'event loop held during discover of 1000 (longest stretch, all runs)', goal: '≤ 20 ms', measured: `${lag.max.toFixed(1)} ms (median run ${lag.median.toFixed(1)} ms)`, value: lag.max, limit: 20, met: lag.max <= 20 });
  const extra = (via, direct, name) => {
    const v = find(figures, via);
    const d = find(figures, direct);
    if (v && d) targets.push({ name, goal: '≤ +100 ms', measured: `+${(v.median - d.median).toFixed(1)} ms (${v.median.toFixed(1)} vs ${d.median.toFixed(1)})`, value: v.median - d.median, limit: 100, met: v.median - d.median <= 100 });
  };
  extra('connect-stdio-via', 'connect-stdio-direct', 'connect, stdio server: spawn to initialize response, over direct');
  extra('connect-http-via', 'connect-http-direct', 'connect, Streamable HTTP server: spawn to initialize response, over direct');
  return targets;
}
