// The enums and choice lists of the API (`GET /api/v1/meta`), fetched once after sign-in.

import { get } from './api.js';

/** The server's answer, filled in by `loadMeta` before any view runs. */
export const M = {};

let loaded = null;

/** Fetches the lists once; a failed fetch is tried again by the next view. */
export function loadMeta() {
  if (!loaded) {
    loaded = get('/api/v1/meta').then((m) => {
      Object.assign(M, m);
    });
    loaded.catch(() => {
      loaded = null;
    });
  }
  return loaded;
}

export const kinds = () => M.alerts.kinds.map((k) => k.kind);

/** Evidence fields a whitelist rule of `kind` is keyed by (the server decides). */
export const keyFields = (kind) => (M.alerts.kinds.find((k) => k.kind === kind) || { key_fields: [] }).key_fields;

const action = (a) => M.alerts.actions.find((x) => x.action === a) || { label: a, from: [] };
export const actionLabel = (a) => action(a).label;
/** Whether an alert in `status` can take `a` (the server refuses the others). */
export const actionAllowed = (a, status) => action(a).from.includes(status);

/** The label of `value` among `choices` (`{ value, label }`), or the value itself. */
export const choiceLabel = (choices, value) => (choices.find((c) => c.value === value) || { label: value }).label;
