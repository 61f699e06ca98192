// The route table: the one place that maps a hash route to its view and its nav entry.

import { notice, panel, setTitle, setView } from './lib/dom.js';
import { viewAlerts } from './views/alerts.js';
import { viewAttacks } from './views/attacks.js';
import { viewBaseline } from './views/baseline.js';
import { viewHost } from './views/host.js';
import { viewHosts } from './views/hosts.js';
import { viewInbox } from './views/inbox.js';
import { viewInstall } from './views/install.js';
import { viewIpPolicy } from './views/ip-policy.js';
import { viewLoginSettings } from './views/login-settings.js';
import { viewNotifications } from './views/notifications.js';
import { viewOverview } from './views/overview.js';
import { viewQuarantine } from './views/quarantine.js';
import { viewVulns } from './views/vulns.js';
import { viewWhitelist } from './views/whitelist.js';

/** The route `/NAME` and the nav entry it marks → its view, in the nav's order. */
const VIEWS = {
  // Assets
  overview: viewOverview, hosts: viewHosts,
  // Detection
  alerts: viewAlerts, vulns: viewVulns, baseline: viewBaseline, whitelist: viewWhitelist, quarantine: viewQuarantine, 'ip-policy': viewIpPolicy, attacks: viewAttacks,
  // Deployment and settings; the inbox is in the top bar
  install: viewInstall, notifications: viewNotifications, 'login-settings': viewLoginSettings, inbox: viewInbox,
};

function viewNotFound(path) {
  setTitle('Not found');
  setView(panel(null, notice(`There is no page at ${path}.`, { kind: 'warn' })));
}

/** The section to mark in the nav and the view to run for a parsed hash. */
export function route({ path, segs }) {
  if (path === '/') return { section: 'overview', view: viewOverview };
  if (segs.length === 1 && Object.hasOwn(VIEWS, segs[0])) return { section: segs[0], view: VIEWS[segs[0]] };
  // `/hosts/ID`: one host.
  if (segs[0] === 'hosts' && segs.length === 2) return { section: 'hosts', view: (ctx) => viewHost(ctx, segs[1]) };
  return { section: segs[0], view: () => viewNotFound(path) };
}
