// Form controls and the one way a button runs an API call (`submit`).

import { h, fill, humanize, notice } from './dom.js';
import { fmtOffset } from './format.js';
import { clearError, reportTo, showError } from './errors.js';

const SEARCH_DEBOUNCE_MS = 400;

/** UTC offsets in use somewhere, in minutes. */
const UTC_OFFSETS = [-720, -660, -600, -570, -540, -480, -420, -360, -300, -240, -210, -180, -120, -60, 0, 60, 120, 180, 210,
  240, 270, 300, 330, 345, 360, 390, 420, 480, 525, 540, 570, 600, 630, 660, 720, 765, 780, 840];

/** Minutes east of UTC this browser is at. */
export const browserOffset = () => -new Date().getTimezoneOffset();

/**
 * Runs `act` for button `btn`: the button (and `also`) disabled and saying `busy` meanwhile,
 * themselves again afterwards. A failure goes to `onError`, else to the banner after `context`
 * unless the view (`ctx`) is gone. Never throws.
 */
export async function submit(btn, { busy = null, context = null, ctx = null, onError = null, also = [] }, act) {
  const label = btn.textContent;
  const all = [btn, ...also];
  all.forEach((b) => { b.disabled = true; });
  if (busy) btn.textContent = busy;
  try {
    await act();
  } catch (e) {
    if (onError) onError(e);
    else if (!ctx || ctx.alive()) showError(e, context);
  } finally {
    all.forEach((b) => { b.disabled = false; });
    btn.textContent = label;
  }
}

/**
 * A button that acts only on a second click within 6 s (no browser dialogs), shows `busy`
 * while `act` runs, and hands a failure to `onError`.
 */
export function confirmButton({ label, confirm, busy, attrs = {}, armedClass = 'danger', act, onError = () => {} }) {
  const b = h('button', { type: 'button', ...attrs }, label);
  let timer = null;
  const disarm = () => {
    clearTimeout(timer);
    b.dataset.armed = '';
    b.textContent = label;
    b.classList.remove(armedClass);
  };
  b.addEventListener('click', async () => {
    if (b.dataset.armed !== '1') {
      b.dataset.armed = '1';
      b.textContent = confirm;
      b.classList.add(armedClass);
      timer = setTimeout(disarm, 6000);
      return;
    }
    clearTimeout(timer);
    clearError();
    await submit(b, { busy, onError }, act);
    if (b.isConnected) disarm();
  });
  return b;
}

/**
 * A two-click button for what cannot be undone: `verb` (Delete, Revoke, Disable), then
 * `Confirm <verb>`, saying `busy` while `act` runs.
 */
export function dangerButton(verb, busy, attrs, act, onError) {
  return confirmButton({
    label: verb, confirm: `Confirm ${verb.toLowerCase()}`, busy, attrs: { class: 'btn small danger-outline', ...attrs }, act, onError,
  });
}

/**
 * A form's error line: the server's message, with the field it names marked and the entry it
 * quotes selected, so the operator sees what to fix; the input stays as typed. `mark: false`
 * only focuses the field.
 */
export function formErrorBox(testid, { mark = true } = {}) {
  const box = h('div', { class: 'form-error', 'data-testid': testid, 'aria-live': 'assertive', hidden: true });
  let marked = [];
  return {
    el: box,
    clear() {
      box.hidden = true;
      box.replaceChildren();
      marked.forEach((f) => {
        f.classList.remove('invalid');
        f.removeAttribute('aria-invalid');
      });
      marked = [];
    },
    show(msg, field) {
      box.replaceChildren(notice(msg, { kind: 'error' }));
      box.hidden = false;
      if (!field) return;
      if (!mark) {
        field.focus();
        return;
      }
      field.classList.add('invalid');
      field.setAttribute('aria-invalid', 'true');
      marked.push(field);
      field.focus();
      // The server quotes the bad entry: select it where it was typed.
      const q = /"([^"]{1,200})"/.exec(msg);
      const at = q && field.value !== undefined ? field.value.indexOf(q[1]) : -1;
      if (at >= 0 && field.setSelectionRange) field.setSelectionRange(at, at + q[1].length);
    },
  };
}

/** `<option>`s from `[value, text]` pairs. */
export const options = (pairs) => pairs.map(([v, t]) => h('option', { value: String(v) }, t));

/** A select of `{ value, label }` choices, `value` chosen (the first when absent). */
export function choiceSelect(attrs, choices, value) {
  const s = h('select', attrs, options(choices.map((c) => [c.value, c.label])));
  if (value !== undefined) s.value = value;
  return s;
}

/** A `select` of numbers; a saved value outside the choices is kept as an extra option. */
export function numberSelect(attrs, choices, value) {
  const opts = choices.map((c) => (Array.isArray(c) ? c : [c, String(c)]));
  if (value !== undefined && !opts.some(([v]) => v === value)) opts.push([value, `${value} (saved)`]);
  const s = h('select', attrs, options(opts));
  if (value !== undefined) s.value = String(value);
  return s;
}

/**
 * A filter select of a list page: `all` (unless null) as the empty choice, then `choices`
 * (values, or `[value, text]` pairs); `onPick(value)` on change.
 */
export function filterSelect({ id, label, all, choices, value, onPick }) {
  const s = h('select', { 'data-testid': id, id, 'aria-label': label },
    all === null ? null : h('option', { value: '' }, all),
    choices.map((o) => (Array.isArray(o)
      ? h('option', { value: o[0] }, o[1])
      : h('option', { value: o }, o === 'all' ? 'All statuses' : humanize(o)))));
  s.value = value;
  s.addEventListener('change', () => onPick(s.value));
  return s;
}

/**
 * A search box that hands what was typed (trimmed) to `onSearch` after a pause in typing or
 * on Enter, when it differs from `current`. `later()` starts the pause again.
 */
export function searchBox({ id, cls, placeholder, label = placeholder, value, current, onSearch }) {
  const i = h('input', {
    type: 'search', id, class: `filter ${cls}`, 'data-testid': id, placeholder, 'aria-label': label,
    maxlength: '200', autocomplete: 'off', spellcheck: 'false', value,
  });
  let t = null;
  const now = () => {
    clearTimeout(t);
    const q = i.value.trim();
    if (q !== current) onSearch(q);
  };
  const later = () => {
    clearTimeout(t);
    t = setTimeout(now, SEARCH_DEBOUNCE_MS);
  };
  i.addEventListener('input', later);
  i.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') now();
  });
  return { el: i, later };
}

/** Fills a host filter: All hosts, every host (named by `name`), and `current` even if unknown. */
export function fillHostSelect(sel, hosts, current, name = (x) => x.hostname || x.id) {
  fill(sel, h('option', { value: '' }, 'All hosts'),
    hosts.map((x) => h('option', { value: x.id }, name(x))),
    current && !hosts.some((x) => x.id === current) ? h('option', { value: current }, current) : null);
  sel.value = current;
}

/** Fills a time zone select with the offsets in use, `current` chosen (added if unusual). */
export function fillOffsetSelect(sel, current) {
  const here = browserOffset();
  const offsets = UTC_OFFSETS.includes(current) ? UTC_OFFSETS : [...UTC_OFFSETS, current].sort((a, b) => a - b);
  sel.replaceChildren(...offsets.map((o) => h('option', { value: String(o) }, `${fmtOffset(o)}${o === here ? ' (this browser)' : ''}`)));
  sel.value = String(current);
}

/** The entries of a list box: one per line or separated by commas, blanks dropped. */
export const listEntries = (text) => text.split(/[\n,]+/).map((x) => x.trim()).filter(Boolean);

export async function copyText(text, textarea) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch (_) {
    // fall back below
  }
  textarea.focus();
  textarea.select();
  try {
    return document.execCommand('copy');
  } catch (_) {
    return false;
  }
}

/** A chip naming the host filter, with a link that removes it. */
export const hostFilterChip = (host, href) => h('span', { class: 'chip removable' }, `host ${host} `,
  h('a', { href, title: 'Remove the host filter' }, '×'));

/** A Refresh button that loads again, saying `what` failed if it does. */
export function refreshButton(ctx, testid, what, load) {
  const b = h('button', { type: 'button', class: 'btn small', 'data-testid': testid }, 'Refresh');
  b.addEventListener('click', () => {
    clearError();
    load().catch(reportTo(ctx, what));
  });
  return b;
}
