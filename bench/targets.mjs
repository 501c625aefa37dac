// The figures issue 8 asks for, and the ratios they are stated in.

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
  return targets;
}
