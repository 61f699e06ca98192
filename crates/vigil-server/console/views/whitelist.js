// The Whitelist page: the rules (deleting one returns its alerts to the list) and a form that
// adds one by hand, with an input per key field of the chosen alert type.

import { h, aside, dash, hostLink, humanize, notice, panel, setTitle, setView } from '../lib/dom.js';
import { enc, plural, timeEl } from '../lib/format.js';
import { api, get, post } from '../lib/api.js';
import { clearError, reportTo, showError } from '../lib/errors.js';
import { dangerButton, options, submit } from '../lib/form.js';
import { dataTable } from '../lib/table.js';
import { keyFields, kinds } from '../lib/meta.js';

const fieldsText = (r) => Object.entries(r.fields || {}).map(([k, v]) => `${k}=${v}`).join(' ');

export async function viewWhitelist(ctx) {
  setTitle('Whitelist');
  const result = h('div', { class: 'wl-result', 'data-testid': 'whitelist-result', 'aria-live': 'polite' });
  let hosts = [];
  let groups = [];
  const hostName = (hid) => (hosts.find((x) => x.id === hid) || {}).hostname;
  const scopeText = (r) => {
    if (r.scope === 'all') return 'all hosts';
    if (r.scope === 'group') return `group ${r.scope_value}`;
    return `host ${hostName(r.scope_value) || r.scope_value}`;
  };

  const table = dataTable({
    testid: 'whitelist-table',
    placeholder: 'Filter by type, scope, field, note…',
    sort: { key: 'created_at', dir: -1 },
    emptyText: 'No whitelist rule. Whitelist an alert from its details on the Alerts page, or add a rule above.',
    rowAttrs: (r) => ({ 'data-testid': 'rule-row', 'data-rule-id': r.id, 'data-kind': r.kind }),
    columns: [
      { key: 'kind', label: 'Alert type', cls: 'nowrap', value: (r) => humanize(r.kind), render: (r) => h('span', { class: 'strong' }, humanize(r.kind)) },
      {
        key: 'scope', label: 'Scope', width: '140px', value: scopeText,
        render: (r) => {
          if (r.scope === 'host') {
            return h('span', { 'data-testid': 'rule-scope' }, h('span', { class: 'muted' }, 'host '), hostLink(r.scope_value, hostName(r.scope_value)));
          }
          if (r.scope === 'group') return h('span', { 'data-testid': 'rule-scope' }, h('span', { class: 'muted' }, 'group '), r.scope_value);
          return h('span', { 'data-testid': 'rule-scope', class: 'strong' }, 'All hosts');
        },
      },
      {
        key: 'fields', label: 'Key fields', width: '30%', value: fieldsText,
        render: (r) => h('span', { class: 'chips', 'data-testid': 'rule-fields' },
          Object.entries(r.fields || {}).map(([k, v]) => h('span', { class: 'chip', title: `${k}=${v}` }, `${k}=${v}`))),
      },
      { key: 'note', label: 'Note', width: '20%', render: (r) => r.note || dash() },
      { key: 'created_by', label: 'By', width: '70px' },
      { key: 'created_at', label: 'Created', width: '90px', nofilter: true, render: (r) => timeEl(r.created_at) },
      { key: 'actions', label: '', width: '110px', nofilter: true, nosort: true, value: () => '', render: (r) => deleteButton(r) },
    ],
  });

  function deleteButton(r) {
    return dangerButton('Delete', 'Deleting…', { 'data-testid': 'rule-delete', 'data-rule-id': r.id }, async () => {
      const res = await api('DELETE', `/api/v1/whitelist/${enc(r.id)}`);
      if (!ctx.alive()) return;
      result.replaceChildren(notice(
        `Rule ${res.deleted} (${humanize(r.kind)}, ${fieldsText(r)}) deleted: ${plural(res.restored || 0, 'alert')} back in the list.`,
        { kind: 'ok', testid: 'rule-deleted' }));
      await load();
    }, reportTo(ctx, `Deleting whitelist rule ${r.id}`));
  }

  // ---- adding a rule by hand: one input per key field of the chosen alert type
  const kindSel = h('select', { id: 'wl-kind', 'data-testid': 'wl-kind', 'aria-label': 'Alert type' },
    options(kinds().map((k) => [k, humanize(k)])));
  kindSel.value = 'suspicious_port';
  const scopeSel = h('select', { id: 'wl-scope', 'data-testid': 'wl-scope', 'aria-label': 'Scope' },
    options([['all', 'All hosts'], ['group', 'A group'], ['host', 'A host']]));
  const valueSel = h('select', { id: 'wl-scope-value', 'data-testid': 'wl-scope-value', 'aria-label': 'Host or group', hidden: true });
  const fieldsBox = h('div', { class: 'wl-fields', 'data-testid': 'wl-fields' });
  const noteIn = h('input', { type: 'text', id: 'wl-note', 'data-testid': 'wl-note', maxlength: '1000', placeholder: 'Why this is expected', autocomplete: 'off' });
  const addB = h('button', { type: 'submit', class: 'btn primary', id: 'wl-add', 'data-testid': 'wl-add' }, 'Add rule');

  function renderFields() {
    const keys = keyFields(kindSel.value);
    fieldsBox.replaceChildren(...keys.map((k) => h('label', { class: 'field' }, h('span', null, k),
      h('input', { type: 'text', name: k, 'data-field': k, 'data-testid': `wl-field-${k}`, autocomplete: 'off', maxlength: '4096' }))));
    fieldsBox.appendChild(h('small', { class: 'muted wl-fields-hint' },
      keys.length > 1 ? 'Fill the fields to match; empty ones are left out. An alert matches when its evidence carries every value given.' : 'An alert matches when its evidence carries this value.'));
  }
  function renderScopeValues() {
    const sc = scopeSel.value;
    valueSel.hidden = sc === 'all';
    const opts = sc === 'host'
      ? hosts.filter((x) => x.state !== 'uninstalled').map((x) => [x.id, `${x.hostname} (${x.id})`])
      : groups.map((g) => [g.name, g.name]);
    valueSel.replaceChildren(...options(opts));
  }
  kindSel.addEventListener('change', renderFields);
  scopeSel.addEventListener('change', renderScopeValues);
  renderFields();

  const form = h('form', { class: 'wl-add-form', id: 'wl-form', autocomplete: 'off' },
    h('label', { class: 'field' }, h('span', null, 'Alert type'), kindSel),
    h('label', { class: 'field' }, h('span', null, 'Applies to'), h('div', { class: 'wl-scope-row' }, scopeSel, valueSel)),
    h('label', { class: 'field' }, h('span', null, 'Note'), noteIn),
    fieldsBox,
    h('div', { class: 'form-actions' }, addB,
      aside('Existing alerts the rule matches are whitelisted at once; later ones arrive whitelisted.')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearError();
    const fields = {};
    for (const i of fieldsBox.querySelectorAll('input[data-field]')) {
      const v = i.value.trim();
      if (v) fields[i.dataset.field] = v;
    }
    if (!Object.keys(fields).length) {
      showError('Fill at least one key field: a rule without one would match every alert of the type.');
      const first = fieldsBox.querySelector('input');
      if (first) first.focus();
      return;
    }
    if (scopeSel.value !== 'all' && !valueSel.value) {
      showError(`Choose the ${scopeSel.value} the rule applies to.`);
      return;
    }
    const body = { kind: kindSel.value, scope: scopeSel.value, scope_value: scopeSel.value === 'all' ? '' : valueSel.value, fields, note: noteIn.value.trim() };
    await submit(addB, { busy: 'Adding…', ctx, context: 'Adding the whitelist rule' }, async () => {
      const res = await post('/api/v1/whitelist', body);
      if (!ctx.alive()) return;
      result.replaceChildren(notice(
        `Rule ${res.rule.id} added: ${plural(res.whitelisted || 0, 'existing alert')} whitelisted.`,
        { kind: 'ok', testid: 'rule-added' }));
      fieldsBox.querySelectorAll('input').forEach((i) => { i.value = ''; });
      noteIn.value = '';
      await load();
    });
  });

  setView(
    panel('Whitelist rules', [result, table.el], {
      testid: 'whitelist-panel',
      extra: aside('Whitelisted alerts stay listed under the "whitelisted" status on the Alerts page.'),
    }),
    panel('Add a rule', form, { testid: 'whitelist-add-panel' }),
  );

  async function load() {
    const res = await get('/api/v1/whitelist');
    if (!ctx.alive()) return;
    table.setRows(res.rules || []);
  }
  const namesP = Promise.all([get('/api/v1/hosts'), get('/api/v1/groups')]).then(([hs, gs]) => {
    if (!ctx.alive()) return;
    hosts = hs.hosts || [];
    groups = gs.groups || [];
    renderScopeValues();
    table.render();
  }).catch(reportTo(ctx, 'Loading hosts and groups'));
  await load();
  await namesP;
}
