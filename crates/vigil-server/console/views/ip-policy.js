// The IP policy library: block rules on some or all hosts, where each stands on every host,
// disabling in two clicks, and a form that blocks an address (filled in from the attack
// analysis when it links here).

import { h, aside, badge, dash, hostLink, notice, panel, setTitle, setView } from '../lib/dom.js';
import { capitalize, enc, fmtAgo, fmtNum, fmtTime, ipTargetText, plural, timeBy, timeEl } from '../lib/format.js';
import { get, post } from '../lib/api.js';
import { clearError, errorMessage, reportTo, showError } from '../lib/errors.js';
import { autoRefresh, hashWith } from '../lib/router.js';
import { dangerButton, formErrorBox, options, submit } from '../lib/form.js';
import { dataTable } from '../lib/table.js';
import { M, choiceLabel } from '../lib/meta.js';
import { durationSelect } from './alert-handling.js';
import { openAlert } from './alert-drawer.js';

const IP_RULE_STATUSES = ['active', 'disabled', 'expired'];
/** Per-host states of a rule, in the order the summary names them. */
const IP_HOST_STATES = ['applied', 'pending', 'removing', 'failed', 'removed', 'expired'];
/** Host states that change without the operator: the page follows them every 2 s. */
const IP_HOST_MOVING = ['pending', 'removing'];

const directionText = (r) => (r.direction === 'out' ? 'outbound' : 'inbound');

/** `[state, count]` of a rule's hosts, known states first: `applied on 2, failed on 1`. */
function hostCounts(r) {
  const n = {};
  for (const x of r.on_hosts || []) n[x.state] = (n[x.state] || 0) + 1;
  const known = IP_HOST_STATES.filter((s) => n[s]);
  const other = Object.keys(n).filter((s) => !IP_HOST_STATES.includes(s));
  return [...known, ...other].map((s) => [s, n[s]]);
}

/** The form that blocks an address by hand; `onAdded(res, body)` after the server took it. */
function blockForm(ctx, { preset, hostsOf, onAdded }) {
  const targetIn = h('input', { type: 'text', id: 'ip-target', 'data-testid': 'ip-target-input', placeholder: '203.0.113.7 or 198.51.100.0/24', autocomplete: 'off', spellcheck: 'false', maxlength: '64', required: true });
  const directionSel = h('select', { id: 'ip-direction', 'data-testid': 'ip-direction-select', 'aria-label': 'Direction' },
    options([['in', 'Inbound: from the target'], ['out', 'Outbound: to the target']]));
  const scopeSel = h('select', { id: 'ip-scope', 'data-testid': 'ip-scope', 'aria-label': 'Hosts' },
    options([['all', 'All hosts'], ['some', 'Chosen hosts']]));
  const hostsSel = h('select', { id: 'ip-hosts', 'data-testid': 'ip-hosts-select', multiple: true, size: '5', 'aria-label': 'Hosts to block on', hidden: true });
  const hostsNote = h('small', { class: 'muted', 'data-testid': 'ip-hosts-note' });
  const durationSel = durationSelect({ id: 'ip-duration', 'data-testid': 'ip-duration' });
  const reasonIn = h('input', { type: 'text', id: 'ip-reason', 'data-testid': 'ip-reason-input', maxlength: '1000', placeholder: 'Why (optional): shown in the library', autocomplete: 'off' });
  const err = formErrorBox('ip-form-error', { mark: false });
  const addB = h('button', { type: 'submit', class: 'btn primary', id: 'ip-block', 'data-testid': 'ip-block' }, 'Block');
  const prefillNote = preset.target
    ? h('div', { class: 'span-2', 'data-testid': 'ip-prefill-note' }, notice([
      'Filled in from the attack analysis: check the address, the hosts and how long, then Block. ',
      h('a', { href: '#/attacks' }, '← Back to the attack analysis')], { kind: 'info' }))
    : null;
  if (preset.target) {
    targetIn.value = preset.target;
    reasonIn.value = preset.reason;
    if (preset.host) scopeSel.value = 'some';
  }
  /** The preset host is chosen once the host list is in. */
  let presetHost = preset.host;

  function renderHostsNote() {
    const some = scopeSel.value === 'some';
    hostsSel.hidden = !some;
    const n = hostsSel.selectedOptions.length;
    if (!some) hostsNote.textContent = 'Every installed host, and hosts that enroll later.';
    else if (!hostsOf().length) hostsNote.textContent = 'No installed host to choose.';
    else hostsNote.textContent = n ? `${plural(n, 'host')} chosen. Ctrl- or ⌘-click to add or remove one.` : 'Choose one or more hosts (Ctrl- or ⌘-click for several).';
  }
  function renderHostOptions() {
    const hosts = hostsOf();
    const chosen = new Set([...hostsSel.selectedOptions].map((o) => o.value));
    if (presetHost && hosts.length) {
      chosen.add(presetHost);
      presetHost = '';
    }
    hostsSel.replaceChildren(...hosts.filter((x) => x.state !== 'uninstalled').map((x) => h('option', { value: x.id, selected: chosen.has(x.id) },
      `${x.hostname || x.id}${x.state === 'offline' ? ' (offline)' : ''}`)));
    renderHostsNote();
  }
  scopeSel.addEventListener('change', renderHostsNote);
  hostsSel.addEventListener('change', renderHostsNote);
  renderHostsNote();

  const form = h('form', { class: 'ip-form', id: 'ip-form', autocomplete: 'off', novalidate: true },
    prefillNote,
    h('label', { class: 'field' }, h('span', null, 'Address or network'), targetIn,
      h('small', { class: 'muted' }, 'An IPv4 or IPv6 address, or a network as address/prefix.')),
    h('label', { class: 'field' }, h('span', null, 'Direction'), directionSel),
    h('div', { class: 'field' }, h('span', null, 'Hosts'), scopeSel, hostsSel, hostsNote),
    h('label', { class: 'field' }, h('span', null, 'For'), durationSel,
      h('small', { class: 'muted' }, 'The kernel drops the block when the time is up.')),
    h('label', { class: 'field span-2' }, h('span', null, 'Reason'), reasonIn),
    h('div', { class: 'form-actions' }, addB,
      aside("Each agent applies the block in Vigil's own nftables table; the server's and the console's addresses are never blocked.")),
    err.el);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearError();
    err.clear();
    const target = targetIn.value.trim();
    if (!target) {
      err.show('Enter the address or network to block.', targetIn);
      return;
    }
    const chosen = [...hostsSel.selectedOptions].map((o) => o.value);
    if (scopeSel.value === 'some' && !chosen.length) {
      err.show('Choose at least one host, or block on all hosts.', hostsSel);
      return;
    }
    const body = {
      target,
      direction: directionSel.value,
      hosts: scopeSel.value === 'some' ? chosen : [],
      duration: durationSel.value,
      reason: reasonIn.value.trim(),
    };
    await submit(addB, {
      busy: 'Blocking…',
      onError: (e) => {
        if (!ctx.alive() || e.handled) return;
        // The server says what is wrong (a bad address, an unknown host…): shown by the form, input kept.
        if (e.status === 400 || e.status === 404 || e.status === 409) err.show(errorMessage(e), e.status === 400 ? targetIn : null);
        else showError(e, 'Blocking the address');
      },
    }, async () => {
      const res = await post('/api/v1/ip-rules', body);
      if (!ctx.alive()) return;
      targetIn.value = '';
      reasonIn.value = '';
      if (prefillNote) prefillNote.remove();
      await onAdded(res, body, Boolean(prefillNote));
    });
  });
  /** Brings a filled-in form into view, once it is on the page. */
  const showPreset = () => {
    if (!preset.target) return;
    form.scrollIntoView({ block: 'start' });
    addB.focus();
  };
  return { form, renderHostOptions, showPreset };
}

export async function viewIpPolicy(ctx) {
  setTitle('IP policy');
  const statusF = IP_RULE_STATUSES.includes(ctx.params.get('status')) ? ctx.params.get('status') : '';
  // `#/ip-policy?target=…&host=…&reason=…` (as the attack analysis links) fills in the block form.
  const preset = {
    target: (ctx.params.get('target') || '').trim().slice(0, 64),
    host: ctx.params.get('host') || '',
    reason: (ctx.params.get('reason') || '').slice(0, 1000),
  };
  let hosts = [];
  const hostName = (id) => (hosts.find((x) => x.id === id) || {}).hostname || id;
  const result = h('div', { class: 'wl-result', 'data-testid': 'ip-result', 'aria-live': 'polite' });
  /** Rules whose per-host list is open: kept open across refreshes. */
  const expanded = new Set();
  /** Disable buttons by rule id: a refresh keeps one that waits for its second click. */
  const disableButtons = new Map();

  const seg = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Rule status' },
    ['', ...IP_RULE_STATUSES].map((s) => h('a', {
      class: `seg${s === statusF ? ' active' : ''}`,
      href: hashWith('/ip-policy', { status: s }),
      'data-testid': `ip-status-filter-${s || 'all'}`,
    }, s ? capitalize(s) : 'All')));

  const hostsText = (r) => ((r.hosts || []).length ? r.hosts.map(hostName).join(', ') : 'All hosts');

  function hostsCell(r) {
    if (!(r.hosts || []).length) return h('span', { class: 'strong', 'data-testid': 'ip-hosts' }, 'All hosts');
    return h('span', { class: 'chips', 'data-testid': 'ip-hosts' },
      r.hosts.map((id) => hostLink(id, hostName(id), { class: 'chip', title: id, 'data-testid': 'ip-host-chip' })));
  }

  function hostStateCell(r) {
    const list = r.on_hosts || [];
    if (!list.length) {
      return h('span', { class: 'muted small', 'data-testid': 'ip-host-summary' },
        r.status === 'active' ? 'not sent to any host yet' : 'sent to no host');
    }
    const failed = list.filter((x) => x.state === 'failed');
    const summary = h('summary', {
      'data-testid': 'ip-host-summary',
      title: failed.length ? failed.map((x) => `${hostName(x.host_id)}: ${x.message || 'no reason given'}`).join('\n') : 'Show every host',
    }, hostCounts(r).map(([s, k], i) => [i ? ', ' : '', h('span', { class: `hs hs-${s}` }, `${s} on ${fmtNum(k)}`)]));
    const details = h('details', { class: 'ip-hosts-details', 'data-testid': 'ip-host-details', open: expanded.has(r.id) },
      summary,
      h('ul', { class: 'ip-host-list' }, list.map((x) => h('li', {
        'data-testid': 'ip-host-state', 'data-host-id': x.host_id, 'data-state': x.state,
      },
      hostLink(x.host_id, hostName(x.host_id), { class: 'strong', 'data-testid': 'ip-host-link' }), ' ',
      badge(x.state, { cls: `ih-${x.state}` }), ' ',
      h('span', { class: x.state === 'failed' ? 'cmd-error' : 'muted', 'data-testid': 'ip-host-message' }, x.message || ''),
      x.updated_at ? [' ', h('span', { class: 'muted' }, '· '), timeEl(x.updated_at)] : null))));
    // Kept open across refreshes while the operator reads it.
    details.addEventListener('toggle', () => {
      if (details.open) expanded.add(r.id);
      else expanded.delete(r.id);
    });
    return details;
  }

  function disableButton(r) {
    let b = disableButtons.get(r.id);
    if (b) return b;
    b = dangerButton('Disable', 'Disabling…', { 'data-testid': 'ip-disable', 'data-rule-id': r.id }, async () => {
      const res = await post(`/api/v1/ip-rules/${enc(r.id)}/disable`);
      if (!ctx.alive()) return;
      disableButtons.delete(r.id);
      result.replaceChildren(notice(
        `Rule ${res.id} (${ipTargetText(res.target)}) disabled: every host it reached unblocks it when its agent next checks in.`,
        { kind: 'ok', testid: 'ip-rule-disabled' }));
      await load();
    }, (e) => {
      if (!ctx.alive()) return;
      showError(e, `Disabling IP rule ${r.id}`);
      // Already disabled or expired elsewhere: show where it stands.
      if (e.status === 409 || e.status === 404) load().catch(() => {});
    });
    disableButtons.set(r.id, b);
    return b;
  }

  const table = dataTable({
    testid: 'ip-rules-table',
    placeholder: 'Filter by target, host, reason, user…',
    sort: null,
    emptyText: statusF ? `No ${statusF} IP rule.` : 'No IP rule yet. Block an address below, or from an alert that names a source IP.',
    tools: [seg],
    rowAttrs: (r) => ({ 'data-testid': 'ip-rule-row', 'data-rule-id': r.id, 'data-status': r.status, 'data-target': r.target }),
    columns: [
      {
        key: 'target', label: 'Target', cls: 'nowrap',
        render: (r) => h('span', { class: 'mono strong', 'data-testid': 'ip-target', title: r.target }, ipTargetText(r.target)),
      },
      {
        key: 'direction', label: 'Direction', width: '64px', value: directionText,
        render: (r) => h('span', { 'data-testid': 'ip-direction', title: r.direction === 'out' ? 'Traffic from the host to the target is dropped' : 'Traffic from the target to the host is dropped' },
          directionText(r)),
      },
      { key: 'hosts', label: 'Hosts', value: hostsText, render: hostsCell },
      { key: 'origin', label: 'Origin', width: '64px', render: (r) => badge(r.origin, { cls: `origin-${r.origin}`, testid: 'ip-origin' }) },
      {
        key: 'reason', label: 'Reason', cls: 'ip-reason-cell', value: (r) => `${r.reason || ''}${r.alert_id ? ` alert #${r.alert_id}` : ''}`,
        render: (r) => h('div', { 'data-testid': 'ip-reason' },
          r.reason ? h('span', null, r.reason) : dash(),
          r.alert_id ? h('div', null, h('button', {
            type: 'button', class: 'btn link small bare', 'data-testid': 'ip-alert',
            onclick: () => openAlert(r.alert_id, { onChange: () => load().catch(() => {}) }),
          }, `Alert #${r.alert_id}`)) : null),
      },
      {
        key: 'created_at', label: 'Created', width: '80px', value: (r) => `${r.created_at || 0} ${r.created_by}`,
        render: (r) => timeBy(r.created_at, r.created_by, { attrs: { 'data-testid': 'ip-created' } }),
      },
      {
        key: 'expires_at', label: 'Expires', width: '96px', nofilter: true, value: (r) => r.expires_at || Number.MAX_SAFE_INTEGER,
        render: (r) => (r.expires_at
          ? h('span', { 'data-testid': 'ip-expires', class: r.status === 'active' ? null : 'muted', title: fmtTime(r.expires_at) },
            fmtTime(r.expires_at).slice(0, 10),
            h('div', { class: 'muted small nowrap' }, fmtTime(r.expires_at).slice(11, 16), r.status === 'active' ? ` · ${fmtAgo(r.expires_at)}` : ''))
          : h('span', { class: 'strong', 'data-testid': 'ip-expires' }, 'permanent')),
      },
      {
        key: 'status', label: 'Status', width: '72px', value: (r) => IP_RULE_STATUSES.indexOf(r.status),
        render: (r) => h('span', { title: r.ended_at ? `${r.status} ${fmtTime(r.ended_at)}${r.ended_by ? ` by ${r.ended_by}` : ''}` : null },
          badge(r.status, { cls: `ip-${r.status}`, testid: 'ip-status' }),
          r.ended_at && r.ended_by ? h('div', { class: 'muted small' }, `by ${r.ended_by}`) : null),
      },
      {
        key: 'on_hosts', label: 'On the hosts', width: '16%', cls: 'small msg ip-hosts-cell', nosort: true,
        value: (r) => (r.on_hosts || []).map((x) => `${x.state} ${hostName(x.host_id)} ${x.message || ''}`).join(' '),
        render: hostStateCell,
      },
      {
        key: 'actions', label: '', width: '112px', nofilter: true, nosort: true, value: () => '',
        render: (r) => (r.status === 'active' ? disableButton(r) : h('span', { class: 'muted small' }, '—')),
      },
    ],
  });

  const block = blockForm(ctx, {
    preset,
    hostsOf: () => hosts,
    onAdded: async (res, body, prefilled) => {
      const n = res.sent_to_hosts || 0;
      const dur = choiceLabel(M.alerts.block_durations, body.duration).toLowerCase();
      result.replaceChildren(notice(
        `Rule ${res.id}: ${ipTargetText(res.target)} blocked ${res.direction === 'out' ? 'outbound' : 'inbound'} on ${body.hosts.length ? plural(n, 'host') : `all hosts (${fmtNum(n)} now)`}, ${body.duration === 'permanent' ? 'until disabled' : `for ${dur}`}. The agents apply it when they next check in.`,
        { kind: 'ok', testid: 'ip-rule-added' }));
      // A reload does not fill the form in again.
      if (prefilled) history.replaceState(null, '', hashWith('/ip-policy', { status: statusF }));
      await load();
    },
  });

  setView(
    panel('IP policy library', [result, table.el], {
      testid: 'ip-rules-panel',
      extra: aside('Blocks on hosts, newest first, with where each stands on every host. Disabling a rule unblocks it everywhere.'),
    }),
    panel('Block an IP', block.form, { testid: 'ip-block-panel' }),
  );
  block.showPreset();

  let follow = null;
  async function load() {
    const res = await get(`/api/v1/ip-rules${statusF ? `?status=${enc(statusF)}` : ''}`);
    if (!ctx.alive()) return;
    const rules = res.rules || [];
    for (const id of [...disableButtons.keys()]) {
      if (!rules.some((r) => r.id === id && r.status === 'active')) disableButtons.delete(id);
    }
    table.setRows(rules);
    // While a host has yet to apply or remove a block, look again in 2 s.
    clearTimeout(follow);
    if (rules.some((r) => (r.on_hosts || []).some((x) => IP_HOST_MOVING.includes(x.state)))) {
      follow = setTimeout(() => {
        if (ctx.alive()) load().catch(reportTo(ctx, 'Refreshing the IP policy'));
      }, 2000);
    }
  }
  const hostsP = get('/api/v1/hosts').then((res) => {
    if (!ctx.alive()) return;
    hosts = res.hosts || [];
    block.renderHostOptions();
    table.render();
  }).catch((e) => {
    if (e.handled) throw e;
    if (ctx.alive()) showError(e, 'Loading hosts');
  });
  await load();
  await hostsP;
  autoRefresh(ctx, load);
}
