// Login security: the brute-force rule with its access whitelist, and the abnormal-login
// policy (approved locations, IPs, times, accounts; malicious IPs).

import { h, aside, loading, notice, panel, setTitle, setView } from '../lib/dom.js';
import { ipTargetText, plural } from '../lib/format.js';
import { api, get } from '../lib/api.js';
import { clearError, errorMessage, showError } from '../lib/errors.js';
import { browserOffset, fillOffsetSelect, formErrorBox, listEntries, numberSelect, submit } from '../lib/form.js';
import { M } from '../lib/meta.js';

/**
 * Saves a settings form: PUT `body` to `path`, then `saved(res)`. The server's 400 (a bad
 * network, a value not allowed…) goes to `err`, on the field `fieldOf(message)` names, input
 * kept; any other failure to the banner after `what`.
 */
function save(ctx, btn, { path, body, err, fieldOf, what, saved }) {
  return submit(btn, {
    busy: 'Saving…',
    onError: (e) => {
      if (!ctx.alive() || e.handled) return;
      if (e.status === 400) {
        const m = errorMessage(e);
        err.show(m, fieldOf(m));
      } else showError(e, what);
    },
  }, async () => {
    const res = await api('PUT', path, body);
    if (ctx.alive()) saved(res);
  });
}

function settingsForm(ctx, initial) {
  const bf = M.brute_force;
  const protocols = bf.protocols;
  const blocks = bf.block_mins.map((c) => [c.minutes, c.label]);
  const enabledBox = h('input', { type: 'checkbox', id: 'ls-enabled', 'data-testid': 'ls-enabled' });
  const spanSel = numberSelect({ id: 'ls-span', 'data-testid': 'ls-span', 'aria-label': 'Within minutes' }, bf.span_mins, initial.span_mins);
  const maxSel = numberSelect({ id: 'ls-max', 'data-testid': 'ls-max', 'aria-label': 'Failed logins' }, bf.max_failures, initial.max_failures);
  const blockSel = numberSelect({ id: 'ls-block', 'data-testid': 'ls-block', 'aria-label': 'Block for' }, blocks, initial.block_mins);
  const protoBoxes = protocols.map(({ value: v }) => h('input', { type: 'checkbox', value: v, id: `ls-proto-${v}`, 'data-testid': `ls-proto-${v}` }));
  const wlIn = h('textarea', {
    id: 'ls-whitelist', 'data-testid': 'ls-whitelist', rows: '5', spellcheck: 'false', autocomplete: 'off',
    placeholder: 'e.g. 203.0.113.7, 198.51.100.0/24, 2001:db8::/48', 'aria-label': 'Access whitelist',
  });
  const wlNote = h('small', { class: 'muted', 'data-testid': 'ls-whitelist-note' });
  const ruleText = h('div', { class: 'rule-text', 'data-testid': 'ls-rule-text' });
  const saveB = h('button', { type: 'submit', class: 'btn primary', id: 'ls-save', 'data-testid': 'ls-save' }, 'Save brute-force settings');
  const result = h('div', { class: 'form-result', 'data-testid': 'ls-result', 'aria-live': 'polite' });
  const err = formErrorBox('ls-error');

  function fillForm(s) {
    enabledBox.checked = Boolean(s.enabled);
    spanSel.value = String(s.span_mins);
    maxSel.value = String(s.max_failures);
    blockSel.value = String(s.block_mins);
    protoBoxes.forEach((b) => { b.checked = (s.protocols || []).includes(b.value); });
    wlIn.value = (s.access_whitelist || []).map(ipTargetText).join('\n');
    renderNotes();
  }
  function renderNotes() {
    const n = listEntries(wlIn.value).length;
    wlNote.textContent = `${n ? `${plural(n, 'entry', 'entries')}. ` : ''}Never blocked by the brute-force rule, on every host: an administrator's own address, a bastion. One IP or network (address/prefix) per line.`;
    const protos = protoBoxes.map((b, i) => (b.checked ? protocols[i].label : null)).filter(Boolean);
    const blockText = blockSel.value === '0' ? 'permanently' : `for ${(blocks.find(([v]) => String(v) === blockSel.value) || [0, `${blockSel.value} minutes`])[1]}`;
    ruleText.textContent = enabledBox.checked
      ? `A source that fails more than ${maxSel.value} ${protos.length ? protos.join('/') : '(no protocol chosen)'} logins within ${spanSel.value} minute${spanSel.value === '1' ? '' : 's'} is blocked on that host ${blockText}.`
      : 'Off: failed logins are counted (Attack analysis) but no source is blocked.';
    ruleText.classList.toggle('off', !enabledBox.checked);
  }
  for (const el of [enabledBox, spanSel, maxSel, blockSel, ...protoBoxes]) el.addEventListener('change', renderNotes);
  wlIn.addEventListener('input', renderNotes);
  fillForm(initial);

  const form = h('form', { class: 'ls-form', id: 'ls-form', autocomplete: 'off', novalidate: true, 'data-loaded': '1' },
    h('div', { class: 'field span-2' },
      h('label', { class: 'check', for: 'ls-enabled' }, enabledBox, h('strong', null, 'Block sources that fail to log in too often'))),
    h('label', { class: 'field' }, h('span', null, 'More than'), h('div', { class: 'range-row' }, maxSel, 'failed logins')),
    h('label', { class: 'field' }, h('span', null, 'Within'), h('div', { class: 'range-row' }, spanSel, 'minutes')),
    h('label', { class: 'field' }, h('span', null, 'Block for'), blockSel),
    h('div', { class: 'field' }, h('span', null, 'Protocols'),
      h('div', { class: 'check-row', role: 'group', 'aria-label': 'Protocols' },
        protoBoxes.map((b, i) => h('label', { class: 'check', for: b.id }, b, protocols[i].label)))),
    h('div', { class: 'span-2' }, ruleText),
    h('label', { class: 'field span-2' }, h('span', null, 'Access whitelist'), wlIn, wlNote),
    h('div', { class: 'form-actions' }, saveB,
      aside('Blocks go to the ', h('a', { href: '#/ip-policy' }, 'IP policy'), ' library (origin system), where they can be disabled.')),
    h('div', { class: 'span-2' }, err.el, result));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearError();
    err.clear();
    result.replaceChildren();
    await save(ctx, saveB, {
      path: '/api/v1/login-settings',
      body: {
        enabled: enabledBox.checked,
        span_mins: Number(spanSel.value),
        max_failures: Number(maxSel.value),
        block_mins: Number(blockSel.value),
        protocols: protoBoxes.filter((b) => b.checked).map((b) => b.value),
        access_whitelist: listEntries(wlIn.value),
      },
      err,
      fieldOf: (m) => (/network|whitelist/i.test(m) ? wlIn : /protocol/i.test(m) ? protoBoxes[0] : null),
      what: 'Saving the brute-force settings',
      saved: (res) => {
        fillForm(res);
        result.replaceChildren(notice(`Saved: ${ruleText.textContent} ${plural((res.access_whitelist || []).length, 'whitelist entry', 'whitelist entries')}. Agents apply it at their next check-in.`, { kind: 'ok', testid: 'ls-saved' }));
      },
    });
  });
  return form;
}

function policyForm(ctx, initial) {
  const listBox = (id, placeholder, label) => h('textarea', {
    id, 'data-testid': id, rows: '4', spellcheck: 'false', autocomplete: 'off', placeholder, 'aria-label': label,
  });
  const locIn = listBox('lp-locations', 'e.g. AU, CN/Zhejiang', 'Approved locations');
  const ipsIn = listBox('lp-ips', 'e.g. 203.0.113.7, 198.51.100.0/24', 'Approved IPs');
  const timesIn = listBox('lp-times', 'e.g. 08:00-20:00', 'Approved login times');
  const offsetSel = h('select', { id: 'lp-offset', 'data-testid': 'lp-offset', 'aria-label': 'Time zone of the login times' });
  const accIn = listBox('lp-accounts', 'e.g. root, deploy', 'Approved accounts');
  const malIn = listBox('lp-malicious', 'e.g. 192.0.2.0/24', 'Malicious IPs');
  const locAlertsBox = h('input', { type: 'checkbox', id: 'lp-location-alerts', 'data-testid': 'lp-location-alerts' });
  const saveB = h('button', { type: 'submit', class: 'btn primary', id: 'lp-save', 'data-testid': 'lp-save' }, 'Save login policy');
  const result = h('div', { class: 'form-result', 'data-testid': 'lp-result', 'aria-live': 'polite' });
  const err = formErrorBox('lp-error');
  /** The saved `location_alerts`: `true` stays `true` while the box is ticked, else null (on). */
  let savedLocationAlerts = null;
  const states = {};
  const state = (key) => {
    states[key] = h('span', { class: 'list-state', 'data-testid': `${key}-state` });
    return states[key];
  };
  const lists = [['lp-locations', locIn], ['lp-ips', ipsIn], ['lp-times', timesIn], ['lp-accounts', accIn]];
  function renderStates() {
    for (const [key, el] of lists) {
      const n = listEntries(el.value).length;
      states[key].textContent = n ? `${n} approved${key === 'lp-times' ? '' : ': replaces learning'}` : (key === 'lp-times' ? 'any time' : 'learned');
      states[key].classList.toggle('set', n > 0);
    }
    const m = listEntries(malIn.value).length;
    states['lp-malicious'].textContent = m ? plural(m, 'entry', 'entries') : 'none';
    states['lp-malicious'].classList.toggle('set', m > 0);
  }

  function fillForm(p) {
    locIn.value = (p.locations || []).join('\n');
    ipsIn.value = (p.ips || []).map(ipTargetText).join('\n');
    timesIn.value = ((p.times && p.times.ranges) || []).join('\n');
    accIn.value = (p.accounts || []).join('\n');
    malIn.value = (p.malicious_ips || []).map(ipTargetText).join('\n');
    fillOffsetSelect(offsetSel, p.times ? p.times.utc_offset_mins || 0 : browserOffset());
    savedLocationAlerts = p.location_alerts ?? null;
    locAlertsBox.checked = p.location_alerts !== false;
    renderStates();
  }
  for (const [, el] of lists) el.addEventListener('input', renderStates);
  malIn.addEventListener('input', renderStates);

  const fieldOf = { locations: locIn, ips: ipsIn, times: timesIn, accounts: accIn, malicious_ips: malIn };
  const form = h('form', { class: 'lp-form', id: 'lp-form', autocomplete: 'off', novalidate: true, 'data-loaded': '1' },
    notice([
      'Until a factor is configured here, each host learns its usual locations, IPs and accounts: whatever logs in from a public IP in the 24 hours after its first such login, then an IP (with its location) or an account once it has logged in successfully 6 times. ',
      'A configured list replaces learning for its factor: a successful login outside any configured list raises an abnormal-login alert. Login times are never learned: only configured ranges are checked. ',
      'An empty list goes back to learning. Entries: one per line, or separated by commas.',
    ], { kind: 'info' }),
    h('div', { class: 'lp-grid' },
      h('label', { class: 'field' }, h('span', null, 'Approved locations ', state('lp-locations')), locIn,
        h('small', { class: 'muted' }, 'A two-letter country code (AU), or a country and region (CN/Zhejiang), as the geolocation database names it.')),
      h('label', { class: 'field' }, h('span', null, 'Approved IPs ', state('lp-ips')), ipsIn,
        h('small', { class: 'muted' }, 'Addresses or networks (address/prefix).')),
      h('div', { class: 'field' }, h('span', null, h('label', { for: 'lp-times' }, 'Approved login times'), ' ', state('lp-times')), timesIn,
        h('label', { class: 'range-row small', for: 'lp-offset' }, 'Local time at', offsetSel),
        h('small', { class: 'muted' }, 'HH:MM-HH:MM ranges; 22:00-06:00 runs past midnight.')),
      h('label', { class: 'field' }, h('span', null, 'Approved accounts ', state('lp-accounts')), accIn,
        h('small', { class: 'muted' }, 'User names, as the login logs write them.')),
      h('label', { class: 'field' }, h('span', null, 'Malicious IPs ', state('lp-malicious')), malIn,
        h('small', { class: 'muted' }, 'Threat intelligence: a successful login from these is an urgent alert.')),
      h('div', { class: 'field' }, h('span', null, 'Unusual locations'),
        h('label', { class: 'check', for: 'lp-location-alerts' }, locAlertsBox, 'Alert on logins from unusual locations'),
        h('small', { class: 'muted' }, 'Off: no login raises an unusual-location alert, learned or approved locations alike.'))),
    h('div', { class: 'form-actions' }, saveB),
    err.el, result);
  fillForm(initial);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearError();
    err.clear();
    result.replaceChildren();
    const orNull = (list) => (list.length ? list : null);
    const ranges = listEntries(timesIn.value);
    await save(ctx, saveB, {
      path: '/api/v1/login-policy',
      body: {
        locations: orNull(listEntries(locIn.value)),
        ips: orNull(listEntries(ipsIn.value)),
        times: ranges.length ? { utc_offset_mins: Number(offsetSel.value), ranges } : null,
        accounts: orNull(listEntries(accIn.value)),
        location_alerts: locAlertsBox.checked ? (savedLocationAlerts === true ? true : null) : false,
        malicious_ips: listEntries(malIn.value),
      },
      err,
      fieldOf: (m) => {
        const field = /^(\w+)(?:\.\w+)?:/.exec(m);
        return field ? fieldOf[field[1]] : null;
      },
      what: 'Saving the login policy',
      saved: (res) => {
        fillForm(res);
        const set = [['locations', 'locations'], ['ips', 'IPs'], ['times', 'times'], ['accounts', 'accounts']].filter(([k]) => res[k]).map(([, t]) => t);
        result.replaceChildren(notice(`Saved: ${set.length ? `approved ${set.join(', ')} configured; the rest learned` : 'every factor learned'}${res.location_alerts === false ? '; unusual-location alerts off' : ''}; ${plural((res.malicious_ips || []).length, 'malicious network')}. The next logins are judged by it.`, { kind: 'ok', testid: 'lp-saved' }));
      },
    });
  });
  return form;
}

export async function viewLoginSettings(ctx) {
  setTitle('Settings', 'Login security');

  // ---- the brute-force rule and the access whitelist (GET/PUT /api/v1/login-settings)
  const lsPanelBody = h('div', null, loading());
  const lpPanelBody = h('div', null, loading());
  setView(
    panel('Brute-force defense', lsPanelBody, {
      testid: 'login-settings-panel',
      extra: aside('Every agent enforces these; they apply with each agent\'s next check-in. ', h('a', { href: '#/attacks' }, 'Attack analysis →')),
    }),
    panel('Abnormal logins', lpPanelBody, {
      testid: 'login-policy-panel',
      extra: aside('Which successful logins are normal, for every host.'),
    }),
  );

  const [ls, lp] = await Promise.all([get('/api/v1/login-settings'), get('/api/v1/login-policy')]);
  if (!ctx.alive()) return;
  lsPanelBody.replaceChildren(settingsForm(ctx, ls));
  lpPanelBody.replaceChildren(policyForm(ctx, lp));
}
