// One host: its facts, security score, agent and monitor health, then tabs for its fingerprints
// (system, processes, ports, accounts, packages), its alerts, host actions and events.

import { h, badge, dash, fill, humanize, kv, labelChips, loading, notice, panel, setTitle, setView } from '../lib/dom.js';
import { enc, fmtAgo, fmtBytes, fmtBytesKb, fmtNum, fmtTime, timeBy, timeEl, trunc } from '../lib/format.js';
import { get, getOr } from '../lib/api.js';
import { errorMessage, showError } from '../lib/errors.js';
import { hashWith } from '../lib/router.js';
import { dataTable } from '../lib/table.js';
import { alertColumns } from './alert-handling.js';
import { openAlert } from './alert-drawer.js';
import { alertCounts } from './hosts.js';
import { bandBadge, bandCls, scoreCosts } from './score.js';
import { baselineColumns, baselineRowAttrs, baselineSummaryText, openBaselineResult } from './baseline.js';

const TABS = [
  ['system', 'System'],
  ['processes', 'Processes'],
  ['ports', 'Ports'],
  ['accounts', 'Accounts'],
  ['packages', 'Packages'],
  ['alerts', 'Alerts'],
  ['baseline', 'Baseline'],
  ['commands', 'Commands'],
  ['events', 'Events'],
];

/** Command states that have yet to hear from the host. */
export const COMMAND_OPEN = ['queued', 'sent'];

/** What a command acts on, from its parameters (`paths` maps quarantine ids to paths). */
function commandTarget(c, paths) {
  const p = c.params || {};
  if (p.quarantine_id) {
    const path = paths.get(p.quarantine_id);
    return `${path || `quarantine id ${p.quarantine_id}`}${p.overwrite ? ' (overwrite)' : ''}`;
  }
  if (p.path) return p.path;
  if (p.pid) return `pid ${p.pid}${p.exe ? ` ${p.exe}` : ''}`;
  if (p.target) return `${p.target} (${p.direction === 'out' ? 'outbound' : 'inbound'})${p.rule_id ? `, IP rule ${p.rule_id}` : ''}`;
  return '—';
}

function eventSummary(body) {
  const b = body || {};
  const sock = (s) => `${s.protocol || ''} ${s.address || ''}:${s.port ?? ''}${s.process ? ` — ${s.process}${s.pid ? ` (pid ${s.pid})` : ''}` : ''}`;
  const acct = (a) => `${a.name} (uid ${a.uid}, ${a.shell || 'no shell'})`;
  const pkg = (p) => `${p.name} ${p.version || ''}${p.arch ? ` [${p.arch}]` : ''}${p.format ? ` (${p.format})` : ''}`;
  if (b.socket) return sock(b.socket);
  if (b.account) return acct(b.account);
  if (b.package) return pkg(b.package);
  if (b.before && b.after) {
    const changes = Object.keys(b.after)
      .filter((k) => JSON.stringify(b.before[k]) !== JSON.stringify(b.after[k]))
      .map((k) => `${k}: ${JSON.stringify(b.before[k])} → ${JSON.stringify(b.after[k])}`);
    return `${b.after.name || ''} ${changes.join(', ')}`.trim();
  }
  const rest = { ...b };
  delete rest.kind;
  delete rest.time;
  const s = JSON.stringify(rest);
  return s.length > 300 ? `${s.slice(0, 300)}…` : s;
}

/** The agent's own health line: memory and spool counters; dropped events stand out. */
function agentHealth(host) {
  const a = host.agent || {};
  const sp = a.spool || {};
  const dropped = sp.dropped_events || 0;
  const failed = sp.write_failures || 0;
  const item = (testid, text, bad) => h('span', { class: `health-item${bad ? ' bad' : ''}`, 'data-testid': testid }, text);
  if (!a.rss_kb && !sp.pending_batches && !dropped && !failed) {
    return h('div', { class: 'agent-health muted small', 'data-testid': 'host-agent-health' }, 'Agent health: no report yet.');
  }
  return h('div', { class: `agent-health small${dropped || failed ? ' has-bad' : ''}`, 'data-testid': 'host-agent-health' },
    h('span', { class: 'muted' }, 'Agent health'),
    item('agent-memory', `memory ${(a.rss_kb / 1024).toFixed(1)} MB`),
    item('agent-spool-pending', `spool ${fmtNum(sp.pending_batches || 0)} batch${sp.pending_batches === 1 ? '' : 'es'} pending (${fmtBytes(sp.pending_bytes || 0)})`),
    item('agent-dropped', `${fmtNum(dropped)} event${dropped === 1 ? '' : 's'} dropped`, dropped > 0),
    item('agent-write-failures', `${fmtNum(failed)} failed spool write${failed === 1 ? '' : 's'}`, failed > 0),
    dropped > 0 ? h('span', { class: 'health-note' }, 'The spool overflowed: the oldest events were lost.') : null);
}

/** What each agent monitor last said: state, last run and what it cannot see. */
function monitorHealth(host) {
  const monitors = host.monitors || [];
  if (!monitors.length) return null;
  const problem = (m) => [m.last_error, ...(m.unreadable || [])].filter(Boolean).join('; ');
  return h('table', { class: 'grid monitor-health', 'data-testid': 'host-monitors' },
    h('thead', null, h('tr', null, ['Monitor', 'State', 'Last run', 'Problem'].map((t) => h('th', { class: 'nosort' }, t)))),
    h('tbody', null, monitors.map((m) => h('tr', { 'data-testid': `monitor-${m.name}` },
      h('td', null, humanize(m.name)),
      h('td', null, badge(m.state, { cls: `mon-${m.state}`, testid: 'monitor-state' })),
      h('td', null, timeEl(m.last_run)),
      h('td', { class: 'small', 'data-testid': 'monitor-problem' }, problem(m) || dash())))));
}

/** The host's score beside its name, when the score answers. */
function showScore(ctx, slot, host, sc) {
  if (!ctx.alive()) return;
  if (sc.error) {
    if (sc.error.handled) return;
    slot.replaceChildren(h('span', { class: 'muted small', title: errorMessage(sc.error) }, 'Score unavailable'));
    showError(sc.error, 'Loading the security score');
    return;
  }
  const mine = (sc.hosts || []).find((x) => x.host_id === host.id);
  if (!mine) {
    slot.replaceChildren(h('span', { class: 'muted small' }, host.state === 'uninstalled' ? 'Not scored: uninstalled' : 'Not scored'));
    return;
  }
  slot.title = `What costs points: ${scoreCosts(mine)}`;
  slot.replaceChildren(
    h('span', { class: 'muted' }, 'Security score '),
    h('span', { class: `score-inline ${bandCls(mine.band)}`, 'data-testid': 'host-score-value' }, String(mine.score)),
    bandBadge(mine.band, 'host-score-band'),
    h('span', { class: 'muted small', 'data-testid': 'host-score-costs' }, scoreCosts(mine)));
}

/**
 * A tab filled once its data is in: `load()` gives the rows, `build(rows)` what to show; a
 * failure shows in place and in the banner after `what`.
 */
function loadedTab(ctx, what, load, build) {
  const box = h('div', null, loading());
  load().then((res) => {
    if (!ctx.alive()) return;
    fill(box, ...build(res));
  }).catch((e) => {
    if (!ctx.alive()) return;
    box.replaceChildren(notice(errorMessage(e), { kind: 'error' }));
    showError(e, what);
  });
  return box;
}

const hostFacts = (host) => kv([
  ['Group', host.group],
  ['Labels', labelChips(host.labels)],
  ['OS', host.os || '—'],
  ['Kernel', h('span', { class: 'mono' }, host.kernel || '—')],
  ['IP addresses', h('span', { class: 'mono' }, (host.ips || []).join(', ') || '—')],
  ['Agent version', h('span', { class: 'mono' }, host.agent_version || '—')],
  ['Enrolled', timeEl(host.enrolled_at, { full: true })],
  ['Last seen', timeEl(host.last_seen, { full: true })],
  ['Fingerprints', timeEl(host.inventory_at, { full: true })],
  host.uninstalled_at ? ['Uninstalled', timeEl(host.uninstalled_at, { full: true })] : null,
  ['Host ID', h('span', { class: 'mono' }, host.id)],
].filter(Boolean), { testid: 'host-facts' });

/** The fingerprint tabs: each a table of the last snapshot. */
function fingerprintTabs(fp) {
  const table = (testid, rows, placeholder, key, columns, extra = {}) => dataTable({
    testid, rows: rows || [], placeholder, sort: { key, dir: 1 }, columns, ...extra,
  }).el;
  return {
    system: () => {
      const os = fp.os || {};
      const admins = (fp.accounts || []).filter((a) => a.admin).length;
      const rows = [
        ['Operating system', os.pretty_name],
        ['Distribution ID', os.id],
        ['Version', os.version_id],
        ['Codename', os.codename],
        ['Like', (os.id_like || []).join(', ')],
        ['Kernel', os.kernel],
        ['Architecture', os.arch],
        ['Hostname', os.hostname],
        ['CPU model', os.cpu_model],
        ['CPU count', os.cpu_count],
        ['Memory', fmtBytesKb(os.memory_total_kb)],
        ['IP addresses', (os.ips || []).join(', ')],
        ['Boot time', os.boot_time ? `${fmtTime(os.boot_time)} (up ${fmtAgo(os.boot_time).replace(' ago', '')})` : '—'],
        ['Processes', fmtNum(fp.processes?.length || 0)],
        ['Listening ports', fmtNum(fp.sockets?.length || 0)],
        ['Accounts', `${fmtNum(fp.accounts?.length || 0)} (${fmtNum(admins)} with admin rights)`],
        ['Packages', fmtNum(fp.packages?.length || 0)],
        ['Fingerprints collected', fp.collected_at ? `${fmtTime(fp.collected_at)} (${fmtAgo(fp.collected_at)})` : '—'],
      ].map(([k, v]) => ({ k, v: v === undefined || v === null || v === '' ? '—' : String(v) }));
      return dataTable({
        testid: 'table-system',
        rows,
        columns: [
          { key: 'k', label: 'Property', width: '220px', cls: 'strong' },
          { key: 'v', label: 'Value', cls: 'wrap' },
        ],
      }).el;
    },
    processes: () => table('table-processes', fp.processes, 'Filter by name, user, path, command line…', 'pid', [
      { key: 'pid', label: 'PID', width: '64px', cls: 'num' },
      { key: 'ppid', label: 'PPID', width: '64px', cls: 'num' },
      { key: 'user', label: 'User', width: '100px', value: (p) => p.user || String(p.uid), render: (p) => h('span', { title: `uid ${p.uid}` }, p.user || String(p.uid)) },
      { key: 'name', label: 'Name', width: '150px', cls: 'strong wrap' },
      { key: 'exe', label: 'Executable', width: '22%', cls: 'mono small wrap', render: (p) => p.exe || dash() },
      { key: 'cmdline', label: 'Command line', cls: 'mono small wrap', render: (p) => trunc(p.cmdline, 120) },
      { key: 'exe_sha256', label: 'SHA-256', width: '100px', cls: 'mono small', render: (p) => (p.exe_sha256 ? h('span', { title: p.exe_sha256 }, `${p.exe_sha256.slice(0, 12)}…`) : dash()) },
      { key: 'start_time', label: 'Started', width: '96px', nofilter: true, render: (p) => timeEl(p.start_time) },
    ]),
    ports: () => table('table-ports', fp.sockets, 'Filter by port, address, process…', 'port', [
      { key: 'protocol', label: 'Protocol', width: '84px', render: (s) => badge(s.protocol, { cls: 'neutral', text: s.protocol }) },
      { key: 'address', label: 'Address', cls: 'mono' },
      { key: 'port', label: 'Port', width: '80px', cls: 'num strong' },
      { key: 'process', label: 'Process', render: (s) => s.process || dash('unknown') },
      { key: 'pid', label: 'PID', width: '72px', cls: 'num', render: (s) => (s.pid ? String(s.pid) : '—') },
      { key: 'uid', label: 'UID', width: '72px', cls: 'num' },
      { key: 'inode', label: 'Inode', width: '100px', cls: 'num muted' },
    ], { rowAttrs: (s) => ({ 'data-port': s.port }) }),
    accounts: () => table('table-accounts', fp.accounts, 'Filter by name, home, shell…', 'uid', [
      { key: 'name', label: 'Account', cls: 'strong' },
      { key: 'uid', label: 'UID', width: '72px', cls: 'num' },
      { key: 'gid', label: 'GID', width: '72px', cls: 'num' },
      { key: 'home', label: 'Home', cls: 'mono small' },
      { key: 'shell', label: 'Shell', cls: 'mono small' },
      { key: 'login_shell', label: 'Can log in', width: '90px', value: (a) => (a.login_shell ? 'yes' : 'no'), render: (a) => (a.login_shell ? badge('yes', { cls: 'info' }) : dash('no')) },
      { key: 'password', label: 'Password', width: '120px', render: (a) => badge(a.password, { cls: `pw-${a.password}` }) },
      { key: 'admin', label: 'Admin', width: '80px', value: (a) => (a.admin ? 'admin' : ''), render: (a) => (a.admin ? badge('admin', { cls: 'suspicious' }) : dash()) },
    ]),
    packages: () => table('table-packages', fp.packages, 'Filter by name, version, source…', 'name', [
      { key: 'format', label: 'Format', width: '72px', render: (p) => badge(p.format, { cls: 'neutral', text: p.format }) },
      { key: 'name', label: 'Name', cls: 'strong' },
      { key: 'version', label: 'Version', cls: 'mono small' },
      { key: 'arch', label: 'Arch', width: '80px' },
      { key: 'source', label: 'Source', render: (p) => p.source || dash() },
      { key: 'source_version', label: 'Source version', cls: 'mono small', render: (p) => p.source_version || dash() },
    ]),
  };
}

/** The Commands tab: host actions sent to the host, followed every 2 s while one is open. */
function commandsTab(ctx, id, stillShown) {
  const box = h('div', null, loading());
  let paths = new Map();
  let t = null;
  const load = async () => {
    const [res, q] = await Promise.all([
      get(`/api/v1/commands?host=${enc(id)}`),
      // Only to name the files restores act on: without it they show their quarantine id.
      getOr(`/api/v1/quarantine?host=${enc(id)}`, { files: [] }),
    ]);
    if (!ctx.alive()) return false;
    paths = new Map((q.files || []).map((f) => [f.qid, f.path]));
    const list = res.commands || [];
    if (!t) {
      t = dataTable({
        testid: 'table-commands',
        placeholder: 'Filter by action, target, state, message…',
        sort: { key: 'id', dir: -1 },
        emptyText: "No host action yet. Kill a process or quarantine a file from an alert's details.",
        rowAttrs: (c) => ({ 'data-testid': 'command-row', 'data-command-id': c.id, 'data-action': c.action, 'data-state': c.state }),
        columns: [
          { key: 'id', label: 'ID', width: '48px', cls: 'num' },
          { key: 'action', label: 'Action', width: '140px', cls: 'nowrap', value: (c) => humanize(c.action), render: (c) => h('span', { class: 'strong' }, humanize(c.action)) },
          { key: 'target', label: 'Target', width: '20%', cls: 'mono small wrap', value: (c) => commandTarget(c, paths) },
          {
            key: 'alert_id', label: 'Alert', width: '60px', value: (c) => c.alert_id || '',
            render: (c) => (c.alert_id
              ? h('button', { type: 'button', class: 'btn link small', 'data-testid': 'command-alert', onclick: () => openAlert(c.alert_id, { onChange: () => reload() }) }, `#${c.alert_id}`)
              : dash()),
          },
          { key: 'state', label: 'State', width: '100px', render: (c) => badge(c.state, { cls: `cmd-${c.state}`, testid: 'command-state' }) },
          {
            // Sorted by time; the filter also finds who queued it.
            key: 'created_at', label: 'Queued', width: '104px', value: (c) => `${c.created_at || 0} ${c.created_by}`,
            render: (c) => timeBy(c.created_at, c.created_by, { cls: 'muted small' }),
          },
          {
            key: 'finished_at', label: 'Finished', width: '84px', nofilter: true, value: (c) => c.finished_at || 0,
            render: (c) => (c.finished_at ? timeEl(c.finished_at)
              : h('span', { class: 'muted small', title: `expires ${fmtTime(c.expires_at)}` }, c.state === 'sent' ? 'running' : `expires ${fmtAgo(c.expires_at)}`)),
          },
          {
            key: 'message', label: 'Result', cls: 'small msg',
            render: (c) => h('span', { 'data-testid': 'command-message', class: c.state === 'failed' || c.state === 'timed_out' ? 'cmd-error' : '' },
              c.message || dash(COMMAND_OPEN.includes(c.state) ? 'waiting for the host' : '—')),
          },
        ],
      });
      fill(box,
        h('div', { class: 'muted small pad' }, 'Kill and quarantine actions sent to this host, newest first, with what its agent reported. ',
          h('a', { href: hashWith('/quarantine', { host: id }) }, "This host's quarantine box →")),
        t.el);
    }
    t.setRows(list);
    return list.some((c) => COMMAND_OPEN.includes(c.state));
  };
  // While a command waits for the host, the list follows it every 2 s.
  const follow = (open) => {
    if (open) {
      setTimeout(() => {
        if (ctx.alive() && stillShown(box)) reload();
      }, 2000);
    }
  };
  const reload = () => load().then(follow).catch((e) => {
    if (!ctx.alive() || e.handled) return;
    if (!t) box.replaceChildren(notice(errorMessage(e), { kind: 'error' }));
    showError(e, 'Loading commands');
  });
  reload();
  return box;
}

export async function viewHost(ctx, id) {
  const crumbHosts = h('a', { href: '#/hosts', class: 'crumb' }, 'Hosts');
  setTitle(crumbHosts, id);
  let tab = ctx.params.get('tab') || 'system';
  if (!TABS.some(([k]) => k === tab)) tab = 'system';

  const header = h('div', { class: 'host-header' }, loading());
  const tabBar = h('div', { class: 'tabs', role: 'tablist' });
  const tabPanel = h('div', { class: 'tab-panel', id: 'tab-panel', 'data-testid': 'tab-panel' });
  const tabSection = h('section', { class: 'panel', hidden: true }, tabBar, tabPanel);
  setView(panel(null, header, { cls: 'host-panel' }), tabSection);

  const scoreP = get('/api/v1/score').catch((e) => ({ error: e }));
  const host = await get(`/api/v1/hosts/${enc(id)}`);
  if (!ctx.alive()) return;
  setTitle(crumbHosts, host.hostname || id);
  const scoreSlot = h('span', { class: 'host-score', 'data-testid': 'host-score' }, h('span', { class: 'muted small' }, 'Score …'));
  header.replaceChildren(
    h('div', { class: 'host-title' },
      h('h1', { 'data-testid': 'host-name' }, host.hostname || id),
      badge(host.state, { testid: 'host-detail-state' }),
      scoreSlot,
      h('span', { class: 'host-alerts' }, 'Unhandled alerts: ', alertCounts(host.alerts))),
    ...[agentHealth(host), monitorHealth(host), hostFacts(host)].filter(Boolean),
  );
  scoreP.then((sc) => showScore(ctx, scoreSlot, host, sc));

  let fp = null;
  let fpError = null;
  try {
    fp = await get(`/api/v1/hosts/${enc(id)}/fingerprints`);
  } catch (e) {
    if (e.handled) return;
    fpError = errorMessage(e);
    if (e.status !== 404) showError(e, 'Loading fingerprints');
  }
  if (!ctx.alive()) return;

  tabSection.hidden = false;
  const tabButtons = {};
  const rendered = {};
  const countOf = {
    processes: fp ? fp.processes?.length : null,
    ports: fp ? fp.sockets?.length : null,
    accounts: fp ? fp.accounts?.length : null,
    packages: fp ? fp.packages?.length : null,
  };
  for (const [key, label] of TABS) {
    const b = h('button', { type: 'button', class: 'tab', role: 'tab', 'data-testid': `tab-${key}`, id: `tab-${key}` },
      label, countOf[key] !== null && countOf[key] !== undefined ? h('span', { class: 'tab-count' }, fmtNum(countOf[key])) : null);
    b.addEventListener('click', () => select(key));
    tabButtons[key] = b;
    tabBar.appendChild(b);
  }

  const fpTabs = fp ? fingerprintTabs(fp) : {};
  const fpTab = (key) => () => (fp ? fpTabs[key]() : notice(fpError || 'No fingerprints yet.', { kind: 'warn', testid: 'fp-missing' }));
  const builders = {
    system: fpTab('system'),
    processes: fpTab('processes'),
    ports: fpTab('ports'),
    accounts: fpTab('accounts'),
    packages: fpTab('packages'),
    alerts: () => {
      const t = dataTable({
        testid: 'table-host-alerts',
        columns: alertColumns({ host: false }),
        placeholder: 'Filter alerts…',
        emptyText: 'No alert on this host.',
        onRowClick: (a) => openAlert(a.id, {
          onChange: () => {
            if (ctx.alive() && tab === 'alerts') select('alerts');
          },
        }),
        rowAttrs: (a) => ({ 'data-alert-id': a.id }),
      });
      return loadedTab(ctx, 'Loading alerts', () => get(`/api/v1/alerts?host=${enc(id)}&limit=200`), (res) => {
        t.setRows(res.alerts || []);
        const more = res.total > (res.alerts || []).length
          ? h('div', { class: 'muted small pad' }, `Showing the latest ${fmtNum(res.alerts.length)} of ${fmtNum(res.total)}. `,
            h('a', { href: hashWith('/alerts', { host: id, status: 'all' }) }, 'Open in Alerts →'))
          : null;
        return [t.el, more];
      });
    },
    baseline: () => {
      const reload = () => {
        if (ctx.alive() && tab === 'baseline') select('baseline');
      };
      const t = dataTable({
        testid: 'table-host-baseline',
        columns: baselineColumns({ host: false }),
        placeholder: 'Filter checks…',
        emptyText: 'No baseline result yet: the agent runs the checks at start and every two days.',
        rowAttrs: baselineRowAttrs,
        onRowClick: (r) => openBaselineResult(r, reload),
      });
      return loadedTab(ctx, 'Loading the baseline', () => get(`/api/v1/baseline?host=${enc(id)}&status=all`), (res) => {
        t.setRows(res.results || []);
        return [h('div', { class: 'muted small pad', 'data-testid': 'host-baseline-summary' }, baselineSummaryText(res.summary), ' · ',
          h('a', { href: hashWith('/baseline', { host: id }) }, 'Open in Baseline →')), t.el];
      });
    },
    commands: () => commandsTab(ctx, id, (box) => tab === 'commands' && rendered.commands === box),
    events: () => loadedTab(ctx, 'Loading events', () => get(`/api/v1/hosts/${enc(id)}/events?limit=100`), (res) => {
      const events = res.events || [];
      const t = dataTable({
        testid: 'table-events',
        rows: events,
        placeholder: 'Filter events…',
        sort: { key: 'time', dir: -1 },
        emptyText: 'No event recorded yet: events appear when ports, accounts or packages change.',
        columns: [
          { key: 'time', label: 'Time', width: '170px', render: (e) => h('span', { title: fmtAgo(e.time) }, fmtTime(e.time)) },
          { key: 'kind', label: 'Event', width: '160px', value: (e) => humanize(e.kind), render: (e) => badge(e.kind, { cls: `ev-${e.kind.split('_').pop()}` }) },
          { key: 'summary', label: 'Details', cls: 'mono small wrap', value: (e) => eventSummary(e.body) },
          { key: 'seq', label: 'Seq', width: '72px', cls: 'num muted' },
        ],
      });
      return [res.total > events.length ? h('div', { class: 'muted small pad' }, `The latest ${fmtNum(events.length)} of ${fmtNum(res.total)} events.`) : null, t.el];
    }),
  };

  function select(key) {
    tab = key;
    for (const [k, b] of Object.entries(tabButtons)) {
      b.classList.toggle('active', k === key);
      b.setAttribute('aria-selected', k === key ? 'true' : 'false');
    }
    // Alerts, baseline, commands and events are fetched again on every visit; fingerprint tabs are kept.
    if (!rendered[key] || ['alerts', 'baseline', 'commands', 'events'].includes(key)) rendered[key] = builders[key]();
    tabPanel.replaceChildren(rendered[key]);
    tabPanel.dataset.tab = key;
    history.replaceState(null, '', hashWith(`/hosts/${enc(id)}`, { tab: key === 'system' ? '' : key }));
    const f = tabPanel.querySelector('input.filter');
    if (f && key !== 'system') f.focus({ preventScroll: true });
  }
  select(tab);
}
