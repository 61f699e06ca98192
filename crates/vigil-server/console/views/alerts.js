// The alert list: filters kept in the URL (search, status, level, type, time, sort, host), a
// page of alerts from the server, and the batch bar that handles the selected ones.

import { h, panel, setTitle, setView } from '../lib/dom.js';
import { DATE_RE, dateToUnix, isoDate } from '../lib/format.js';
import { get } from '../lib/api.js';
import { clearError, reportTo, showError } from '../lib/errors.js';
import { hashWith, readParams } from '../lib/router.js';
import { filterSelect, hostFilterChip, searchBox, submit } from '../lib/form.js';
import { dataTable, pageLinks, selection } from '../lib/table.js';
import { M, actionLabel, kinds } from '../lib/meta.js';
import { HOST_ACTION_WAIT_MS, alertColumns, durationSelect, handleAlerts, resultsNotice } from './alert-handling.js';
import { openAlert } from './alert-drawer.js';

/** The alert list's time presets: label and how far back, in seconds. */
const TIME_PRESETS = { '24h': ['Last 24 hours', 86400], '7d': ['Last 7 days', 7 * 86400], '30d': ['Last 30 days', 30 * 86400] };
const ALERT_SORTS = [['newest', 'Newest first'], ['oldest', 'Oldest first'], ['level', 'Level, then newest']];
const LIMIT = 50;

/** The filters in the URL, with what is not allowed dropped. */
function filtersOf(p) {
  // Without a status in the URL the page lists what waits for an operator; `all` lists every status.
  // A time preset (24h, 7d, 30d) counts back from each load; custom takes the dates since/until.
  const f = readParams(p, { level: '', status: 'unhandled', kind: '', host: '', q: '', time: '', since: '', until: '', sort: '' });
  if (f.status !== 'all' && !M.alerts.statuses.includes(f.status)) f.status = 'unhandled';
  if (!ALERT_SORTS.some(([v]) => v === f.sort) || f.sort === 'newest') f.sort = '';
  // Dates in the URL without a preset are a custom range.
  if (!f.time && (f.since || f.until)) f.time = 'custom';
  if (f.time && !TIME_PRESETS[f.time] && f.time !== 'custom') f.time = '';
  if (f.time !== 'custom') {
    f.since = '';
    f.until = '';
  }
  return f;
}

/** The API query for the filters: presets count back from now, custom dates are local days. */
function apiQuery(f, offset) {
  const qs = new URLSearchParams({ limit: String(LIMIT), offset: String(offset) });
  for (const k of ['level', 'status', 'kind', 'host', 'q', 'sort']) {
    if (f[k] && !(k === 'status' && f[k] === 'all')) qs.set(k, f[k]);
  }
  if (TIME_PRESETS[f.time]) {
    qs.set('since', String(Math.floor(Date.now() / 1000) - TIME_PRESETS[f.time][1]));
  } else if (f.time === 'custom') {
    const since = dateToUnix(f.since);
    const until = dateToUnix(f.until, { nextDay: true });
    if (since !== null) qs.set('since', String(since));
    if (until !== null) qs.set('until', String(until));
  }
  return qs;
}

/** A form row that opens from a batch bar button: a label, a hint, Confirm and Cancel. */
function batchForm(testid, label, hint, confirm, cancel) {
  return h('div', { class: 'batch-wl', hidden: true, 'data-testid': testid },
    h('label', { class: 'inline' }, ...label), h('span', { class: 'muted small' }, hint),
    h('span', { class: 'spacer' }), confirm, cancel);
}

const smallButton = (testid, text, cls = '') => h('button', { type: 'button', class: `btn small${cls ? ` ${cls}` : ''}`, 'data-testid': testid }, text);

export async function viewAlerts(ctx) {
  setTitle('Alerts');
  const p = ctx.params;
  const f = filtersOf(p);
  const offset = Math.max(0, parseInt(p.get('offset') || '0', 10) || 0);
  const hashOf = (changes) => {
    const next = { ...f, offset: '', ...changes };
    if (next.status === 'unhandled') next.status = '';
    // The defaults stay out of the URL.
    if (next.sort === 'newest') next.sort = '';
    if (next.time !== 'custom') {
      next.since = '';
      next.until = '';
    }
    return hashWith('/alerts', next);
  };
  const go = (changes) => {
    location.hash = hashOf(changes);
  };
  const select = (name, label, all, choices, value) => filterSelect({
    id: `alerts-${name}`, label, all, choices, value, onPick: (v) => go({ [name]: v, offset: '' }),
  });

  // ---- text search: typed text goes to the URL (and the server) after a pause
  // The page is rebuilt on every URL change: the control that had the focus gets it back,
  // and the search box keeps what was typed meanwhile.
  const focused = document.activeElement;
  const refocus = focused && focused.id && focused.id.startsWith('alerts-') && focused.closest('#view') ? focused.id : null;
  const prevSearch = document.getElementById('alerts-search');
  const carry = prevSearch && refocus === 'alerts-search'
    ? { value: prevSearch.value, start: prevSearch.selectionStart, end: prevSearch.selectionEnd }
    : null;
  const search = searchBox({
    id: 'alerts-search', cls: 'alerts-search', placeholder: 'Search alert names…', label: 'Search alert names',
    value: carry ? carry.value : f.q, current: f.q, onSearch: (q) => go({ q, offset: '' }),
  });
  const searchIn = search.el;

  // ---- time: presets, or a custom range of local dates (the until day included)
  const timeSel = select('time', 'Last seen', 'Any time', [...Object.entries(TIME_PRESETS).map(([v, [t]]) => [v, t]), ['custom', 'Custom range…']], f.time);
  const dateIn = (name, label, value) => {
    const d = h('input', { type: 'date', id: `alerts-${name}`, 'data-testid': `alerts-${name}`, 'aria-label': label, value, max: isoDate(new Date()) });
    d.addEventListener('change', () => {
      if (d.value && !DATE_RE.test(d.value)) return;
      go({ [name]: d.value, time: 'custom', offset: '' });
    });
    return d;
  };
  const sinceIn = dateIn('since', 'From (date)', f.since);
  const untilIn = dateIn('until', 'To (date, included)', f.until);
  if (f.since) untilIn.min = f.since;
  const range = h('span', { class: 'date-range', 'data-testid': 'alerts-date-range', hidden: f.time !== 'custom' },
    sinceIn, h('span', { class: 'muted' }, 'to'), untilIn,
    f.since && f.until && f.since > f.until ? h('span', { class: 'range-warn small', 'data-testid': 'alerts-range-warn' }, 'ends before it starts') : null);
  const sortSel = select('sort', 'Sort', null, ALERT_SORTS, f.sort || 'newest');

  const tools = [
    searchIn,
    h('label', { class: 'inline' }, 'Status ', select('status', 'Status', null, [...M.alerts.statuses, 'all'], f.status)),
    h('label', { class: 'inline' }, 'Level ', select('level', 'Level', 'All levels', M.alerts.levels, f.level)),
    h('label', { class: 'inline' }, 'Type ', select('kind', 'Type', 'All types', kinds(), f.kind)),
    h('label', { class: 'inline' }, 'Last seen ', timeSel),
    range,
    h('label', { class: 'inline' }, 'Sort ', sortSel),
    f.host ? hostFilterChip(f.host, hashOf({ host: '' })) : null,
  ];

  // ---- selection and the batch action bar
  const sel = selection({
    key: (a) => a.id,
    testids: { all: 'alerts-check-all', row: 'alert-check', count: 'batch-count', clear: 'batch-clear' },
    allLabel: 'Select every alert on this page',
    rowLabel: (a) => `Select alert ${a.id}`,
    idleText: 'Select alerts to handle several at once',
    onChange: () => updateBar(),
  });
  const noteIn = h('input', { type: 'text', class: 'batch-note', 'data-testid': 'batch-note', maxlength: '1000', placeholder: 'Note (optional)', 'aria-label': 'Note' });
  const bIgnore = smallButton('batch-ignore', 'Ignore');
  const bHandled = smallButton('batch-handled', 'Mark handled');
  const bWhitelist = smallButton('batch-whitelist', 'Whitelist…');
  const scopeSel = h('select', { 'data-testid': 'batch-scope', 'aria-label': 'Whitelist scope' },
    h('option', { value: 'host' }, "each alert's host"),
    h('option', { value: 'group' }, "each alert's group"),
    h('option', { value: 'all' }, 'all hosts'));
  const bConfirm = smallButton('batch-whitelist-confirm', 'Whitelist', 'primary');
  const bCancel = smallButton('batch-whitelist-cancel', 'Cancel');
  const wlForm = batchForm('batch-whitelist-form', ['Whitelist for ', scopeSel],
    'One rule per distinct key (e.g. port, command line, file MD5); later alerts that match it are whitelisted too.', bConfirm, bCancel);
  // Blocking each alert's source address on its host: the server refuses alerts without one.
  const bBlock = smallButton('batch-block', 'Block source IP…');
  const blockDuration = durationSelect({ 'data-testid': 'batch-block-duration' });
  const bBlockConfirm = smallButton('batch-block-confirm', 'Block', 'danger');
  const bBlockCancel = smallButton('batch-block-cancel', 'Cancel');
  const blockForm = batchForm('batch-block-form', ["Block each alert's source IP on its host for ", blockDuration],
    'Alerts without a source_ip are refused. Each block becomes an IP policy rule; the alert is in progress until its agent reports.', bBlockConfirm, bBlockCancel);
  const batchResult = h('div', { class: 'batch-result', 'data-testid': 'batch-result', 'aria-live': 'polite' });
  const actionButtons = [bIgnore, bHandled, bWhitelist, bConfirm, bBlock, bBlockConfirm];
  const bar = h('div', { class: 'batch', 'data-testid': 'batch-bar' },
    h('div', { class: 'batch-row' }, sel.count, noteIn, bIgnore, bHandled, bWhitelist, bBlock, sel.clear),
    wlForm, blockForm);

  function updateBar() {
    if (!sel.update(bar, actionButtons)) {
      wlForm.hidden = true;
      blockForm.hidden = true;
    }
    bWhitelist.classList.toggle('active', !wlForm.hidden);
    bBlock.classList.toggle('active', !blockForm.hidden);
  }

  function batch(action, btn) {
    const ids = sel.values();
    if (!ids.length) return;
    clearError();
    submit(btn, {
      busy: 'Working…',
      also: actionButtons,
      ctx,
      context: `${actionLabel(action)} ${ids.length} alert${ids.length === 1 ? '' : 's'}`,
    }, async () => {
      const results = await handleAlerts(ids, action, { note: noteIn.value.trim(), scope: scopeSel.value, duration: blockDuration.value });
      if (!ctx.alive()) return;
      // What changed is done; what did not stays selected, beside its message.
      for (const r of results) if (r.outcome === 'changed') sel.drop(r.id);
      batchResult.replaceChildren(resultsNotice(action, results));
      if (results.some((r) => r.outcome === 'changed')) {
        noteIn.value = '';
        wlForm.hidden = true;
        blockForm.hidden = true;
      }
      await load();
      if (action === 'block_ip') followProgress(results.filter((r) => r.outcome === 'changed').map((r) => r.id));
    }).then(() => {
      if (ctx.alive()) updateBar();
    });
  }
  /** While alerts on show wait for their agents (in progress), the list looks again every 2 s. */
  function followProgress(ids) {
    if (!ids.length) return;
    const until = Date.now() + HOST_ACTION_WAIT_MS;
    const tick = async () => {
      if (!ctx.alive() || Date.now() > until) return;
      if (!table.rows().some((a) => ids.includes(a.id) && a.status === 'in_progress')) return;
      try {
        await load();
      } catch (e) {
        if (ctx.alive()) showError(e, 'Refreshing alerts');
        return;
      }
      setTimeout(tick, 2000);
    };
    setTimeout(tick, 2000);
  }
  /** Opens `form` (closing `other`), or closes it. */
  const toggleForm = (form, other) => {
    form.hidden = !form.hidden;
    if (!form.hidden) other.hidden = true;
    updateBar();
  };
  const closeForm = (form) => {
    form.hidden = true;
    updateBar();
  };
  bIgnore.addEventListener('click', () => batch('ignore', bIgnore));
  bHandled.addEventListener('click', () => batch('handled', bHandled));
  bWhitelist.addEventListener('click', () => toggleForm(wlForm, blockForm));
  bBlock.addEventListener('click', () => toggleForm(blockForm, wlForm));
  bBlockCancel.addEventListener('click', () => closeForm(blockForm));
  bBlockConfirm.addEventListener('click', () => batch('block_ip', bBlockConfirm));
  bCancel.addEventListener('click', () => closeForm(wlForm));
  bConfirm.addEventListener('click', () => batch('whitelist', bConfirm));

  const table = dataTable({
    testid: 'alerts-table',
    columns: [sel.column, ...alertColumns()],
    filter: false,
    emptyText: f.status === 'unhandled' ? 'No unhandled alert matches these filters.' : 'No alert matches these filters.',
    tools,
    onRowClick: (a) => openAlert(a.id, { onChange: () => load().catch(reportTo(ctx, 'Refreshing alerts')) }),
    rowAttrs: (a) => ({ 'data-alert-id': a.id, 'data-testid': 'alert-row', 'data-status': a.status, class: sel.has(a) ? 'row-selected' : '' }),
  });
  sel.attach(table);
  const pager = h('div', { class: 'pager', 'data-testid': 'alerts-pager' });
  const alertsPanel = panel(null, [bar, batchResult, table.el, pager], { testid: 'alerts-panel' });
  setView(alertsPanel);
  updateBar();
  if (refocus) {
    const el = document.getElementById(refocus);
    if (el) {
      el.focus({ preventScroll: true });
      if (el === searchIn && carry) {
        try {
          searchIn.setSelectionRange(carry.start, carry.end);
        } catch (_) { /* not a text field any more */ }
        // Typed while the page was being rebuilt: searched after the usual pause.
        if (carry.value.trim() !== f.q) search.later();
      }
    }
  }

  async function load() {
    const res = await get(`/api/v1/alerts?${apiQuery(f, offset)}`);
    if (!ctx.alive()) return;
    const list = res.alerts || [];
    sel.keepOnly(list);
    table.setRows(list);
    updateBar();
    pageLinks(pager, {
      prefix: 'alerts', offset, limit: LIMIT, shown: list.length, total: res.total || 0, hashOf, suffix: res.total_capped ? '+' : '',
    });
    // What the rows on show were loaded for (tests wait on it).
    alertsPanel.dataset.loadedStatus = f.status;
    alertsPanel.dataset.loadedQ = f.q;
    alertsPanel.dataset.loadedTime = f.time === 'custom' ? `custom:${f.since}:${f.until}` : f.time;
    alertsPanel.dataset.loadedSort = f.sort || 'newest';
  }
  await load();
}
