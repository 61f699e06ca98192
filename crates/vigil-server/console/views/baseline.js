// The Security baseline page: every host's check results, failed and most severe first, a
// status filter kept in the URL, the fleet's schedule, and a drawer with the evidence, the fix
// and the references, where a failed check is verified (the host runs its baseline now) or
// ignored with a reason (and the ignore undone).

import { h, badge, hostLink, humanize, kv, notice, panel, setTitle, setView, aside } from '../lib/dom.js';
import { timeEl, trunc } from '../lib/format.js';
import { api, get, post } from '../lib/api.js';
import { clearError, errorMessage, reportTo, showError } from '../lib/errors.js';
import { hashWith, readParams } from '../lib/router.js';
import { filterSelect, hostFilterChip, numberSelect, refreshButton, submit } from '../lib/form.js';
import { dataTable } from '../lib/table.js';
import { drawerBody, drawerData, drawerTitle, drawerToken, openDrawer } from '../lib/drawer.js';
import { reasonDialog } from './vuln-drawer.js';

const STATUSES = ['failed', 'ignored', 'error', 'passed', 'not_applicable', 'all'];

/** What a result shows as its status: an ignored failure says so. */
const shownStatus = (r) => (r.ignored && r.status === 'failed' ? 'ignored' : r.status);
const statusBadge = (r, testid) => [badge(shownStatus(r), { cls: `bl-${shownStatus(r)}`, testid }),
  r.verifying ? [' ', badge('verifying', { cls: 'bl-verifying', testid: `${testid}-verifying` })] : null];
const levelBadge = (level) => badge(level, { cls: `vl-${level}` });

/** The query of a result's own row, to read it again after a change. */
const rowQuery = (r) => `/api/v1/baseline?${new URLSearchParams({ host: r.host_id, check: r.check_id })}`;

function renderResult(r, refresh, result = null) {
  const my = drawerToken();
  drawerData({ baselineStatus: shownStatus(r) });
  drawerTitle(levelBadge(r.level), ' ', h('span', null, r.title));
  const out = h('div', { class: 'baseline-action-out' }, result);
  const reopen = async (message) => {
    let next = r;
    try {
      const list = await get(rowQuery(r));
      next = (list.results || [])[0] || r;
    } catch (e) {
      showError(e, 'Reloading the check');
    }
    if (my !== drawerToken()) return;
    renderResult(next, refresh, notice(message, { kind: 'ok', testid: 'baseline-action-done' }));
    refresh();
  };
  const verify = h('button', { type: 'button', class: 'btn', 'data-testid': 'baseline-verify', title: 'The host runs its baseline with its next heartbeat' }, r.verifying ? 'Verify again' : 'Verify');
  verify.addEventListener('click', () => {
    clearError();
    submit(verify, {
      onError: (e) => out.replaceChildren(notice(errorMessage(e), { kind: 'error', testid: 'baseline-action-error' })),
    }, async () => {
      await post('/api/v1/baseline/verify', { host_id: r.host_id, check_id: r.check_id });
      await reopen('Verifying: the host runs its baseline with its next heartbeat; a fixed check then passes.');
    });
  });
  let action = null;
  if (r.status === 'failed' && !r.ignored) {
    action = h('button', { type: 'button', class: 'btn', 'data-testid': 'baseline-ignore' }, 'Ignore…');
    action.addEventListener('click', () => reasonDialog({
      title: `Ignore “${r.title}”`,
      text: `On ${r.hostname || r.host_id}. It stays listed under Ignored, with the reason, and costs no score until you undo it.`,
      act: async (reason) => {
        await post('/api/v1/baseline/ignore', { host_id: r.host_id, check_id: r.check_id, reason });
        await reopen('Ignored.');
      },
    }));
  } else if (r.ignored) {
    action = h('button', { type: 'button', class: 'btn', 'data-testid': 'baseline-unignore' }, 'Undo ignore');
    action.addEventListener('click', () => {
      clearError();
      submit(action, {
        onError: (e) => out.replaceChildren(notice(errorMessage(e), { kind: 'error', testid: 'baseline-action-error' })),
      }, async () => {
        await post('/api/v1/baseline/unignore', { host_id: r.host_id, check_id: r.check_id });
        await reopen('No longer ignored.');
      });
    });
  }
  drawerBody(
    h('div', { class: 'baseline-drawer', 'data-testid': 'baseline-drawer', 'data-check-id': r.check_id, 'data-status': shownStatus(r) },
      out,
      kv([
        ['Host', hostLink(r.host_id, r.hostname)],
        ['Check', h('span', { class: 'mono', 'data-testid': 'baseline-check-id' }, r.check_id)],
        ['Category', humanize(r.category)],
        ['Level', levelBadge(r.level)],
        ['Status', [statusBadge(r, 'baseline-status'), r.ignored
          ? h('div', { class: 'muted small', 'data-testid': 'baseline-ignored' }, `“${r.ignored.reason}” — ${r.ignored.by} `, timeEl(r.ignored.at))
          : null]],
        r.first_failed_at ? ['Failing since', timeEl(r.first_failed_at, { full: true })] : null,
        ['Last run', timeEl(r.last_run_at, { full: true })],
        r.verifying ? ['Verify asked', timeEl(r.verifying, { full: true })] : null,
      ].filter(Boolean), { testid: 'baseline-kv' }),
      r.evidence ? [h('h3', { class: 'sub' }, 'Evidence'),
        h('p', { class: 'mono small wrap', 'data-testid': 'baseline-evidence' }, r.evidence),
        r.file ? h('p', { class: 'muted small mono', 'data-testid': 'baseline-file' }, r.file) : null] : null,
      r.remediation ? [h('h3', { class: 'sub' }, 'Fix'), h('p', { 'data-testid': 'baseline-remediation' }, r.remediation)] : null,
      r.refs && r.refs.length ? [h('h3', { class: 'sub' }, 'References'),
        h('p', { class: 'small', 'data-testid': 'baseline-refs' }, r.refs.map((x) => h('span', { class: 'chip mono' }, x)))] : null,
      h('div', { class: 'drawer-actions' }, verify, action ? [' ', action] : null)));
}

/** Opens a result in the drawer; `refresh` reloads the list it came from after a change. */
export function openBaselineResult(r, refresh) {
  openDrawer();
  renderResult(r, refresh);
}

/** The columns of a results table (`host: false` on a host's own page). */
export function baselineColumns({ host = true } = {}) {
  return [
    host ? { key: 'hostname', label: 'Host', width: '14%', value: (r) => r.hostname || r.host_id, render: (r) => hostLink(r.host_id, r.hostname, { class: 'strong' }) } : null,
    {
      key: 'title', label: 'Check', width: '34%', value: (r) => `${r.title} ${r.check_id}`,
      render: (r) => h('span', null, h('span', { 'data-testid': 'baseline-title' }, r.title), h('div', { class: 'muted small mono' }, r.check_id)),
    },
    { key: 'category', label: 'Category', width: '14%', render: (r) => humanize(r.category) },
    { key: 'level', label: 'Level', width: '80px', render: (r) => levelBadge(r.level) },
    { key: 'status', label: 'Status', width: '110px', value: shownStatus, render: (r) => statusBadge(r, 'baseline-row-status') },
    { key: 'evidence', label: 'Evidence', cls: 'small', render: (r) => h('span', { title: r.evidence }, trunc(r.evidence || '', 90)) },
    { key: 'last_run_at', label: 'Last run', width: '96px', nofilter: true, render: (r) => timeEl(r.last_run_at) },
  ].filter(Boolean);
}

/** What a row carries for tests and styles. */
export const baselineRowAttrs = (r) => ({ 'data-testid': 'baseline-row', 'data-check-id': r.check_id, 'data-host-id': r.host_id, 'data-status': shownStatus(r) });

/** The summary line of a list. */
export const baselineSummaryText = (s = {}) => `${s.failed || 0} failed · ${s.ignored || 0} ignored · ${s.error || 0} errors · ${s.passed || 0} passed · ${s.not_applicable || 0} not applicable${s.verifying ? ` · ${s.verifying} verifying` : ''}`;

/** The fleet's schedule: every N days in the host's night window, changed in place. */
function scheduleControl(ctx) {
  const note = h('span', { class: 'muted small', 'data-testid': 'baseline-schedule-note' });
  const wrap = h('label', { class: 'inline small' }, 'Runs every ');
  get('/api/v1/baseline/schedule').then((s) => {
    if (!ctx.alive()) return;
    const sel = numberSelect({ 'data-testid': 'baseline-schedule', 'aria-label': 'Baseline runs every' },
      [[1, '1 day'], [2, '2 days'], [3, '3 days'], [7, '7 days'], [30, '30 days']], s.every_days);
    const say = (x) => { note.textContent = ` between ${String(x.from_hour).padStart(2, '0')}:00 and ${String(x.to_hour).padStart(2, '0')}:00 host time`; };
    say(s);
    sel.addEventListener('change', async () => {
      try {
        const saved = await api('PUT', '/api/v1/baseline/schedule', { ...s, every_days: Number(sel.value) });
        Object.assign(s, saved);
        say(saved);
        note.textContent += ' · saved';
      } catch (e) {
        showError(e, 'Saving the baseline schedule');
        sel.value = String(s.every_days);
      }
    });
    wrap.append(sel, note);
  }).catch(reportTo(ctx, 'Loading the baseline schedule'));
  return wrap;
}

/** Failed (or the status shown) results grouped by check: how many hosts each concerns. */
function byCheck(results) {
  const m = new Map();
  for (const r of results) {
    const e = m.get(r.check_id) || { check_id: r.check_id, title: r.title, level: r.level, category: r.category, hosts: 0, names: [] };
    e.hosts += 1;
    if (e.names.length < 5) e.names.push(r.hostname || r.host_id);
    m.set(r.check_id, e);
  }
  const rank = { high: 0, medium: 1, low: 2 };
  return [...m.values()].sort((a, b) => (rank[a.level] - rank[b.level]) || (b.hosts - a.hosts) || a.check_id.localeCompare(b.check_id));
}

export async function viewBaseline(ctx) {
  setTitle('Security baseline');
  const f = readParams(ctx.params, { status: 'failed', host: '', check: '', view: '' });
  if (!STATUSES.includes(f.status)) f.status = 'failed';
  const byCheckView = f.view === 'check';
  const go = (changes) => {
    const next = { ...f, ...changes };
    if (next.status === 'failed') next.status = '';
    location.hash = hashWith('/baseline', next);
  };
  const statusSel = filterSelect({
    id: 'baseline-status', label: 'Status', all: null, value: f.status,
    choices: STATUSES, onPick: (v) => go({ status: v || 'failed' }),
  });
  const viewSel = filterSelect({
    id: 'baseline-view', label: 'View', all: null, value: byCheckView ? 'check' : 'host',
    choices: [['host', 'By host'], ['check', 'By check']], onPick: (v) => go({ view: v === 'check' ? 'check' : '', check: '' }),
  });
  const checkChip = f.check
    ? h('a', { class: 'chip', href: hashWith('/baseline', { ...f, check: '' }), 'data-testid': 'baseline-check-chip', title: 'Show every check' }, `check ${f.check} ×`)
    : null;
  const summary = h('div', { class: 'baseline-summary muted small', 'data-testid': 'baseline-summary' });
  const tools = [viewSel, statusSel, f.host ? hostFilterChip(f.host, '#/baseline') : null, checkChip, scheduleControl(ctx),
    refreshButton(ctx, 'baseline-refresh', 'Loading the baseline', () => load())];
  const table = byCheckView
    ? dataTable({
      testid: 'baseline-checks',
      placeholder: 'Filter by check, category…',
      emptyText: 'No check with this status on any host.',
      tools,
      rowAttrs: (c) => ({ 'data-testid': 'baseline-check-row', 'data-check-id': c.check_id }),
      onRowClick: (c) => go({ view: '', check: c.check_id }),
      columns: [
        { key: 'title', label: 'Check', width: '40%', value: (c) => `${c.title} ${c.check_id}`,
          render: (c) => h('span', null, c.title, h('div', { class: 'muted small mono' }, c.check_id)) },
        { key: 'category', label: 'Category', width: '16%', render: (c) => humanize(c.category) },
        { key: 'level', label: 'Level', width: '80px', render: (c) => levelBadge(c.level) },
        { key: 'hosts', label: 'Hosts', width: '80px', cls: 'num', render: (c) => h('span', { 'data-testid': 'baseline-check-hosts' }, String(c.hosts)) },
        { key: 'names', label: 'On', cls: 'small', value: (c) => c.names.join(' '), render: (c) => `${c.names.join(', ')}${c.hosts > c.names.length ? ', …' : ''}` },
      ],
    })
    : dataTable({
      testid: 'baseline-table',
      placeholder: 'Filter by host, check, category…',
      emptyText: f.status === 'failed'
        ? 'No failed check. The agents run the baseline at start and then on the schedule above.'
        : 'No result with this status.',
      tools,
      rowAttrs: baselineRowAttrs,
      onRowClick: (r) => openBaselineResult(r, () => load().catch(reportTo(ctx, 'Loading the baseline'))),
      columns: baselineColumns(),
    });
  setView(panel('Security baseline', [summary, table.el], {
    testid: 'baseline-panel',
    extra: aside('Each agent checks its host against the baseline; failed checks cost score until fixed or ignored with a reason.'),
  }));

  async function load() {
    const qs = new URLSearchParams();
    if (f.status !== 'all') qs.set('status', f.status);
    if (f.host) qs.set('host', f.host);
    if (f.check) qs.set('check', f.check);
    const res = await get(`/api/v1/baseline${qs.toString() ? `?${qs}` : ''}`);
    if (!ctx.alive()) return;
    summary.textContent = baselineSummaryText(res.summary);
    table.setRows(byCheckView ? byCheck(res.results || []) : (res.results || []));
  }
  await load();
}
