// Install agent: an install command for a group, labels and provider (shown once), and the
// install codes, which can be revoked.

import { h, aside, badge, dash, labelChips, labelsText, notice, panel, setTitle, setView } from '../lib/dom.js';
import { enc, fmtAgo, fmtTime, timeEl } from '../lib/format.js';
import { get, post } from '../lib/api.js';
import { clearError, reportTo, showError } from '../lib/errors.js';
import { copyText, dangerButton, options, submit } from '../lib/form.js';
import { dataTable } from '../lib/table.js';

const EXPIRIES = [['1h', '1 hour'], ['24h', '24 hours'], ['7d', '7 days'], ['30d', '30 days']];

function parseLabels(text) {
  const labels = {};
  for (const part of text.split(',')) {
    const p = part.trim();
    if (!p) continue;
    const i = p.indexOf('=');
    if (i <= 0) throw new Error(`label "${p}" is not key=value`);
    const k = p.slice(0, i).trim();
    const v = p.slice(i + 1).trim();
    if (!k) throw new Error(`label "${p}" has an empty key`);
    labels[k] = v;
  }
  return labels;
}

/** Fills `result` with a new code's command, shown only this once. */
function showCreated(result, c) {
  const box = h('textarea', { id: 'install-command', 'data-testid': 'install-command', class: 'command', readOnly: true, rows: '3', spellcheck: 'false', 'aria-label': 'Install command' });
  box.value = c.command;
  const copyBtn = h('button', { type: 'button', id: 'install-copy', class: 'btn primary' }, 'Copy');
  const copied = h('span', { class: 'muted small', 'data-testid': 'copy-note' });
  copyBtn.addEventListener('click', async () => {
    const ok = await copyText(c.command, box);
    copied.textContent = ok ? 'Copied to the clipboard.' : 'Select the text and copy it by hand.';
  });
  box.addEventListener('focus', () => box.select());
  const labelText = Object.entries(c.labels || {}).map(([k, v]) => `${k}=${v}`).join(', ');
  result.replaceChildren(
    h('div', { class: 'result-head' },
      h('strong', null, 'Install command created'),
      h('span', { class: 'muted' }, ` · group ${c.group}${labelText ? ` · labels ${labelText}` : ''}${c.provider ? ` · provider ${c.provider}` : ''} · valid until ${fmtTime(c.expires_at)} · code ${c.id}`)),
    h('div', { class: 'command-row' }, box, h('div', { class: 'command-actions' }, copyBtn, copied)),
    notice([
      h('strong', null, 'Shown only once. '),
      'Copy it now: the code inside it cannot be displayed again. ',
      'Run it as root (for example in ', h('code', null, 'sudo -i'), ') on each Linux host to install the agent and enroll it. ',
      'Anyone holding it can enroll hosts until it expires or is revoked.',
    ], { kind: 'warn', testid: 'install-once-note' }),
  );
  result.dataset.codeId = c.id;
  result.hidden = false;
  box.focus();
}

/** After its code is revoked, the command on show says it no longer enrolls hosts. */
function markShownRevoked(result) {
  const row = result.querySelector('.command-row');
  if (row) row.classList.add('revoked');
  const box = result.querySelector('#install-command');
  if (box) box.setSelectionRange(0, 0);
  const note = result.querySelector('[data-testid=install-once-note]');
  if (note) note.replaceWith(notice('This code has been revoked: the command above no longer enrolls hosts.', { kind: 'info', testid: 'install-revoked-note' }));
  const copy = result.querySelector('#install-copy');
  if (copy) copy.disabled = true;
}

export async function viewInstall(ctx) {
  setTitle('Install agent');
  const input = (id, name, attrs) => h('input', { id, name, type: 'text', autocomplete: 'off', ...attrs });
  const groupIn = input('install-group', 'group', { value: 'default', list: 'install-groups', required: true, maxlength: '64' });
  const groupList = h('datalist', { id: 'install-groups' });
  const labelsIn = input('install-labels', 'labels', { placeholder: 'env=prod, team=web' });
  const providerIn = input('install-provider', 'provider', { placeholder: 'e.g. aws, idc' });
  const expiresSel = h('select', { id: 'install-expires', name: 'expires' }, options(EXPIRIES));
  const maxHostsIn = h('input', { id: 'install-max-hosts', name: 'max_hosts', type: 'number', min: '1', step: '1', placeholder: 'no limit' });
  expiresSel.value = '24h';
  const submitB = h('button', { type: 'submit', id: 'install-create', class: 'btn primary' }, 'Create install command');
  const result = h('div', { id: 'install-result', 'data-testid': 'install-result', hidden: true });

  const field = (label, control, hint) => h('label', { class: 'field' }, h('span', null, label), control, h('small', { class: 'muted' }, hint));
  const form = h('form', { id: 'install-form', class: 'form-grid', autocomplete: 'off' },
    h('label', { class: 'field' }, h('span', null, 'Group'), groupIn, groupList, h('small', { class: 'muted' }, 'Hosts join this group; it is created if missing.')),
    field('Labels', labelsIn, 'key=value pairs, separated by commas.'),
    field('Provider', providerIn, 'Optional: where the servers run.'),
    field('Valid for', expiresSel, 'The code stops enrolling hosts after this.'),
    field('Hosts', maxHostsIn, 'Optional: how many hosts it may enroll (1: single use).'),
    h('div', { class: 'form-actions' }, submitB, aside('Linux hosts (x86_64 / aarch64) with curl.')));

  const codes = dataTable({
    testid: 'codes-table',
    placeholder: 'Filter codes…',
    sort: { key: 'created_at', dir: -1 },
    emptyText: 'No install code yet.',
    rowAttrs: (c) => ({ 'data-code-id': c.id, 'data-state': c.state, 'data-testid': 'code-row' }),
    columns: [
      { key: 'id', label: 'Code', render: (c) => h('div', { class: 'nowrap' }, h('span', { class: 'mono' }, c.id), h('div', { class: 'muted small mono' }, `${c.hint}…`)) },
      { key: 'group', label: 'Group', cls: 'strong' },
      { key: 'labels', label: 'Labels', value: (c) => labelsText(c.labels), render: (c) => labelChips(c.labels) },
      { key: 'provider', label: 'Provider', render: (c) => c.provider || dash() },
      { key: 'state', label: 'State', width: '90px', render: (c) => badge(c.state, { cls: `code-${c.state}`, testid: 'code-state' }) },
      { key: 'uses', label: 'Uses', width: '60px', cls: 'num', value: (c) => c.uses, render: (c) => (c.max_hosts ? `${c.uses}/${c.max_hosts}` : String(c.uses)) },
      { key: 'created_at', label: 'Created', width: '110px', nofilter: true, render: (c) => timeEl(c.created_at) },
      {
        key: 'expires_at', label: 'Expires', width: '150px', nofilter: true,
        render: (c) => (c.revoked_at
          ? h('span', { class: 'muted', title: fmtTime(c.revoked_at) }, `revoked ${fmtAgo(c.revoked_at)}`)
          : h('span', { title: fmtTime(c.expires_at) }, fmtTime(c.expires_at).slice(0, 16), h('div', { class: 'muted small' }, fmtAgo(c.expires_at)))),
      },
      { key: 'actions', label: '', width: '120px', nofilter: true, value: () => '', render: (c) => revokeButton(c) },
    ],
  });

  function revokeButton(c) {
    if (c.state !== 'active') return h('span', { class: 'muted small' }, '—');
    return dangerButton('Revoke', 'Revoking…', { 'data-testid': 'revoke', 'data-code-id': c.id }, async () => {
      await post(`/api/v1/install-codes/${enc(c.id)}/revoke`);
      if (result.dataset.codeId === c.id) markShownRevoked(result);
      await loadCodes();
    }, (e) => showError(e, `Revoking ${c.id}`));
  }

  async function loadCodes() {
    const res = await get('/api/v1/install-codes');
    if (!ctx.alive()) return;
    codes.setRows(res.codes || []);
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearError();
    let labels;
    try {
      labels = parseLabels(labelsIn.value);
    } catch (e) {
      showError(e, 'Labels');
      labelsIn.focus();
      return;
    }
    const body = {
      group: groupIn.value.trim() || 'default',
      os: 'linux',
      expires: expiresSel.value,
      labels,
      provider: providerIn.value.trim(),
      max_hosts: maxHostsIn.value ? Number(maxHostsIn.value) : null,
    };
    await submit(submitB, { busy: 'Creating…', ctx, context: 'Creating the install code' }, async () => {
      const c = await post('/api/v1/install-codes', body);
      if (!ctx.alive()) return;
      showCreated(result, c);
      await loadCodes();
    });
  });

  setView(
    panel('Create an install command', [form, result], { testid: 'install-panel' }),
    panel('Install codes', codes.el, { testid: 'codes-panel', extra: aside('Revoking a code stops new enrollments; enrolled hosts stay.') }),
  );

  get('/api/v1/groups').then((g) => {
    if (!ctx.alive()) return;
    groupList.replaceChildren(...(g.groups || []).map((gr) => h('option', { value: gr.name })));
  }).catch(reportTo(ctx, 'Loading groups'));
  await loadCodes();
}
