// The host list: state and group filters, a row per host with its unhandled alerts.

import { h, badge, dash, humanize, labelChips, labelsText, panel, setTitle, setView } from '../lib/dom.js';
import { capitalize, enc, fmtNum, timeEl } from '../lib/format.js';
import { get } from '../lib/api.js';
import { reportTo } from '../lib/errors.js';
import { autoRefresh, hashWith } from '../lib/router.js';
import { dataTable } from '../lib/table.js';
import { M } from '../lib/meta.js';

/** Unhandled alerts by level, as coloured counts. */
export function alertCounts(counts) {
  const parts = M.alerts.levels.filter((l) => (counts?.[l] ?? 0) > 0).map((l) =>
    h('span', { class: `count-pill b-${l}`, title: `${counts[l]} unhandled ${l}` }, fmtNum(counts[l])));
  return parts.length ? h('span', { class: 'pills' }, parts) : dash('0');
}

export async function viewHosts(ctx) {
  setTitle('Hosts');
  const states = M.hosts.states;
  const state = ctx.params.get('state') || '';
  const group = ctx.params.get('group') || '';

  const seg = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Host state' },
    ['', ...states].map((s) => h('a', {
      class: `seg${s === state ? ' active' : ''}`,
      href: hashWith('/hosts', { state: s, group }),
      'data-testid': `state-filter-${s || 'all'}`,
    }, s ? capitalize(humanize(s)) : 'All')));
  const groupSel = h('select', { id: 'group-filter', 'data-testid': 'group-filter', 'aria-label': 'Group' },
    h('option', { value: '' }, 'All groups'));
  if (group) groupSel.appendChild(h('option', { value: group, selected: true }, group));
  groupSel.value = group;
  groupSel.addEventListener('change', () => {
    location.hash = hashWith('/hosts', { state, group: groupSel.value });
  });

  const table = dataTable({
    testid: 'hosts-table',
    placeholder: 'Filter by name, IP, OS, label…',
    sort: { key: 'hostname', dir: 1 },
    emptyText: 'No host matches. Hosts appear here once an agent enrolls.',
    tools: [seg, groupSel],
    onRowClick: (x) => {
      location.hash = `#/hosts/${enc(x.id)}`;
    },
    rowAttrs: (x) => ({ 'data-testid': 'host-row', 'data-host-id': x.id, 'data-hostname': x.hostname, 'data-state': x.state }),
    columns: [
      {
        key: 'hostname', label: 'Host',
        render: (x) => h('div', { class: 'host-cell' },
          h('a', { href: `#/hosts/${enc(x.id)}`, class: 'strong host-link', 'data-testid': 'host-link' }, x.hostname || x.id),
          h('div', { class: 'muted mono small nowrap' }, x.id)),
      },
      { key: 'state', label: 'State', width: '104px', value: (x) => states.indexOf(x.state), render: (x) => badge(x.state, { testid: 'host-state' }) },
      { key: 'ips', label: 'IP addresses', value: (x) => (x.ips || []).join(' '), render: (x) => h('span', { class: 'mono small' }, (x.ips || []).join(', ') || '—') },
      { key: 'group', label: 'Group' },
      { key: 'labels', label: 'Labels', value: (x) => labelsText(x.labels), render: (x) => labelChips(x.labels) },
      { key: 'os', label: 'OS', render: (x) => h('div', null, x.os || '—', h('div', { class: 'muted small' }, x.kernel || '')), value: (x) => `${x.os} ${x.kernel}` },
      { key: 'alerts', label: 'Alerts', width: '100px', nofilter: true, value: (x) => M.alerts.levels.reduce((s, l, i) => s + (x.alerts?.[l] || 0) * 10 ** (6 - 2 * i), 0), render: (x) => alertCounts(x.alerts) },
      { key: 'agent_version', label: 'Agent', width: '72px', cls: 'mono small', render: (x) => x.agent_version || dash() },
      { key: 'last_seen', label: 'Last seen', width: '100px', nofilter: true, value: (x) => x.last_seen || 0, render: (x) => timeEl(x.last_seen) },
    ],
  });
  setView(panel(null, table.el, { testid: 'hosts-panel' }));

  async function load() {
    const qs = new URLSearchParams();
    if (state) qs.set('state', state);
    if (group) qs.set('group', group);
    const s = qs.toString();
    const res = await get(`/api/v1/hosts${s ? `?${s}` : ''}`);
    if (!ctx.alive()) return;
    table.setRows(res.hosts || []);
  }

  const groupsP = get('/api/v1/groups').then((g) => {
    if (!ctx.alive()) return;
    for (const gr of g.groups || []) {
      if (gr.name === group) continue;
      groupSel.appendChild(h('option', { value: gr.name }, `${gr.name} (${fmtNum(gr.hosts)})`));
    }
    groupSel.value = group;
  }).catch(reportTo(ctx, 'Loading groups'));
  await load();
  await groupsP;
  autoRefresh(ctx, load);
}
