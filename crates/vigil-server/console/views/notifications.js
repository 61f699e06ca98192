// The Notifications page: channels (inbox, email, webhook) with their levels, alert types,
// time window and daily limits; a form that adds one; delivery settings; the delivery log.

import { h, aside, badge, humanize, notice, panel, setTitle, setView } from '../lib/dom.js';
import { enc, fmtMinute, fmtNum, fmtOffset } from '../lib/format.js';
import { api, get, post } from '../lib/api.js';
import { clearError, reportTo, showError } from '../lib/errors.js';
import { autoRefresh } from '../lib/router.js';
import { choiceSelect, dangerButton, options, refreshButton, submit } from '../lib/form.js';
import { dataTable } from '../lib/table.js';
import { M, choiceLabel, kinds } from '../lib/meta.js';
import { outboxTable, settingsForm } from './notify-settings.js';

/** `HH:MM` → minutes after midnight (`24:00` only as an end, meaning midnight). */
function parseHHMM(text, what, { end = false } = {}) {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  const mins = m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
  if (!m || Number(m[2]) > 59 || mins > 1440 || (mins === 1440 && !end)) {
    throw new Error(`the ${what} of the time window, "${text.trim()}", is not a time of day as HH:MM`);
  }
  return mins % 1440;
}

function parseLimit(text, what) {
  const t = text.trim();
  if (!/^\d{1,9}$/.test(t)) throw new Error(`${what} must be a whole number, 0 for no limit`);
  return Number(t);
}

const channelType = (c) => (c.config && c.config.kind && c.config.kind.type) || 'unknown';

function channelDest(c) {
  const k = (c.config && c.config.kind) || {};
  if (k.type === 'email') return (k.to || []).join(', ');
  if (k.type === 'webhook') return k.url || '';
  if (k.type === 'inbox') return 'Console inbox';
  return '—';
}

function windowText(w) {
  if (!w) return 'any time';
  return `${fmtMinute(w.start_minute)}–${fmtMinute(w.end_minute)}${w.start_minute > w.end_minute ? ' (overnight)' : ''}`;
}

function limitsText(cfg) {
  const n = (v) => (v ? fmtNum(v) : 'no limit');
  return [`${n(cfg.max_per_day)} in all`, `${n(cfg.max_per_host_per_day)} per host`];
}

/** The channel list's columns; `offset()` is the operators' time zone, `deleteButton(c)` the row's action. */
function channelColumns(offset, deleteButton) {
  return [
    {
      key: 'name', label: 'Name', width: '15%', cls: 'msg', value: (c) => `${c.name} #${c.id}`,
      render: (c) => h('div', null, h('span', { class: 'strong', 'data-testid': 'channel-name' }, c.name), h('div', { class: 'muted small' }, `ID ${c.id}`)),
    },
    {
      key: 'dest', label: 'Type and destination', cls: 'msg', value: (c) => `${channelType(c)} ${channelDest(c)}`,
      render: (c) => {
        const k = c.config.kind || {};
        const shape = k.type === 'webhook' ? choiceLabel(M.notify.webhook_shapes, k.shape) : null;
        return h('div', { class: 'ch-dest' },
          h('div', null, badge(channelType(c), { cls: `ch-${channelType(c)}`, testid: 'channel-type' }), shape ? h('span', { class: 'muted small' }, ` ${shape}`) : null),
          h('div', { class: channelType(c) === 'inbox' ? 'muted small' : 'mono small', 'data-testid': 'channel-dest' }, channelDest(c)));
      },
    },
    {
      key: 'levels', label: 'Levels', width: '104px', nosort: true, value: (c) => (c.config.levels || []).join(' '),
      render: (c) => h('span', { class: 'chips', 'data-testid': 'channel-levels' },
        M.alerts.levels.filter((l) => (c.config.levels || []).includes(l)).map((l) => badge(l))),
    },
    {
      key: 'kinds', label: 'Alert types', width: '15%', nosort: true, value: (c) => (c.config.kinds ? c.config.kinds.map(humanize).join(', ') : 'all types'),
      render: (c) => {
        const k = c.config.kinds;
        if (!k) return h('span', { class: 'muted', 'data-testid': 'channel-kinds' }, 'all types');
        const shown = k.slice(0, 3);
        return h('span', { class: 'chips', 'data-testid': 'channel-kinds', title: k.map(humanize).join(', ') },
          shown.map((x) => h('span', { class: 'chip' }, humanize(x))),
          k.length > shown.length ? h('span', { class: 'muted small' }, `+${k.length - shown.length} more`) : null);
      },
    },
    {
      key: 'window', label: 'Time window', width: '112px', value: (c) => windowText(c.config.window),
      render: (c) => h('span', { 'data-testid': 'channel-window' }, windowText(c.config.window),
        c.config.window ? h('div', { class: 'muted small' }, fmtOffset(offset())) : null),
    },
    {
      key: 'limits', label: 'Daily limits', width: '150px', cls: 'nowrap', nosort: true, value: (c) => limitsText(c.config).join(', '),
      render: (c) => {
        const [day, host] = limitsText(c.config);
        return h('span', { 'data-testid': 'channel-limits' }, day, h('div', { class: 'muted small' }, host));
      },
    },
    {
      key: 'enabled', label: 'Enabled', width: '72px', value: (c) => (c.config.enabled ? 'enabled' : 'disabled'),
      render: (c) => badge(c.config.enabled ? 'yes' : 'no', { cls: c.config.enabled ? 'handled' : 'offline', testid: 'channel-enabled' }),
    },
    { key: 'actions', label: '', width: '118px', nosort: true, nofilter: true, value: () => '', render: deleteButton },
  ];
}

/** The form that adds a channel; `onAdded(id, name)` once the server took it. */
function channelForm(ctx, { offset, onAdded }) {
  const n = M.notify;
  const input = (id, attrs) => h('input', { type: 'text', id, 'data-testid': id, autocomplete: 'off', ...attrs });
  const nameIn = input('ch-name', { maxlength: '100', placeholder: 'e.g. Ops mail' });
  const typeSel = choiceSelect({ id: 'ch-type', 'data-testid': 'ch-type', 'aria-label': 'Channel type' }, n.channel_types);
  const toIn = input('ch-to', { placeholder: 'ops@example.com, Sec Team <sec@example.com>' });
  const urlIn = input('ch-url', { placeholder: 'https://hooks.example.com/…', spellcheck: 'false' });
  const shapeSel = choiceSelect({ id: 'ch-shape', 'data-testid': 'ch-shape', 'aria-label': 'Webhook format' }, n.webhook_shapes);
  const levelBoxes = M.alerts.levels.map((l) => h('input', { type: 'checkbox', value: l, checked: true, 'data-testid': `ch-level-${l}`, id: `ch-level-${l}` }));
  const kindsSel = h('select', { id: 'ch-kinds', 'data-testid': 'ch-kinds', multiple: true, size: '6', 'aria-label': 'Alert types' },
    options(kinds().map((k) => [k, humanize(k)])));
  const kindsNote = h('small', { class: 'muted', 'data-testid': 'ch-kinds-note' });
  const kindsClear = h('button', { type: 'button', class: 'btn link small', 'data-testid': 'ch-kinds-clear' }, 'All types');
  const startIn = input('ch-window-start', { placeholder: 'HH:MM', maxlength: '5', 'aria-label': 'Window start' });
  const endIn = input('ch-window-end', { placeholder: 'HH:MM', maxlength: '5', 'aria-label': 'Window end' });
  const limitIn = (id, value, label) => h('input', { type: 'number', id, 'data-testid': id, min: '0', step: '1', value: String(value), 'aria-label': label });
  const maxDayIn = limitIn('ch-max-day', n.default_max_per_day, 'Alert notifications a day');
  const maxHostIn = limitIn('ch-max-host', n.default_max_per_host_per_day, 'Alert notifications per host a day');
  const windowNote = h('small', { class: 'muted', 'data-testid': 'ch-window-note' });
  const renderWindowNote = () => {
    windowNote.textContent = `Empty: any time. In ${fmtOffset(offset())} (Delivery settings); 22:00 to 06:00 spans midnight.`;
  };
  renderWindowNote();
  const enabledBox = h('input', { type: 'checkbox', id: 'ch-enabled', 'data-testid': 'ch-enabled', checked: true });
  const addB = h('button', { type: 'submit', class: 'btn primary', id: 'ch-add', 'data-testid': 'ch-add' }, 'Add channel');

  const toField = h('label', { class: 'field span-2' }, h('span', null, 'Recipients'), toIn,
    h('small', { class: 'muted' }, 'Separated by commas. Mail goes out through the SMTP server under Delivery settings.'));
  const urlField = h('label', { class: 'field' }, h('span', null, 'Webhook URL'), urlIn,
    h('small', { class: 'muted' }, 'Receives a JSON POST. Its path and query are never shown again (they often hold a token).'));
  const shapeField = h('label', { class: 'field' }, h('span', null, 'Format'), shapeSel,
    h('small', { class: 'muted' }, 'Generic JSON, or the message shape of a chat tool.'));
  const typeNote = h('small', { class: 'muted' });
  function renderType() {
    const t = typeSel.value;
    toField.hidden = t !== 'email';
    urlField.hidden = t !== 'webhook';
    shapeField.hidden = t !== 'webhook';
    typeNote.textContent = t === 'inbox' ? 'Messages in this console: the Inbox in the top bar.' : '';
  }
  function renderKinds() {
    const k = kindsSel.selectedOptions.length;
    kindsNote.textContent = k ? `${k} type${k === 1 ? '' : 's'} selected. Ctrl- or ⌘-click to add or remove one.` : 'None selected: every type notifies. Ctrl- or ⌘-click to pick several.';
    kindsClear.hidden = k === 0;
  }
  const clearKinds = () => {
    for (const o of kindsSel.options) o.selected = false;
  };
  /** Back to the defaults, keeping the type: the next channel is often of the same kind. */
  function resetForm() {
    for (const i of [nameIn, toIn, urlIn, startIn, endIn]) i.value = '';
    shapeSel.value = n.webhook_shapes[0].value;
    levelBoxes.forEach((b) => { b.checked = true; });
    clearKinds();
    maxDayIn.value = String(n.default_max_per_day);
    maxHostIn.value = String(n.default_max_per_host_per_day);
    enabledBox.checked = true;
    renderKinds();
  }
  typeSel.addEventListener('change', renderType);
  kindsSel.addEventListener('change', renderKinds);
  kindsClear.addEventListener('click', () => {
    clearKinds();
    renderKinds();
  });
  renderType();
  renderKinds();

  const form = h('form', { class: 'ch-form', id: 'ch-form', autocomplete: 'off', novalidate: true },
    h('label', { class: 'field' }, h('span', null, 'Name'), nameIn),
    h('label', { class: 'field' }, h('span', null, 'Type'), typeSel, typeNote),
    toField, urlField, shapeField,
    h('div', { class: 'field' }, h('span', null, 'Alert levels'),
      h('div', { class: 'check-list', role: 'group', 'aria-label': 'Alert levels' },
        levelBoxes.map((b) => h('label', { class: 'check', for: b.id }, b, badge(b.value))))),
    h('div', { class: 'field' }, h('span', null, 'Time window'),
      h('div', { class: 'range-row' }, startIn, h('span', { class: 'muted' }, 'to'), endIn),
      windowNote),
    h('div', { class: 'field' }, h('span', null, 'Alert types'), kindsSel,
      h('div', { class: 'range-row' }, kindsNote, kindsClear)),
    h('div', { class: 'field' }, h('span', null, 'Limits'),
      h('label', { class: 'range-row small', for: 'ch-max-day' }, maxDayIn, 'alert notifications a day'),
      h('label', { class: 'range-row small', for: 'ch-max-host' }, maxHostIn, 'per host a day'),
      h('small', { class: 'muted' }, '0 means no limit. Alerts over a limit are counted, not sent.')),
    h('div', { class: 'form-actions' }, addB,
      h('label', { class: 'check', for: 'ch-enabled' }, enabledBox, 'Enabled')));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearError();
    const name = nameIn.value.trim();
    if (!name) {
      showError('Name the channel.');
      nameIn.focus();
      return;
    }
    const type = typeSel.value;
    let kind = { type: 'inbox' };
    if (type === 'email') kind = { type, to: toIn.value.split(/[,;\n]+/).map((x) => x.trim()).filter(Boolean) };
    else if (type === 'webhook') kind = { type, url: urlIn.value.trim(), shape: shapeSel.value };
    let win = null;
    let maxPerDay;
    let maxPerHost;
    try {
      const [a, b] = [startIn.value.trim(), endIn.value.trim()];
      if (a || b) {
        if (!a || !b) throw new Error('give both ends of the time window, or neither for any time');
        win = { start_minute: parseHHMM(a, 'start'), end_minute: parseHHMM(b, 'end', { end: true }) };
        if (win.start_minute === win.end_minute) throw new Error('the time window starts and ends at the same time');
      }
      maxPerDay = parseLimit(maxDayIn.value, 'Alert notifications a day');
      maxPerHost = parseLimit(maxHostIn.value, 'Alert notifications per host a day');
    } catch (e) {
      showError(e, 'Adding the channel');
      return;
    }
    const chosen = [...kindsSel.selectedOptions].map((o) => o.value);
    const config = {
      id: 0,
      kind,
      levels: levelBoxes.filter((b) => b.checked).map((b) => b.value),
      kinds: chosen.length ? chosen : null,
      window: win,
      max_per_day: maxPerDay,
      max_per_host_per_day: maxPerHost,
      enabled: enabledBox.checked,
    };
    // The server says what is wrong with the settings (a recipient, the URL, no level…).
    await submit(addB, { busy: 'Adding…', ctx, context: 'Adding the channel' }, async () => {
      const res = await post('/api/v1/notify/channels', { name, config });
      if (!ctx.alive()) return;
      resetForm();
      await onAdded(res.id, name);
    });
  });
  return { form, renderWindowNote };
}

export async function viewNotifications(ctx) {
  setTitle('Settings', 'Notifications');
  let channels = [];
  let hostNames = new Map();
  const chResult = h('div', { class: 'wl-result', 'data-testid': 'channel-result', 'aria-live': 'polite' });

  // ---- the channel list
  const chTable = dataTable({
    testid: 'channels-table',
    filter: false,
    sort: null,
    emptyText: 'No channel: alerts notify nobody. Add one below; the console inbox needs no setup.',
    rowAttrs: (c) => ({ 'data-testid': 'channel-row', 'data-channel-id': c.id, 'data-type': channelType(c), 'data-name': c.name }),
    columns: channelColumns(() => settings.offset(), (c) => deleteButton(c)),
  });

  function deleteButton(c) {
    return dangerButton('Delete', 'Deleting…', { 'data-testid': 'channel-delete', 'data-channel-id': c.id }, async () => {
      await api('DELETE', `/api/v1/notify/channels/${enc(c.id)}`);
      if (!ctx.alive()) return;
      chResult.replaceChildren(notice(`Channel ${c.id} (${c.name}) deleted: notifications it had queued are not sent.`, { kind: 'ok', testid: 'channel-deleted' }));
      await loadChannels();
      outbox.render();
    }, reportTo(ctx, `Deleting channel ${c.id}`));
  }

  const n = M.notify;
  const policy = h('div', { class: 'notice n-info policy-notes small', 'data-testid': 'notify-policy' },
    h('strong', null, 'How channels notify'),
    h('ul', null,
      h('li', null, 'An alert notifies once, on its first occurrence: repeats are counted on the alert, not sent again.'),
      h('li', null, 'Outside its time window a channel holds alerts and sends them when the window next opens (windows and days are counted in the time zone set under Delivery settings).'),
      h('li', null, `Limits: by default at most ${n.default_max_per_day} alert notifications a day per channel and ${n.default_max_per_host_per_day} a day per host (0 = no limit); days start at local midnight.`),
      h('li', null, `Failed deliveries are retried with growing delays, up to ${n.max_attempts} attempts; every attempt shows in the delivery log below.`)));

  const settings = settingsForm(ctx, {
    onSaved: () => {
      add.renderWindowNote();
      chTable.render();
    },
  });
  const add = channelForm(ctx, {
    offset: () => settings.offset(),
    onAdded: async (id, name) => {
      chResult.replaceChildren(notice(`Channel ${id} (${name}) added.`, { kind: 'ok', testid: 'channel-added' }));
      await loadChannels();
    },
  });

  // ---- the delivery log
  const outbox = outboxTable({
    channelName: (id) => {
      const c = channels.find((x) => x.id === id);
      return c ? c.name : `channel ${id} (deleted)`;
    },
    hostName: (id) => hostNames.get(id),
  });

  setView(
    panel('Notification channels', [chResult, chTable.el, policy], { testid: 'channels-panel' }),
    h('div', { class: 'notify-grid' },
      panel('Add a channel', add.form, { testid: 'channel-add-panel' }),
      panel('Delivery settings', settings.form, { testid: 'notify-settings-panel' })),
    panel('Delivery log', outbox.el, {
      testid: 'outbox-panel',
      extra: h('span', { class: 'table-tools' }, aside('The latest 100 notifications, newest first; failed tries in red.'),
        refreshButton(ctx, 'outbox-refresh', 'Loading the delivery log', () => loadOutbox())),
    }),
  );

  async function loadChannels() {
    const res = await get('/api/v1/notify/channels');
    if (!ctx.alive()) return;
    channels = res.channels || [];
    chTable.setRows(channels);
  }
  async function loadSettings() {
    const res = await get('/api/v1/notify/settings');
    if (!ctx.alive()) return;
    settings.fill(res);
  }
  async function loadOutbox() {
    const res = await get('/api/v1/notify/outbox');
    if (!ctx.alive()) return;
    outbox.setRows(res.items || []);
  }
  // Host names only label the log: without them it shows host ids.
  const namesP = get('/api/v1/hosts').then((res) => {
    if (!ctx.alive()) return;
    hostNames = new Map((res.hosts || []).map((x) => [x.id, x.hostname]));
    outbox.render();
  }).catch((e) => {
    if (e.handled) throw e;
  });
  await Promise.all([loadSettings(), loadChannels()]);
  chTable.render();
  await loadOutbox();
  await namesP;
  autoRefresh(ctx, loadOutbox);
}

