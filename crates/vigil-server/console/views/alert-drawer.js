// The alert drawer: an alert's facts and evidence, its handling (ignore, mark handled,
// whitelist with a scope) and the host actions its agent runs (kill, quarantine, block), which
// the drawer follows until the agent reports.

import { h, badge, humanize, kv, loading, notice, hostLink } from '../lib/dom.js';
import { enc, fmtNum, timeEl } from '../lib/format.js';
import { get, getUser } from '../lib/api.js';
import { clearError, errorMessage, showError } from '../lib/errors.js';
import { hashWith } from '../lib/router.js';
import { submit } from '../lib/form.js';
import { drawerBody, drawerData, drawerTitle, drawerToken, inDrawer, openDrawer } from '../lib/drawer.js';
import { actionAllowed, actionLabel, keyFields } from '../lib/meta.js';
import { HOST_ACTION_WAIT_MS, durationSelect, handleAlerts, resultFor, resultsNotice } from './alert-handling.js';

const fetchAlert = (id) => get(`/api/v1/alerts/${enc(id)}`);

/** The alert as the server has it now, or `a` when that cannot be read (null: signed out). */
async function freshOr(a, fallback = a) {
  try {
    return await fetchAlert(a.id);
  } catch (e) {
    return e.handled ? null : fallback;
  }
}

export async function openAlert(id, { onChange = null } = {}) {
  const my = openDrawer();
  drawerTitle(`Alert #${id}`);
  drawerBody(loading());
  let a;
  try {
    a = await fetchAlert(id);
  } catch (e) {
    if (my === drawerToken()) {
      drawerBody(notice(errorMessage(e), { kind: 'error' }));
      showError(e, `Loading alert ${id}`);
    }
    return;
  }
  if (my !== drawerToken()) return;
  renderAlert(a, { onChange });
}

/** Bumped by every render of the drawer: a poll started by an older render stops. */
let renderSeq = 0;

/**
 * Fills the open drawer with alert `a`; `result` (a notice) shows what the last action did.
 * An alert `in_progress` (a host action runs) is polled every second until it leaves that
 * status or `HOST_ACTION_WAIT_MS` after `startedAt`, unless `watch` is false.
 */
function renderAlert(a, { onChange = null, result = null, note = '', watch = true, startedAt = Date.now() } = {}) {
  const my = drawerToken();
  const seq = ++renderSeq;
  const live = () => my === drawerToken() && seq === renderSeq;
  const inProgress = a.status === 'in_progress';
  drawerData({ alertId: String(a.id), status: a.status });
  drawerTitle(badge(a.level), ' ', h('span', null, a.name));
  const ev = (a.evidence || []).length
    ? h('table', { class: 'grid evidence', 'data-testid': 'alert-evidence' },
      h('thead', null, h('tr', null, h('th', { style: 'width:30%' }, 'Name'), h('th', null, 'Value'))),
      h('tbody', null, a.evidence.map((e) => h('tr', null, h('td', { class: 'ev-name' }, humanize(e.name)), h('td', null, h('code', { class: 'ev-value' }, e.value))))))
    : notice('This alert carries no evidence.');

  // ---- handling: server-side actions only (host actions need the agent command channel)
  const noteIn = h('input', { type: 'text', class: 'handle-note', 'data-testid': 'handle-note', maxlength: '1000', placeholder: 'Note (optional): why', 'aria-label': 'Note', value: note });
  const resultBox = h('div', { class: 'handle-result', 'data-testid': 'handle-result', 'aria-live': 'polite' }, result);
  const buttons = [];
  const button = (action, text, cls = '') => {
    const b = h('button', { type: 'button', class: `btn small ${cls}`, 'data-testid': `handle-${action}` }, text);
    buttons.push(b);
    return b;
  };
  const setButtons = (off) => buttons.forEach((b) => { b.disabled = off; });
  const whitelisted = a.status === 'whitelisted';
  const bIgnore = button('ignore', 'Ignore');
  const bHandled = button('handled', 'Mark handled');
  const bWhitelist = whitelisted ? null : button('whitelist', 'Whitelist…');
  const bUnwhitelist = whitelisted ? button('unwhitelist', 'Remove whitelist', 'danger-outline') : null;

  // The whitelist form: where the rule applies, and the key it will match.
  let wlForm = null;
  let scopeOf = () => 'host';
  if (bWhitelist) {
    const scopes = [
      ['host', 'This host', a.hostname || a.host_id],
      ['group', "This host's group", 'every host of the group'],
      ['all', 'All hosts', 'every protected host'],
    ];
    const hints = {};
    const radios = scopes.map(([v, label, hint]) => h('label', { class: 'radio' },
      h('input', { type: 'radio', name: 'wl-scope', value: v, checked: v === 'host', 'data-testid': `wl-scope-${v}` }),
      h('span', null, label), hints[v] = h('span', { class: 'muted small' }, hint)));
    // The alert does not name the host's group: ask for it once the form is opened.
    let groupAsked = false;
    const askGroup = () => {
      if (groupAsked) return;
      groupAsked = true;
      get(`/api/v1/hosts/${enc(a.host_id)}`).then((host) => {
        if (my === drawerToken() && host.group) hints.group.textContent = `every host of group ${host.group}`;
      }).catch(() => { /* the generic hint stays */ });
    };
    scopeOf = () => (radios.map((r) => r.querySelector('input')).find((i) => i.checked) || { value: 'host' }).value;
    const keys = keyFields(a.kind);
    const key = keys.map((k) => [k, (a.evidence || []).find((e) => e.name === k && e.value !== '')]).filter(([, e]) => e);
    const confirmB = button('whitelist-confirm', 'Whitelist', 'primary');
    const cancelB = h('button', { type: 'button', class: 'btn small', 'data-testid': 'handle-whitelist-cancel' }, 'Cancel');
    wlForm = h('div', { class: 'wl-form', 'data-testid': 'whitelist-form', hidden: true },
      h('div', { class: 'wl-scopes', role: 'radiogroup', 'aria-label': 'Whitelist scope' }, radios),
      key.length
        ? h('div', { class: 'small' }, h('span', { class: 'muted' }, `Matches ${humanize(a.kind)} alerts with `),
          h('span', { class: 'chips' }, key.map(([k, e]) => h('span', { class: 'chip' }, `${k}=${e.value}`))))
        : notice(`This alert carries none of the fields a ${humanize(a.kind)} whitelist is keyed by (${keys.join(', ') || 'none'}).`, { kind: 'warn' }),
      h('div', { class: 'handle-actions' }, confirmB, cancelB));
    bWhitelist.addEventListener('click', () => {
      askGroup();
      wlForm.hidden = !wlForm.hidden;
      bWhitelist.classList.toggle('active', !wlForm.hidden);
    });
    cancelB.addEventListener('click', () => {
      wlForm.hidden = true;
      bWhitelist.classList.remove('active');
    });
    confirmB.addEventListener('click', () => act('whitelist', confirmB));
  }

  function act(action, btn) {
    clearError();
    const noteText = noteIn.value.trim();
    return submit(btn, {
      busy: `${btn.textContent}…`.replace('……', '…'),
      also: buttons,
      onError: (e) => {
        if (my === drawerToken()) showError(e, `${actionLabel(action)} alert ${a.id}`);
      },
    }, async () => {
      const results = await handleAlerts([a.id], action, { note: noteText, scope: scopeOf() });
      if (my !== drawerToken()) return;
      const r = resultFor(results, a.id);
      const fresh = await freshOr(a, { ...a, status: (r && r.status) || a.status });
      if (!fresh || my !== drawerToken()) return;
      const changed = results.some((x) => x.outcome === 'changed');
      renderAlert(fresh, { onChange, result: resultsNotice(action, results), note: changed ? '' : noteText });
      if (changed && onChange) onChange();
    });
  }
  bIgnore.addEventListener('click', () => act('ignore', bIgnore));
  bHandled.addEventListener('click', () => act('handled', bHandled));
  if (bUnwhitelist) bUnwhitelist.addEventListener('click', () => act('unwhitelist', bUnwhitelist));

  // ---- host actions: run on the host by its agent as signed commands
  const hostBox = hostActions(a, {
    disableAll: setButtons,
    noteText: () => noteIn.value.trim(),
    live,
    onQueued: (results, action) => {
      const r = resultFor(results, a.id);
      // The server said where the alert stands: show that now, then follow it.
      renderAlert({ ...a, status: r.status || 'in_progress', note: noteIn.value.trim(), handled_by: getUser() || a.handled_by, handled_at: Date.now() / 1000 },
        { onChange, result: hostQueuedNotice(action, r), startedAt: Date.now() });
      if (onChange) onChange();
    },
    onRefused: async (results, action) => {
      const fresh = await freshOr(a);
      if (fresh && live()) renderAlert(fresh, { onChange, result: resultsNotice(action, results), note: noteIn.value.trim() });
    },
  });
  // In progress, the alert is the agent's until it reports: nothing else applies meanwhile.
  if (inProgress) {
    setButtons(true);
    noteIn.disabled = true;
  }

  const handle = h('div', { class: 'handle-box', 'data-testid': 'alert-handle' },
    h('div', { class: 'handle-actions' }, bIgnore, bHandled, bWhitelist, bUnwhitelist),
    noteIn,
    wlForm,
    whitelisted ? h('div', { class: 'muted small' }, 'Removing the whitelist deletes its rule: every alert it covered returns to the list.') : null,
    hostBox,
    resultBox,
    inProgress ? hostProgress(a, startedAt, watch) : null);

  drawerBody(
    kv([
      ['Host', hostLink(a.host_id, a.hostname)],
      ['Type', humanize(a.kind)],
      ['Level', badge(a.level)],
      ['Status', badge(a.status, { testid: 'alert-status' })],
      ['First seen', timeEl(a.first_seen, { full: true })],
      ['Last seen', timeEl(a.last_seen, { full: true })],
      ['Occurrences', fmtNum(a.count)],
      ['Alert ID', String(a.id)],
      a.handled_by && a.handled_at ? ['Last change', h('span', null, `${a.handled_by} · `, timeEl(a.handled_at))] : null,
      a.note ? ['Note', h('span', { class: 'wrap', 'data-testid': 'alert-note' }, a.note)] : null,
    ].filter(Boolean)),
    h('h3', { class: 'sub' }, 'Handle'),
    handle,
    h('h3', { class: 'sub' }, 'Evidence'),
    ev,
  );

  if (inProgress && watch) {
    watchHostAction(a, { onChange, result, startedAt, live });
  } else if (inProgress) {
    // Not followed any more: offer to look again.
    const again = inDrawer('host-action-check');
    if (again) again.addEventListener('click', () => renderAlert(a, { onChange, result, startedAt: Date.now() }));
  }
}

// ---------------------------------------------------------------- host actions

/** The first non-empty evidence value among `names`, as the server picks it. */
function evidenceValue(a, names) {
  for (const n of names) {
    const e = (a.evidence || []).find((x) => x.name === n && x.value !== '');
    if (e) return e.value;
  }
  return null;
}

/** What a host action would act on: the pid (kill needs one above 1) and an absolute file. */
function hostTargets(a) {
  const p = evidenceValue(a, ['pid']);
  const pid = p !== null && /^\d{1,10}$/.test(p) && Number(p) > 1 && Number(p) <= 4294967295 ? Number(p) : null;
  const f = evidenceValue(a, ['path', 'file']);
  const file = f !== null && f.startsWith('/') ? f : null;
  // Blocking needs the address the alert came from (the server checks it is one).
  const ip = evidenceValue(a, ['source_ip']);
  return { pid, file, ip, process: evidenceValue(a, ['process', 'name']) };
}

/**
 * The drawer's "On the host" box: Kill process, Kill and quarantine (the alert names a pid),
 * Quarantine file (it names an absolute path), Block source IP for a chosen time (it names a
 * source_ip), each offered from the statuses the server allows it. Each asks for a second click.
 */
function hostActions(a, { disableAll, noteText, live, onQueued, onRefused }) {
  const t = hostTargets(a);
  const list = [];
  if (t.pid !== null) {
    list.push(['kill_process', 'Kill process', 'Confirm kill']);
    list.push(['kill_and_quarantine', 'Kill and quarantine', 'Confirm kill and quarantine']);
  }
  if (t.file !== null) list.push(['quarantine', 'Quarantine file', 'Confirm quarantine']);
  if (t.ip !== null) list.push(['block_ip', 'Block source IP', 'Confirm block']);
  const offered = list.filter(([action]) => actionAllowed(action, a.status));
  if (!offered.length) return null;
  const hostButtons = [];
  let timer = null;
  const disarm = () => {
    clearTimeout(timer);
    for (const b of hostButtons) {
      b.dataset.armed = '';
      b.textContent = b.dataset.label;
      b.classList.remove('danger');
    }
  };
  for (const [action, label, confirmText] of offered) {
    const b = h('button', { type: 'button', class: 'btn small danger-outline', 'data-testid': `handle-${action}`, dataset: { label } }, label);
    b.addEventListener('click', () => {
      if (b.dataset.armed !== '1') {
        disarm();
        b.dataset.armed = '1';
        b.textContent = confirmText;
        b.classList.add('danger');
        timer = setTimeout(disarm, 6000);
        return;
      }
      clearTimeout(timer);
      run(action, b);
    });
    hostButtons.push(b);
  }
  const blockB = hostButtons.find((b) => b.dataset.testid === 'handle-block_ip');
  const durationSel = blockB ? durationSelect({ class: 'block-duration', 'data-testid': 'handle-block-duration' }) : null;

  function run(action, btn) {
    clearError();
    disableAll(true);
    // Back to its label when the call fails, not to the confirmation.
    btn.textContent = btn.dataset.label;
    return submit(btn, {
      busy: 'Sending…',
      also: [...hostButtons, durationSel].filter(Boolean),
      onError: (e) => {
        if (!live()) return;
        disableAll(false);
        btn.dataset.armed = '';
        btn.classList.remove('danger');
        showError(e, `${actionLabel(action)} (alert ${a.id})`);
      },
    }, async () => {
      const results = await handleAlerts([a.id], action, { note: noteText(), duration: durationSel ? durationSel.value : undefined });
      if (!live()) return;
      const r = resultFor(results, a.id);
      if (r && r.outcome === 'changed') onQueued(results, action);
      else await onRefused(results, action);
    });
  }

  const target = [];
  if (t.pid !== null) target.push(h('span', null, 'process ', h('b', null, t.process || 'unknown'), ` (pid ${t.pid})`));
  if (t.file !== null) target.push(h('span', null, 'file ', h('code', null, t.file)));
  if (t.ip !== null) target.push(h('span', { 'data-testid': 'host-action-ip' }, 'source IP ', h('code', null, t.ip)));
  const others = hostButtons.filter((b) => b !== blockB);
  return h('div', { class: 'host-actions', 'data-testid': 'host-actions' },
    h('div', { class: 'host-target small', 'data-testid': 'host-action-target' },
      h('span', { class: 'muted' }, 'On the host: '), target.flatMap((x, i) => (i ? [' · ', x] : [x]))),
    others.length ? h('div', { class: 'handle-actions' }, others) : null,
    blockB ? h('div', { class: 'handle-actions block-row', 'data-testid': 'handle-block' },
      blockB, h('label', { class: 'inline' }, 'for ', durationSel)) : null,
    h('div', { class: 'muted small' }, 'Runs on the host as a signed command when its agent next checks in; the alert is in progress until the agent reports.',
      t.pid !== null || t.file !== null ? ' Quarantined files can be restored from the Quarantine box for 30 days.' : null,
      blockB ? [' Blocks go to the ', h('a', { href: '#/ip-policy', 'data-testid': 'host-action-ip-policy-link' }, 'IP policy'), ' library, where they can be disabled.'] : null));
}

/** What the server said when it queued a host action. */
function hostQueuedNotice(action, r) {
  return h('div', { class: 'notice n-info', 'data-testid': 'handle-notice', 'data-outcome': r.outcome },
    h('ul', { class: 'plain' }, h('li', { 'data-testid': 'handle-message', 'data-outcome': r.outcome, 'data-alert-id': r.id },
      h('strong', null, `${actionLabel(action)}: `), `${r.message}.`)));
}

/** The "waiting for the host" line of an alert in progress. */
function hostProgress(a, startedAt, watching) {
  const secs = Math.max(0, Math.round((Date.now() - startedAt) / 1000));
  return h('div', { class: 'notice n-info progress-line', 'data-testid': 'host-action-progress' },
    watching ? h('span', { class: 'spinner', 'aria-hidden': 'true' }) : null,
    h('span', { class: 'progress-text' },
      watching
        ? ['A host action is running: waiting for the agent on ', h('b', null, a.hostname || a.host_id), ' to report… ',
          h('span', { class: 'muted', 'data-testid': 'host-action-elapsed' }, `${secs} s`)]
        : [`No report from ${a.hostname || a.host_id} after ${Math.round(HOST_ACTION_WAIT_MS / 1000)} s: the command stays queued until the host checks in or the command times out. `,
          h('button', { type: 'button', class: 'btn small', 'data-testid': 'host-action-check' }, 'Check again')]));
}

/** How the host action ended, from the alert it left `in_progress` with. */
function hostOutcomeNotice(a) {
  const quarantined = /quarantined as /.test(a.note || '');
  const blocked = /^block_ip\b/.test(a.note || '');
  if (a.status === 'handled') {
    return h('div', { class: 'notice n-ok', 'data-testid': 'host-action-outcome', 'data-outcome': 'handled' },
      h('strong', null, 'Done on the host. '), a.note || '',
      quarantined ? [' ', h('a', { href: hashWith('/quarantine', { host: a.host_id }) }, 'Open the quarantine box →')] : null,
      blocked ? [' ', h('a', { href: '#/ip-policy', 'data-testid': 'host-action-ip-policy' }, 'Open the IP policy →')] : null);
  }
  if (a.status === 'unhandled') {
    return h('div', { class: 'notice n-error', 'data-testid': 'host-action-outcome', 'data-outcome': 'failed' },
      h('strong', null, 'Failed on the host. '), a.note || 'No reason given.', h('br'),
      h('span', { class: 'small' }, 'The alert is back in the list.'));
  }
  return notice(`The alert is now ${humanize(a.status)}.`, { testid: 'host-action-outcome' });
}

/** Polls alert `a` every second until it leaves `in_progress`, then shows the outcome. */
function watchHostAction(a, { onChange, result, startedAt, live }) {
  const tick = async () => {
    if (!live()) return;
    let fresh = null;
    try {
      fresh = await fetchAlert(a.id);
    } catch (e) {
      if (!live() || e.handled) return;
      showError(e, `Checking alert ${a.id}`);
    }
    if (!live()) return;
    if (fresh && fresh.status !== 'in_progress') {
      renderAlert(fresh, { onChange, result: [result, hostOutcomeNotice(fresh)] });
      if (onChange) onChange();
      return;
    }
    if (Date.now() - startedAt >= HOST_ACTION_WAIT_MS) {
      renderAlert(fresh || a, { onChange, result, watch: false });
      return;
    }
    const el = inDrawer('host-action-elapsed');
    if (el) el.textContent = `${Math.round((Date.now() - startedAt) / 1000)} s`;
    setTimeout(tick, 1000);
  };
  setTimeout(tick, 1000);
}
