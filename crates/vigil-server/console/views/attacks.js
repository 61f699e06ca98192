// The attack analysis: failed logins and automatic blocks per day (a bar chart), totals, the
// hosts attacked and the top sources, each with a link that fills in the IP policy form.

import { h, aside, dash, loading, panel, setTitle, setView, svg } from '../lib/dom.js';
import { enc, fmtNum, ipTargetText, plural, utcDay } from '../lib/format.js';
import { get, getOr } from '../lib/api.js';
import { autoRefresh, hashWith } from '../lib/router.js';
import { fillHostSelect, refreshButton } from '../lib/form.js';
import { dataTable } from '../lib/table.js';
import { reportTo } from '../lib/errors.js';

/** The ranges the attack analysis offers, in days. */
const ATTACK_RANGES = [7, 30, 90];
const DEFAULT_ATTACK_DAYS = 30;

/** A round axis top and step for values up to `max`: at most 5 steps of 1, 2 or 5 × 10ⁿ. */
function axisScale(max) {
  if (max <= 5) return { top: Math.max(max, 1), step: 1 };
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  return { top: Math.ceil(max / step) * step, step };
}

/**
 * The per-day bar chart: failed logins as bars on a labelled axis, days with automatic blocks
 * marked above their bar, a tooltip (SVG title) on every day.
 */
function attackChart(series) {
  const W = 960;
  const H = 250;
  const M = { left: 52, right: 14, top: 26, bottom: 38 };
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const n = series.length;
  const slot = pw / n;
  const barW = Math.max(2, Math.min(36, slot * 0.72));
  const max = Math.max(0, ...series.map((d) => d.failures));
  const { top, step } = axisScale(max);
  const y = (v) => M.top + ph - (v / top) * ph;
  const x = (i) => M.left + i * slot + slot / 2;
  const labelEvery = Math.ceil(n / 12);
  const totalFailures = series.reduce((s, d) => s + d.failures, 0);
  const totalBlocks = series.reduce((s, d) => s + d.blocks, 0);

  const grid = [];
  for (let v = 0; v <= top; v += step) {
    grid.push(svg('line', { class: v === 0 ? 'ax-base' : 'ax-grid', x1: M.left, x2: W - M.right, y1: y(v), y2: y(v) }));
    grid.push(svg('text', { class: 'ax-label', x: M.left - 6, y: y(v) + 4, 'text-anchor': 'end', 'data-testid': 'attack-y-label' }, fmtNum(v)));
  }
  const days = series.map((d, i) => {
    const h0 = d.failures ? Math.max(1.5, y(0) - y(d.failures)) : 0;
    const tip = `${utcDay(d.day)} (UTC): ${plural(d.failures, 'failed login')}, ${plural(d.sources, 'source')}, ${plural(d.blocks, 'automatic block')}${d.today ? ' (today so far)' : ''}`;
    const showLabel = (n - 1 - i) % labelEvery === 0;
    return svg('g', {
      class: `day${d.today ? ' today' : ''}${d.failures ? '' : ' zero'}`,
      'data-testid': 'attack-day', 'data-day': d.day, 'data-failures': d.failures, 'data-sources': d.sources, 'data-blocks': d.blocks,
    },
    svg('title', null, tip),
    // The whole column answers the pointer, so small bars are easy to hover.
    svg('rect', { class: 'hit', x: M.left + i * slot, y: M.top, width: slot, height: ph }),
    svg('rect', { class: 'bar', 'data-testid': 'attack-bar', x: x(i) - barW / 2, y: y(0) - h0, width: barW, height: h0 }),
    d.blocks ? svg('g', { class: 'block-mark', 'data-testid': 'attack-block-mark' },
      svg('path', { d: `M${x(i)} ${y(0) - h0 - 4} l-4.5 -7 h9 z` }),
      slot >= 16 ? svg('text', { x: x(i), y: y(0) - h0 - 13, 'text-anchor': 'middle' }, fmtNum(d.blocks)) : null) : null,
    showLabel ? svg('line', { class: 'ax-tick', x1: x(i), x2: x(i), y1: y(0), y2: y(0) + 4 }) : null,
    showLabel ? svg('text', { class: 'ax-label', x: x(i), y: y(0) + 17, 'text-anchor': 'middle', 'data-testid': 'attack-x-label' }, utcDay(d.day).slice(5)) : null);
  });
  return svg('svg', {
    class: 'attack-chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'data-testid': 'attack-svg',
    'aria-label': `Failed logins per day: ${plural(totalFailures, 'failed login')} and ${plural(totalBlocks, 'automatic block')} over ${n} days`,
  },
  grid,
  svg('text', { class: 'ax-title', x: 14, y: M.top + ph / 2, 'text-anchor': 'middle', transform: `rotate(-90 14 ${M.top + ph / 2})` }, 'Failed logins'),
  svg('text', { class: 'ax-title', x: M.left + pw / 2, y: H - 4, 'text-anchor': 'middle' }, 'Day (UTC)'),
  days);
}

/** The API's rows summed per day and per host; every day of the range, the quiet ones too. */
function tally(data, days) {
  const zero = () => ({ failures: 0, sources: 0, blocks: 0 });
  const add = (into, r) => {
    into.failures += r.failures || 0;
    into.sources += r.sources || 0;
    into.blocks += r.blocks || 0;
  };
  const perDay = new Map();
  const perHost = new Map();
  for (const r of data.days || []) {
    const d = perDay.get(r.day) || zero();
    add(d, r);
    perDay.set(r.day, d);
    const x = perHost.get(r.host_id) || { host_id: r.host_id, ...zero(), attack_days: 0, last: 0 };
    add(x, r);
    if (r.failures) {
      x.attack_days += 1;
      x.last = Math.max(x.last, r.day);
    }
    perHost.set(r.host_id, x);
  }
  const today = Math.floor(Date.now() / 86400000) * 86400;
  const series = [];
  for (let i = 0; i < days; i += 1) {
    const day = data.since + i * 86400;
    series.push({ day, today: day === today, ...(perDay.get(day) || zero()) });
  }
  return { series, hosts: [...perHost.values()] };
}

const stat = (label, value, cls, testid, extra) => h('div', { class: `stat s-${cls}`, 'data-testid': testid },
  h('span', { class: 'stat-value' }, fmtNum(value)), h('span', { class: 'stat-label' }, label, extra || null));

export async function viewAttacks(ctx) {
  setTitle('Attack analysis');
  const daysParam = Number(ctx.params.get('days'));
  const days = ATTACK_RANGES.includes(daysParam) ? daysParam : DEFAULT_ATTACK_DAYS;
  const hostF = ctx.params.get('host') || '';
  let hosts = [];
  let data = null;
  let activeRules = [];
  const hostName = (id) => (hosts.find((x) => x.id === id) || {}).hostname || id;
  /** The days parameter as the URL carries it: the default stays out. */
  const daysArg = (d) => (Number(d) === DEFAULT_ATTACK_DAYS ? '' : d);

  const hostSel = h('select', { id: 'attacks-host', 'data-testid': 'attacks-host', 'aria-label': 'Host' },
    h('option', { value: '' }, 'All hosts'));
  hostSel.addEventListener('change', () => {
    location.hash = hashWith('/attacks', { days: daysArg(days), host: hostSel.value });
  });
  const seg = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Range' },
    ATTACK_RANGES.map((d) => h('a', {
      class: `seg${d === days ? ' active' : ''}`,
      href: hashWith('/attacks', { host: hostF, days: daysArg(d) }),
      'data-testid': `attacks-range-${d}`,
    }, `${d} days`)));
  const toolbar = h('div', { class: 'attack-tools' },
    h('label', { class: 'inline' }, 'Host', hostSel), seg,
    h('span', { class: 'spacer' }),
    h('a', { href: '#/login-settings', 'data-testid': 'attacks-settings-link' }, 'Login security settings →'),
    refreshButton(ctx, 'attacks-refresh', 'Loading the attack analysis', () => load()));

  const stats = h('div', { class: 'stat-row', 'data-testid': 'attacks-totals' });
  const chart = h('div', { class: 'chart-box', 'data-testid': 'attacks-chart' }, loading());
  const legend = h('div', { class: 'chart-legend muted small' },
    h('span', { class: 'lg lg-bar' }), 'Failed logins', h('span', { class: 'lg lg-block' }), 'Days with automatic blocks (count above the bar)',
    h('span', { class: 'lg-note' }, 'Hover a day for its numbers. Days are UTC days; today is still counting.'));

  const hostTable = dataTable({
    testid: 'attacks-hosts-table',
    filter: false,
    sort: { key: 'failures', dir: -1 },
    emptyText: 'No host saw a failed login or an automatic block in this range.',
    rowAttrs: (r) => ({ 'data-testid': 'attacks-host-row', 'data-host-id': r.host_id }),
    columns: [
      {
        key: 'host', label: 'Host', value: (r) => hostName(r.host_id),
        render: (r) => h('a', { class: 'strong', href: hashWith('/attacks', { host: r.host_id, days: daysArg(days) }), title: 'Show this host only', 'data-testid': 'attacks-host-link' }, hostName(r.host_id)),
      },
      { key: 'failures', label: 'Failed logins', width: '120px', cls: 'num', render: (r) => fmtNum(r.failures) },
      { key: 'sources', label: 'Sources (per day, summed)', width: '180px', cls: 'num', render: (r) => fmtNum(r.sources) },
      { key: 'blocks', label: 'Automatic blocks', width: '130px', cls: 'num', render: (r) => fmtNum(r.blocks) },
      { key: 'attack_days', label: 'Days attacked', width: '110px', cls: 'num', render: (r) => fmtNum(r.attack_days) },
      { key: 'last', label: 'Last attacked', width: '120px', value: (r) => r.last || 0, render: (r) => (r.last ? utcDay(r.last) : dash()) },
    ],
  });

  const blockedBy = (src) => activeRules.filter((r) => ipTargetText(r.target) === src && r.direction !== 'out');
  const sources = dataTable({
    testid: 'attacks-sources-table',
    filter: false,
    sort: null,
    emptyText: 'No failed login in this range.',
    rowAttrs: (r) => ({ 'data-testid': 'attacks-source-row', 'data-source': r.source }),
    columns: [
      { key: 'source', label: 'Source', render: (r) => h('span', { class: 'mono strong', 'data-testid': 'attacks-source' }, r.source) },
      { key: 'failures', label: 'Failed logins', width: '120px', cls: 'num', render: (r) => h('span', { 'data-testid': 'attacks-source-failures' }, fmtNum(r.failures)) },
      {
        key: 'share', label: '', nosort: true, value: (r) => r.failures,
        render: (r) => {
          const most = Math.max(1, ...(data.top_sources || []).map((x) => x.failures));
          return h('div', { class: 'share', title: `${fmtNum(r.failures)} of the range's ${fmtNum(data.totalFailures)} failed logins` },
            h('span', { style: `width:${((r.failures / most) * 100).toFixed(1)}%` }));
        },
      },
      {
        key: 'blocked', label: 'Active block', width: '150px', value: (r) => blockedBy(r.source).length,
        render: (r) => {
          const rules = blockedBy(r.source);
          if (!rules.length) return h('span', { class: 'muted', 'data-testid': 'attacks-source-blocked' }, '—');
          return h('a', { href: '#/ip-policy?status=active', 'data-testid': 'attacks-source-blocked', title: rules.map((x) => `rule ${x.id}: ${x.hosts.length ? x.hosts.map(hostName).join(', ') : 'all hosts'}`).join('\n') },
            `${plural(rules.length, 'rule')} (${rules.some((x) => !x.hosts.length) ? 'all hosts' : plural(new Set(rules.flatMap((x) => x.hosts)).size, 'host')})`);
        },
      },
      {
        key: 'actions', label: '', width: '90px', nosort: true, value: () => '',
        render: (r) => h('a', {
          class: 'btn small', 'data-testid': 'attacks-block-link', 'data-source': r.source,
          title: hostF ? `Block ${r.source} on ${hostName(hostF)}` : `Block ${r.source} on every host`,
          href: hashWith('/ip-policy', {
            target: r.source,
            host: hostF,
            reason: `Attack analysis: ${plural(r.failures, 'failed login')} in ${days} days${hostF ? ` on ${hostName(hostF)}` : ''}`,
          }),
        }, 'Block…'),
      },
    ],
  });

  setView(
    panel('Attack analysis', [toolbar, stats, chart, legend], {
      testid: 'attacks-panel',
      extra: aside('Failed logins and automatic brute-force blocks per day.'),
    }),
    panel('Top sources', sources.el, { testid: 'attacks-sources-panel', extra: aside('The 10 addresses that failed most in the range.') }),
    panel('By host', hostTable.el, { testid: 'attacks-hosts-panel', extra: aside('Pick a host to see its days and sources alone.') }),
  );

  function render() {
    const { series, hosts: perHost } = tally(data, days);
    const total = (k) => series.reduce((s, d) => s + d[k], 0);
    data.totalFailures = total('failures');
    const blocks = total('blocks');
    stats.replaceChildren(
      stat('Failed logins', data.totalFailures, 'urgent', 'attacks-total-failures'),
      stat('Sources', total('sources'), 'suspicious', 'attacks-total-sources', h('span', { class: 'muted' }, ' · distinct per day, summed')),
      stat('Automatic blocks', blocks, 'reminder', 'attacks-total-blocks',
        blocks ? [' · ', h('a', { href: '#/ip-policy' }, 'IP policy →')] : null),
      stat('Days attacked', series.filter((d) => d.failures).length, 'total', 'attacks-total-days', h('span', { class: 'muted' }, ` of ${days}`)));
    chart.dataset.days = String(days);
    chart.dataset.host = hostF;
    if (!series.some((d) => d.failures || d.blocks)) {
      chart.dataset.empty = '1';
      chart.replaceChildren(h('div', { class: 'chart-empty', 'data-testid': 'attacks-empty' },
        h('strong', null, `No failed logins and no automatic blocks in the last ${days} days${hostF ? ` on ${hostName(hostF)}` : ''}.`),
        h('div', { class: 'muted small' }, 'Agents report failed SSH, FTP and MySQL logins from the hosts\' login logs; the brute-force rule under ',
          h('a', { href: '#/login-settings' }, 'Login security'), ' blocks sources that fail too often.')));
    } else {
      chart.dataset.empty = '';
      chart.replaceChildren(attackChart(series));
    }
    hostTable.setRows(perHost);
    sources.setRows(data.top_sources || []);
  }

  const renderHostOptions = () => fillHostSelect(hostSel, hosts, hostF,
    (x) => `${x.hostname || x.id}${x.state === 'online' ? '' : ` (${x.state})`}`);
  renderHostOptions();

  async function load() {
    const [res, rules] = await Promise.all([
      get(`/api/v1/attacks?days=${days}${hostF ? `&host=${enc(hostF)}` : ''}`),
      // Only labels the sources already blocked: without it the table still shows.
      getOr('/api/v1/ip-rules?status=active', { rules: [] }).then((r) => r.rules || []),
    ]);
    if (!ctx.alive()) return;
    data = res;
    activeRules = rules;
    render();
  }
  const hostsP = get('/api/v1/hosts').then((res) => {
    if (!ctx.alive()) return;
    hosts = res.hosts || [];
    renderHostOptions();
    if (data) render();
  }).catch((e) => {
    if (e.handled) throw e;
    reportTo(ctx, 'Loading hosts')(e);
  });
  await load();
  await hostsP;
  autoRefresh(ctx, load);
}

