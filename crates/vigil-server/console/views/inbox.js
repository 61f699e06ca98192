// The console inbox: messages of "Console inbox" channels, read by opening them, and the top
// bar's unread badge.

import { $, h, aside, loading, panel, setTitle, setView } from '../lib/dom.js';
import { enc, fmtAgo, fmtNum, fmtTime } from '../lib/format.js';
import { get, post } from '../lib/api.js';
import { clearError, errorMessage, reportTo } from '../lib/errors.js';
import { autoRefresh } from '../lib/router.js';
import { submit } from '../lib/form.js';
import { openAlert } from './alert-drawer.js';

let inboxSeq = 0;

function setInboxBadge(n) {
  const el = $('#inbox-unread');
  const link = $('#inbox-link');
  el.textContent = n > 99 ? '99+' : String(n);
  el.hidden = n === 0;
  link.dataset.unread = String(n);
  link.title = n ? `Inbox: ${fmtNum(n)} unread message${n === 1 ? '' : 's'}` : 'Inbox: nothing unread';
}

/** Updates the top bar's unread badge, from `res` (a GET /api/v1/inbox answer) or the server. */
export async function refreshInboxBadge(res) {
  const my = ++inboxSeq;
  if (!res) {
    try {
      res = await get('/api/v1/inbox');
    } catch (e) {
      // A background count: no banner, the tooltip says why it is stale.
      if (my === inboxSeq && !e.handled) $('#inbox-link').title = `Inbox: ${errorMessage(e)}`;
      return;
    }
  }
  if (my === inboxSeq) setInboxBadge(res.unread || 0);
}

const markRead = (m) => post(`/api/v1/inbox/${enc(m.id)}/read`).then(() => {
  m.read_at = Date.now() / 1000;
});

export async function viewInbox(ctx) {
  setTitle('Inbox');
  let messages = [];
  /** Messages shown with their body. */
  const expanded = new Set();
  const list = h('ul', { class: 'inbox-list', 'data-testid': 'inbox-list' }, h('li', null, loading()));
  const summary = h('span', { class: 'muted small', 'data-testid': 'inbox-summary' });
  const markAll = h('button', { type: 'button', class: 'btn small', 'data-testid': 'inbox-mark-all', disabled: true }, 'Mark all read');

  function item(m) {
    const unread = !m.read_at;
    const open = expanded.has(m.id);
    const head = h('button', { type: 'button', class: 'inbox-head', 'data-testid': 'inbox-open', 'aria-expanded': open ? 'true' : 'false' },
      h('span', { class: 'inbox-dot', title: unread ? 'Unread' : null, 'aria-hidden': 'true' }),
      h('span', { class: 'inbox-title', 'data-testid': 'inbox-title' }, m.title),
      h('span', { class: 'inbox-time muted small', title: fmtTime(m.created_at) }, fmtAgo(m.created_at)));
    head.addEventListener('click', () => toggle(m));
    const body = open
      ? h('div', { class: 'inbox-body' },
        h('pre', { class: 'inbox-text', 'data-testid': 'inbox-body' }, m.body),
        h('div', { class: 'inbox-actions' },
          m.alert_id ? h('button', { type: 'button', class: 'btn small', 'data-testid': 'inbox-alert', onclick: () => openAlert(m.alert_id, { onChange: () => {} }) }, `Open alert #${m.alert_id}`) : null,
          m.host_id ? h('a', { href: `#/hosts/${enc(m.host_id)}` }, 'Host details →') : null,
          aside(`Received ${fmtTime(m.created_at)}${m.read_at ? ` · read ${fmtAgo(m.read_at)}` : ''}`)))
      : null;
    return h('li', {
      class: `inbox-msg${unread ? ' unread' : ''}${open ? ' open' : ''}`,
      'data-testid': 'inbox-message', 'data-message-id': m.id, 'data-read': unread ? '0' : '1', 'data-alert-id': m.alert_id,
    }, head, body);
  }

  function render() {
    const unread = messages.filter((m) => !m.read_at).length;
    summary.textContent = `${fmtNum(messages.length)} message${messages.length === 1 ? '' : 's'} · ${fmtNum(unread)} unread`;
    markAll.disabled = unread === 0;
    if (!messages.length) {
      list.replaceChildren(h('li', { class: 'inbox-empty' }, 'No message. Alerts reach this inbox through a channel of type "Console inbox": ',
        h('a', { href: '#/notifications' }, 'add one on the Notifications page →')));
      return;
    }
    list.replaceChildren(...messages.map(item));
  }

  /** Opens or closes a message; opening an unread one marks it read on the server. */
  async function toggle(m) {
    if (expanded.has(m.id)) expanded.delete(m.id);
    else expanded.add(m.id);
    render();
    if (m.read_at || m.marking) return;
    m.marking = true;
    try {
      await markRead(m);
    } catch (e) {
      reportTo(ctx, `Marking message ${m.id} read`)(e);
      return;
    } finally {
      m.marking = false;
    }
    if (!ctx.alive()) return;
    render();
    refreshInboxBadge();
  }

  markAll.addEventListener('click', async () => {
    clearError();
    await submit(markAll, { busy: 'Marking…', ctx, context: 'Marking messages read' }, async () => {
      for (const m of messages.filter((x) => !x.read_at)) {
        await markRead(m);
        if (!ctx.alive()) return;
      }
    });
    if (!ctx.alive()) return;
    render();
    refreshInboxBadge();
  });

  setView(panel('Messages', [
    h('div', { class: 'table-tools inbox-tools' }, summary, h('span', { class: 'spacer' }), markAll),
    list,
  ], {
    testid: 'inbox-panel',
    extra: aside('Newest first; opening a message marks it read. ', h('a', { href: '#/notifications' }, 'Notification channels →')),
  }));

  async function load() {
    const res = await get('/api/v1/inbox');
    if (!ctx.alive()) return;
    const marking = new Map(messages.filter((m) => m.marking).map((m) => [m.id, m]));
    messages = (res.messages || [])
      .map((m) => marking.get(m.id) || m)
      .sort((a, b) => (b.created_at - a.created_at) || (b.id - a.id));
    refreshInboxBadge(res);
    render();
  }
  await load();
  autoRefresh(ctx, load);
}
