// The Vulnerabilities page: the advisory database line, filters kept in the URL, rows by host
// and package or grouped by advisory or package, and the batch bar for ignores.

import { h, hostLink, panel, setTitle, setView } from '../lib/dom.js';
import { plural, timeEl, trunc } from '../lib/format.js';
import { get } from '../lib/api.js';
import { clearError, reportTo } from '../lib/errors.js';
import { autoRefresh, hashWith, readParams } from '../lib/router.js';
import { fillHostSelect, filterSelect, searchBox, submit } from '../lib/form.js';
import { dataTable, pageLinks, selection } from '../lib/table.js';
import { openDrawer } from '../lib/drawer.js';
import { M } from '../lib/meta.js';
import {
  handleVulns, reasonDialog, renderVulnGroup, renderVulnRow, verifyButton, vulnDbLine, vulnHostNames, vulnKeyOf,
  vulnKeyStr, vulnLevel, vulnResultsNotice, vulnStatusBadge,
} from './vuln-drawer.js';

const VULN_VIEWS = [['rows', 'By host and package'], ['advisory', 'By advisory'], ['package', 'By package']];
const LIMIT = 50;

/** A short summary cell, the whole text in the tooltip. */
const summaryCell = (x) => h('span', { class: 'small', title: x.summary || '' }, trunc(x.summary || '', 90));

export async function viewVulns(ctx) {
  setTitle('Vulnerabilities');
  const levels = M.vulns.levels;
  const p = ctx.params;
  const f = readParams(p, { view: 'rows', status: 'unfixed', level: '', host: '', package: '', q: '' });
  if (!VULN_VIEWS.some(([v]) => v === f.view)) f.view = 'rows';
  if (f.status !== 'all' && !M.vulns.statuses.includes(f.status)) f.status = 'unfixed';
  if (!levels.includes(f.level)) f.level = '';
  const grouped = f.view !== 'rows';
  const offset = Math.max(0, parseInt(p.get('offset') || '0', 10) || 0);
  const hashOf = (changes) => {
    const next = { ...f, offset: '', ...changes };
    if (next.status === 'unfixed') next.status = '';
    if (next.view === 'rows') next.view = '';
    return hashWith('/vulns', next);
  };
  const go = (changes) => {
    location.hash = hashOf(changes);
  };
  const select = (name, label, all, choices, value) => filterSelect({
    id: `vulns-${name}`, label, all, choices, value, onPick: (v) => go({ [name]: v }),
  });
  const textIn = (name, placeholder, value) => searchBox({
    id: `vulns-${name}`, cls: 'vulns-text', placeholder, value, current: f[name], onSearch: (q) => go({ [name]: q }),
  }).el;
  const hostSel = h('select', { 'data-testid': 'vulns-host', id: 'vulns-host', 'aria-label': 'Host' }, h('option', { value: '' }, 'All hosts'),
    f.host ? h('option', { value: f.host }, vulnHostNames.get(f.host) || f.host) : null);
  hostSel.value = f.host;
  hostSel.addEventListener('change', () => go({ host: hostSel.value }));
  get('/api/v1/hosts').then((res) => {
    if (!ctx.alive()) return;
    const hosts = res.hosts || [];
    for (const x of hosts) vulnHostNames.set(x.id, x.hostname || x.id);
    fillHostSelect(hostSel, hosts, f.host);
  }).catch(reportTo(ctx, 'Loading hosts'));

  const seg = h('div', { class: 'segmented', role: 'group', 'aria-label': 'View', 'data-testid': 'vulns-view' },
    VULN_VIEWS.map(([v, label]) => h('a', { class: `seg${f.view === v ? ' active' : ''}`, href: hashOf({ view: v }), 'data-testid': `vulns-view-${v}` }, label)));
  const verifyOut = h('div', { class: 'vuln-verify-out' });
  const refresh = () => {
    if (ctx.alive()) load().catch(reportTo(ctx, 'Refreshing vulnerabilities'));
  };
  const tools = [
    textIn('q', 'Search CVE / advisory…', f.q),
    textIn('package', 'Package…', f.package),
    h('label', { class: 'inline' }, 'Status ', select('status', 'Status', null, [...M.vulns.statuses, 'all'], f.status)),
    h('label', { class: 'inline' }, 'Level ', select('level', 'Level', 'All levels', levels, f.level)),
    h('label', { class: 'inline' }, 'Host ', hostSel),
    f.host ? verifyButton(f.host, verifyOut, () => ctx.alive() && load().catch(reportTo(ctx, 'Refreshing'))) : null,
  ];

  // ---- selection and the batch bar (host+package rows only: a group has no per-row keys)
  const sel = selection({
    key: vulnKeyStr,
    value: vulnKeyOf,
    testids: { all: 'vulns-check-all', row: 'vuln-check', count: 'vulns-batch-count', clear: 'vulns-batch-clear' },
    allLabel: 'Select every row on this page',
    rowLabel: (v) => `Select ${v.advisory} in ${v.package}`,
    idleText: 'Select rows to ignore several at once',
    onChange: () => updateBar(),
  });
  const bIgnore = h('button', { type: 'button', class: 'btn small', 'data-testid': 'vulns-batch-ignore' }, 'Ignore…');
  const bUnignore = h('button', { type: 'button', class: 'btn small', 'data-testid': 'vulns-batch-unignore' }, 'Undo ignore');
  const batchResult = h('div', { class: 'batch-result', 'data-testid': 'vulns-batch-result', 'aria-live': 'polite' });
  const bar = h('div', { class: 'batch', 'data-testid': 'vulns-batch-bar' }, h('div', { class: 'batch-row' }, sel.count, bIgnore, bUnignore, sel.clear));
  const updateBar = () => sel.update(bar, [bIgnore, bUnignore]);
  const afterBatch = async (results) => {
    for (const r of results) if (r.outcome === 'changed') sel.drop(vulnKeyStr(r));
    batchResult.replaceChildren(vulnResultsNotice(results));
    await load();
  };
  bIgnore.addEventListener('click', () => {
    const keys = sel.values();
    if (!keys.length) return;
    reasonDialog({
      title: `Ignore ${plural(keys.length, 'vulnerability', 'vulnerabilities')}`,
      text: 'They stay listed under Ignored, with the reason, until you undo it.',
      act: async (reason) => {
        const results = await handleVulns(keys, 'ignore', reason);
        if (ctx.alive()) await afterBatch(results);
      },
    });
  });
  bUnignore.addEventListener('click', async () => {
    const keys = sel.values();
    if (!keys.length) return;
    clearError();
    await submit(bUnignore, { ctx, context: 'Undo ignore' }, async () => {
      const results = await handleVulns(keys, 'unignore');
      if (ctx.alive()) await afterBatch(results);
    });
    if (ctx.alive()) updateBar();
  });

  const levelColumn = { key: 'level', label: 'Level', width: '110px', value: (x) => levels.length - levels.indexOf(x.level), render: (x) => vulnLevel(x.level, x.rce, 'vuln-level') };
  const lastSeenColumn = { key: 'last_seen', label: 'Last seen', width: '100px', render: (x) => timeEl(x.last_seen) };
  const rowColumns = [
    sel.column,
    levelColumn,
    { key: 'advisory', label: 'Advisory', render: (v) => h('span', { class: 'mono strong', 'data-testid': 'vuln-advisory' }, v.advisory) },
    { key: 'package', label: 'Package', render: (v) => h('span', { class: 'mono', 'data-testid': 'vuln-package' }, v.package) },
    { key: 'host', label: 'Host', value: (v) => v.hostname || v.host_id, render: (v) => hostLink(v.host_id, v.hostname) },
    { key: 'installed', label: 'Installed → fixed', value: (v) => `${v.installed} → ${v.fixed || ''}`, render: (v) => h('span', { class: 'mono small' }, v.installed, ' → ', v.fixed || '—') },
    { key: 'summary', label: 'Summary', render: summaryCell },
    { key: 'status', label: 'Status', width: '90px', render: (v) => vulnStatusBadge(v.status) },
    lastSeenColumn,
  ];
  const groupColumns = [
    levelColumn,
    { key: 'key', label: f.view === 'advisory' ? 'Advisory' : 'Package', render: (g) => h('span', { class: 'mono strong', 'data-testid': 'vuln-group-key' }, g.key) },
    f.view === 'advisory'
      ? { key: 'packages', label: 'Packages', value: (g) => (g.packages || []).join(' '), render: (g) => h('span', { class: 'mono small' }, trunc((g.packages || []).join(', '), 80)) }
      : { key: 'ids', label: 'Advisories', value: (g) => (g.ids || []).length, cls: 'num' },
    { key: 'hosts', label: 'Hosts', cls: 'num', width: '70px' },
    { key: 'unfixed', label: 'Unfixed', cls: 'num', width: '80px' },
    { key: 'ignored', label: 'Ignored', cls: 'num', width: '80px' },
    { key: 'summary', label: 'Summary', render: summaryCell },
    lastSeenColumn,
  ];
  const openRow = (v) => {
    openDrawer();
    if (grouped) renderVulnGroup(v, f.view, f.status === 'unfixed' ? '' : f.status);
    else renderVulnRow(v, { refresh });
  };
  const table = dataTable({
    testid: 'vulns-table',
    columns: grouped ? groupColumns : rowColumns,
    filter: false,
    emptyText: 'No vulnerability matches these filters.',
    tools,
    onRowClick: openRow,
    rowAttrs: (v) => (grouped
      ? { 'data-testid': 'vuln-group-row', 'data-key': v.key, 'data-level': v.level }
      : { 'data-testid': 'vuln-row', 'data-status': v.status, 'data-level': v.level, 'data-advisory': v.advisory, 'data-package': v.package, class: sel.has(v) ? 'row-selected' : '' }),
  });
  sel.attach(table);
  const dbBox = h('div', { class: 'vuln-db-box', 'data-testid': 'vulns-db-box' });
  const pager = h('div', { class: 'pager', 'data-testid': 'vulns-pager' });
  const vulnsPanel = panel(null, [dbBox, h('div', { class: 'vuln-view-row' }, seg), verifyOut, grouped ? null : bar, batchResult, table.el, pager], { testid: 'vulns-panel' });
  setView(vulnsPanel);
  if (!grouped) updateBar();

  async function load() {
    const qs = new URLSearchParams({ limit: String(LIMIT), offset: String(offset), group_by: grouped ? f.view : 'none' });
    for (const k of ['level', 'host', 'package', 'q']) if (f[k]) qs.set(k, f[k]);
    if (f.status !== 'all') qs.set('status', f.status);
    const res = await get(`/api/v1/vulns?${qs}`);
    if (!ctx.alive()) return;
    dbBox.replaceChildren(vulnDbLine(res.database));
    const list = res.items || [];
    if (!grouped) sel.keepOnly(list);
    table.setRows(list);
    if (!grouped) updateBar();
    const total = res.total || 0;
    pageLinks(pager, {
      prefix: 'vulns', offset, limit: LIMIT, shown: list.length, total, hashOf, rangeTestid: 'vulns-range',
      suffix: grouped ? (f.view === 'advisory' ? ' advisories' : ' packages') : '',
      note: res.truncated ? h('span', { class: 'muted small' }, ' (grouped from the first 100,000 rows)') : null,
    });
    // What the rows on show were loaded for (tests wait on it).
    vulnsPanel.dataset.loaded = `${f.view}|${f.status}|${f.level}|${f.host}|${f.package}|${f.q}|${offset}`;
    vulnsPanel.dataset.total = String(total);
  }
  await load();
  autoRefresh(ctx, load);
}

