// DOM helpers: elements built through the DOM, never from markup.
//
// Every value that comes from the API is put into the page as a text node or an attribute set
// through the DOM (see `h`), never as HTML: host names, command lines and package names are
// chosen by whoever controls a host.

export const $ = (sel, root = document) => root.querySelector(sel);

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Creates an element. Strings among `children` become text nodes, never markup. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = String(v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      // Through CSSOM, which a `style-src 'self'` content security policy allows.
      else if (k === 'style') el.style.cssText = String(v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'value') el.value = String(v);
      else if (k === 'checked' || k === 'disabled' || k === 'readOnly' || k === 'selected') el[k] = Boolean(v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element: like `h`, attributes set as they are, strings as text nodes. */
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    el.setAttribute(k, String(v));
  }
  return append(el, children);
}

/** Replaces the children of `el`; null and undefined are skipped. */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export const humanize = (s) => String(s ?? '').replace(/_/g, ' ');

export function badge(value, { cls = value, text = humanize(value), testid } = {}) {
  return h('span', { class: `badge b-${String(cls).replace(/[^a-z0-9_-]/gi, '')}`, 'data-testid': testid }, text);
}

/** A dash in muted text: what a cell shows when there is nothing. */
export const dash = (text = '—') => h('span', { class: 'muted' }, text);

export function labelChips(labels) {
  const entries = Object.entries(labels || {});
  if (!entries.length) return dash();
  return h('span', { class: 'chips' }, entries.map(([k, v]) => h('span', { class: 'chip' }, v === '' ? k : `${k}=${v}`)));
}

/** `k=v k2=v2`: labels as the table filter matches them. */
export const labelsText = (labels) => Object.entries(labels || {}).map(([k, v]) => `${k}=${v}`).join(' ');

export function setTitle(...parts) {
  const el = $('#page-title');
  el.replaceChildren();
  parts.forEach((p, i) => {
    if (i) el.appendChild(h('span', { class: 'crumb-sep' }, '›'));
    el.appendChild(typeof p === 'string' ? h('span', { class: i === parts.length - 1 ? 'crumb-cur' : 'crumb' }, p) : p);
  });
  document.title = `${parts.map((p) => (typeof p === 'string' ? p : p.textContent)).join(' › ')} · Vigil`;
}

export function setView(...nodes) {
  const v = $('#view');
  fill(v, ...nodes);
  v.scrollTop = 0;
}

export function panel(title, body, { extra, testid, cls = '' } = {}) {
  return h('section', { class: `panel ${cls}`, 'data-testid': testid },
    title ? h('div', { class: 'panel-head' }, h('h2', null, title), extra ? h('div', { class: 'panel-extra' }, extra) : null) : null,
    h('div', { class: 'panel-body' }, body));
}

/** A panel's muted one-line explanation beside its title. */
export const aside = (...text) => h('span', { class: 'muted small' }, ...text);

export function notice(text, { kind = 'info', testid } = {}) {
  return h('div', { class: `notice n-${kind}`, 'data-testid': testid }, text);
}

export function kv(pairs, { testid } = {}) {
  return h('dl', { class: 'kv', 'data-testid': testid }, pairs.map(([k, v]) => [h('dt', null, k), h('dd', null, v ?? '—')]));
}

export function loading(text = 'Loading…') {
  return h('div', { class: 'loading' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), text);
}

/** A host's name linking to its page. */
export function hostLink(id, name, attrs = {}) {
  return h('a', { href: `#/hosts/${encodeURIComponent(id)}`, ...attrs }, name || id);
}
