// The overview: the security score, host and alert counts, and the latest alerts.

import { h, loading, panel, setTitle, setView } from '../lib/dom.js';
import { fmtNum } from '../lib/format.js';
import { get, getOr } from '../lib/api.js';
import { reportTo } from '../lib/errors.js';
import { autoRefresh } from '../lib/router.js';
import { dataTable } from '../lib/table.js';
import { M } from '../lib/meta.js';
import { alertColumns } from './alert-handling.js';
import { openAlert } from './alert-drawer.js';
import { scorePanel } from './score.js';

/** A big number linking to where it is counted. */
const stat = (label, value, cls, href, testid) =>
  h('a', { class: `stat s-${cls}`, href, 'data-testid': testid },
    h('span', { class: 'stat-value' }, fmtNum(value)), h('span', { class: 'stat-label' }, label));

export async function viewOverview(ctx) {
  setTitle('Overview');
  const score = h('div', { class: 'score-slot' });
  const stats = h('div', { class: 'overview-grid' }, loading());
  const latest = dataTable({
    columns: alertColumns(),
    testid: 'latest-alerts',
    filter: false,
    sort: null,
    emptyText: 'No alerts: all quiet.',
    onRowClick: (a) => openAlert(a.id, { onChange: () => load().catch(reportTo(ctx, 'Refreshing the overview')) }),
    rowAttrs: (a) => ({ 'data-alert-id': a.id }),
  });
  setView(score, stats, panel('Latest alerts', latest.el, { extra: h('a', { href: '#/alerts' }, 'All alerts →'), testid: 'latest-panel' }));

  async function load() {
    const [ov, al, sc] = await Promise.all([
      get('/api/v1/overview'),
      get('/api/v1/alerts?limit=10'),
      // The score has its own card: when it fails, the card says why and the rest still shows.
      getOr('/api/v1/score', (e) => ({ error: e })),
    ]);
    if (!ctx.alive()) return;
    const total = ov.hosts_total || 0;
    const pct = (n) => (total ? `${((n / total) * 100).toFixed(1)}%` : '0%');
    const bar = h('div', { class: 'ratio', title: 'Online / offline / uninstalled' },
      h('span', { class: 'r-online', style: `width:${pct(ov.hosts_online)}` }),
      h('span', { class: 'r-offline', style: `width:${pct(ov.hosts_offline)}` }),
      h('span', { class: 'r-uninstalled', style: `width:${pct(ov.hosts_uninstalled)}` }));
    const alerts = ov.alerts || {};
    const unhandled = M.alerts.levels.reduce((s, l) => s + (alerts[l] || 0), 0);
    stats.replaceChildren(
      panel('Protected hosts', [
        h('div', { class: 'stat-row' },
          stat('Total', ov.hosts_total, 'total', '#/hosts', 'ov-hosts-total'),
          stat('Online', ov.hosts_online, 'online', '#/hosts?state=online', 'ov-hosts-online'),
          stat('Offline', ov.hosts_offline, 'offline', '#/hosts?state=offline', 'ov-hosts-offline'),
          stat('Uninstalled', ov.hosts_uninstalled, 'uninstalled', '#/hosts?state=uninstalled', 'ov-hosts-uninstalled')),
        bar,
        h('div', { class: 'muted small' }, total ? `${pct(ov.hosts_online)} of hosts reporting` : 'No host enrolled yet. ',
          total ? null : h('a', { href: '#/install' }, 'Install the agent →')),
      ], { testid: 'ov-hosts' }),
      panel('Unhandled alerts', [
        h('div', { class: 'stat-row' },
          stat('Urgent', alerts.urgent || 0, 'urgent', '#/alerts?level=urgent&status=unhandled', 'ov-alerts-urgent'),
          stat('Suspicious', alerts.suspicious || 0, 'suspicious', '#/alerts?level=suspicious&status=unhandled', 'ov-alerts-suspicious'),
          stat('Reminder', alerts.reminder || 0, 'reminder', '#/alerts?level=reminder&status=unhandled', 'ov-alerts-reminder')),
        h('div', { class: 'muted small' }, unhandled ? `${fmtNum(unhandled)} alert${unhandled === 1 ? '' : 's'} waiting for an operator` : 'Nothing waiting for an operator.'),
      ], { testid: 'ov-alerts' }),
    );
    score.replaceChildren(scorePanel(sc));
    latest.setRows(al.alerts || []);
  }

  await load();
  autoRefresh(ctx, load);
}
