// The Notifications page's delivery settings (the operators' time zone and the SMTP server) and
// its delivery log (every queued notification with each attempt).

import { h, badge, notice } from '../lib/dom.js';
import { fmtAgo, fmtOffset, fmtTime, timeEl } from '../lib/format.js';
import { api } from '../lib/api.js';
import { clearError, showError } from '../lib/errors.js';
import { browserOffset, choiceSelect, fillOffsetSelect, submit } from '../lib/form.js';
import { dataTable } from '../lib/table.js';
import { M } from '../lib/meta.js';
import { openAlert } from './alert-drawer.js';

/** What to PUT for the form's SMTP fields, or the message saying what is wrong with them. */
function smtpBody(old, cur, pw) {
  if (!cur.host) {
    if (old) return { error: 'the SMTP settings can be replaced but not removed here; enter the SMTP server.', field: 'host' };
    if (cur.from || cur.username || pw) return { error: 'enter the SMTP server, or clear the SMTP fields.', field: 'host' };
    return {};
  }
  const same = old && cur.host === old.host && cur.port === old.port && cur.tls === old.tls
    && cur.username === (old.username || null) && cur.from === old.from;
  // Left out, the saved SMTP settings stay as they are, password included.
  if (same && !pw) return {};
  if (!Number.isInteger(cur.port) || cur.port < 1 || cur.port > 65535) {
    return { error: 'the SMTP port must be a number from 1 to 65535.', field: 'port' };
  }
  // The server replaces the SMTP settings whole and never sends the password back.
  if (!pw && old && old.password_set && cur.username) {
    return { error: 'type the SMTP password again; changing the SMTP settings replaces them whole, and the saved password is never sent back to the console.', field: 'password' };
  }
  return { smtp: { ...cur, password: pw || null, ca_cert_pem: (old && old.ca_cert_pem) || null } };
}

/**
 * The delivery settings form. `onSaved(settings)` runs whenever settings are filled in (loaded
 * or saved); `fill(settings)` fills them in.
 */
export function settingsForm(ctx, { onSaved }) {
  let settings = { utc_offset_minutes: 0, smtp: null };
  const tlsDefault = M.notify.smtp_tls[0].value;
  const offsetSel = h('select', { id: 'ns-offset', 'data-testid': 'ns-offset', 'aria-label': 'Time zone' });
  const hostIn = h('input', { type: 'text', id: 'smtp-host', 'data-testid': 'smtp-host', placeholder: 'smtp.example.com', autocomplete: 'off', spellcheck: 'false' });
  const portIn = h('input', { type: 'number', id: 'smtp-port', 'data-testid': 'smtp-port', min: '1', max: '65535', step: '1', value: '587' });
  const tlsSel = choiceSelect({ id: 'smtp-tls', 'data-testid': 'smtp-tls', 'aria-label': 'Encryption' }, M.notify.smtp_tls);
  const userIn = h('input', { type: 'text', id: 'smtp-user', 'data-testid': 'smtp-user', autocomplete: 'off', spellcheck: 'false' });
  const pwIn = h('input', { type: 'password', id: 'smtp-password', 'data-testid': 'smtp-password', autocomplete: 'new-password' });
  const pwState = h('div', { class: 'pw-state', 'data-testid': 'smtp-password-state' });
  const fromIn = h('input', { type: 'text', id: 'smtp-from', 'data-testid': 'smtp-from', placeholder: 'Vigil <vigil@example.com>', autocomplete: 'off', spellcheck: 'false' });
  const saveB = h('button', { type: 'submit', class: 'btn primary', id: 'ns-save', 'data-testid': 'ns-save' }, 'Save settings');
  const nsResult = h('div', { class: 'ns-result', 'data-testid': 'settings-result', 'aria-live': 'polite' });
  const fieldIn = { host: hostIn, port: portIn, password: pwIn };
  const form = h('form', { class: 'ns-form', id: 'ns-form', autocomplete: 'off', novalidate: true },
    h('label', { class: 'field span-2' }, h('span', null, 'Time zone'), offsetSel,
      h('small', { class: 'muted' }, `For time windows and daily limits. This browser is at ${fmtOffset(browserOffset())}.`)),
    h('label', { class: 'field' }, h('span', null, 'SMTP server'), hostIn),
    h('label', { class: 'field' }, h('span', null, 'Port'), portIn),
    h('label', { class: 'field' }, h('span', null, 'Encryption'), tlsSel),
    h('label', { class: 'field' }, h('span', null, 'Sender'), fromIn),
    h('label', { class: 'field' }, h('span', null, 'User name'), userIn),
    h('label', { class: 'field' }, h('span', null, 'Password'), pwIn, pwState),
    h('div', { class: 'form-actions' }, saveB),
    h('div', { class: 'span-2' }, nsResult));

  function fill(s) {
    settings = s;
    onSaved(s);
    fillOffsetSelect(offsetSel, s.utc_offset_minutes || 0);
    const m = s.smtp || {};
    hostIn.value = m.host || '';
    portIn.value = String(m.port || 587);
    tlsSel.value = m.tls || tlsDefault;
    userIn.value = m.username || '';
    fromIn.value = m.from || '';
    pwIn.value = '';
    pwIn.placeholder = m.password_set ? 'Saved; type to replace' : 'None';
    pwState.replaceChildren(m.password_set
      ? h('span', { class: 'pw-set', 'data-testid': 'smtp-password-set' }, '✓ password set')
      : h('small', { class: 'muted' }, s.smtp ? 'No password saved.' : 'Not configured: email channels cannot send yet.'));
    if (m.password_set) {
      pwState.appendChild(h('small', { class: 'muted pw-note' }, ' Never shown. Changing another SMTP field needs it typed again.'));
    }
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearError();
    nsResult.replaceChildren();
    const cur = {
      host: hostIn.value.trim(),
      port: Number(portIn.value),
      tls: tlsSel.value,
      username: userIn.value.trim() || null,
      from: fromIn.value.trim(),
    };
    const smtp = smtpBody(settings.smtp, cur, pwIn.value);
    if (smtp.error) {
      showError(`Saving the settings: ${smtp.error}`);
      fieldIn[smtp.field].focus();
      return;
    }
    const body = { utc_offset_minutes: Number(offsetSel.value) };
    if (smtp.smtp) body.smtp = smtp.smtp;
    await submit(saveB, { busy: 'Saving…', ctx, context: 'Saving the settings' }, async () => {
      const res = await api('PUT', '/api/v1/notify/settings', body);
      if (!ctx.alive()) return;
      fill(res);
      nsResult.replaceChildren(notice(`Saved: time zone ${fmtOffset(res.utc_offset_minutes || 0)}${res.smtp ? `, SMTP ${res.smtp.host}:${res.smtp.port}` : ''}.`, { kind: 'ok', testid: 'settings-saved' }));
    });
  });
  return { form, fill, offset: () => settings.utc_offset_minutes || 0 };
}

/** The delivery log: the latest notifications, each with its attempts. */
export function outboxTable({ channelName, hostName }) {
  /** `HH:MM:SS` today, the full local time on another day. */
  const fmtWhen = (ts) => {
    const t = fmtTime(ts);
    return t.slice(0, 10) === fmtTime(Date.now() / 1000).slice(0, 10) ? t.slice(11) : t;
  };

  function attemptLine(a) {
    const o = a.outcome || {};
    const failed = o.outcome !== 'sent';
    return h('li', { class: `attempt a-${failed ? 'failed' : 'sent'}`, 'data-testid': 'outbox-attempt', 'data-outcome': failed ? 'failed' : 'sent' },
      h('span', { class: 'attempt-no' }, `#${a.number}`),
      h('span', { class: 'attempt-at', title: `${fmtTime(a.at)} (${fmtAgo(a.at)})` }, fmtWhen(a.at)), ' ',
      failed
        ? [h('b', { title: o.code ? `error code: ${o.code}` : null }, 'failed'), ': ',
          h('span', { 'data-testid': 'attempt-message' }, o.message || 'no reason given'), ' — ',
          h('span', { 'data-testid': 'attempt-retry', title: o.retry_at ? fmtTime(o.retry_at) : null },
            o.retry_at ? `next try ${fmtAgo(o.retry_at)}, at ${fmtWhen(o.retry_at)}` : `no more tries (${a.number} of at most ${M.notify.max_attempts})`)]
        : h('b', null, 'sent'));
  }

  function attemptsCell(o) {
    const list = o.attempts || [];
    if (!list.length) {
      const now = Date.now() / 1000;
      let text;
      if (o.state !== 'pending') text = 'no attempt recorded';
      else if (o.next_at > o.created_at + 1 && o.next_at > now) text = `held until ${fmtTime(o.next_at)}: outside the channel's time window`;
      else text = 'waiting to be sent';
      return h('span', { class: 'muted', 'data-testid': 'outbox-waiting' }, text);
    }
    const KEEP = 4;
    const older = list.slice(0, Math.max(0, list.length - KEEP));
    const recent = list.slice(-KEEP);
    return h('div', null,
      older.length ? h('details', { class: 'attempts-older' }, h('summary', { class: 'muted small' }, `${older.length} earlier attempt${older.length === 1 ? '' : 's'}`),
        h('ul', { class: 'attempts' }, older.map(attemptLine))) : null,
      h('ul', { class: 'attempts' }, recent.map(attemptLine)));
  }

  return dataTable({
    testid: 'outbox-table',
    placeholder: 'Filter by channel, host, state, message…',
    sort: { key: 'id', dir: -1 },
    emptyText: 'Nothing sent yet: alerts raised from now on are queued here for every channel that wants them.',
    rowAttrs: (o) => ({ 'data-testid': 'outbox-row', 'data-outbox-id': o.id, 'data-state': o.state, 'data-channel-id': o.channel_id, 'data-alert-id': o.alert_id ?? '' }),
    columns: [
      { key: 'id', label: 'ID', width: '50px', cls: 'num muted' },
      { key: 'created_at', label: 'Queued', width: '96px', nofilter: true, render: (o) => timeEl(o.created_at) },
      { key: 'channel', label: 'Channel', width: '15%', cls: 'wrap', value: (o) => channelName(o.channel_id), render: (o) => h('span', { class: 'strong', 'data-testid': 'outbox-channel' }, channelName(o.channel_id)) },
      {
        key: 'alert', label: 'Alert', width: '16%', value: (o) => `${o.alert_id ? `#${o.alert_id}` : 'digest'} ${hostName(o.host_id) || o.host_id || ''}`,
        render: (o) => h('div', null,
          o.alert_id
            ? h('button', { type: 'button', class: 'btn link small bare', 'data-testid': 'outbox-alert', onclick: () => openAlert(o.alert_id, { onChange: () => {} }) }, `Alert #${o.alert_id}`)
            : h('span', { class: 'muted' }, 'digest'),
          o.host_id ? h('div', { class: 'muted small wrap' }, hostName(o.host_id) || o.host_id) : null),
      },
      { key: 'state', label: 'State', width: '84px', render: (o) => badge(o.state, { cls: `ob-${o.state}`, testid: 'outbox-state' }) },
      {
        key: 'attempts', label: 'Delivery attempts', cls: 'small msg', nosort: true,
        value: (o) => (o.attempts || []).map((a) => `${a.outcome?.outcome} ${a.outcome?.message || ''}`).join(' '),
        render: attemptsCell,
      },
    ],
  });
}

