// The side drawer (alert and vulnerability details): one at a time, and a token that tells a
// late answer whether the drawer it was for is still the one on show.

import { $, fill } from './dom.js';

let token = 0;

const drawer = () => $('#drawer');

export function closeDrawer() {
  token += 1;
  drawer().hidden = true;
  delete drawer().dataset.alertId;
  delete drawer().dataset.status;
  delete drawer().dataset.vulnStatus;
  $('#drawer-body').replaceChildren();
}

/** Shows the drawer for something new; returns its token. */
export function openDrawer() {
  token += 1;
  drawer().hidden = false;
  return token;
}

/** The token of what the drawer shows now. */
export const drawerToken = () => token;

/** Sets the drawer's data attributes (what tests and styles read). */
export const drawerData = (data) => Object.assign(drawer().dataset, data);

export const drawerTitle = (...nodes) => fill($('#drawer-title'), ...nodes);
export const drawerBody = (...nodes) => fill($('#drawer-body'), ...nodes);

/** The element `testid` inside the drawer's body, if it is there. */
export const inDrawer = (testid) => $(`#drawer-body [data-testid=${testid}]`);

export function initDrawer() {
  $('#drawer-close').addEventListener('click', closeDrawer);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !drawer().hidden) closeDrawer();
  });
}
