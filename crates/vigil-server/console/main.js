// Vigil web console: plain ES modules, no framework, no build step, hash routing. This module
// starts it: sign-in and sign-out, the frame around the views, and the router.

import { $, notice } from './lib/dom.js';
import { enc } from './lib/format.js';
import { api, endSession, get, getToken, getUser, setUser, startSession, takeLoginMessage } from './lib/api.js';
import { clearError, errorMessage, showError } from './lib/errors.js';
import { everyRefresh, nextView, parseHash } from './lib/router.js';
import { submit } from './lib/form.js';
import { closeDrawer, initDrawer } from './lib/drawer.js';
import { loadMeta } from './lib/meta.js';
import { route } from './routes.js';
import { refreshInboxBadge } from './views/inbox.js';

function showLogin() {
  $('#app-view').hidden = true;
  $('#login-view').hidden = false;
  document.body.classList.remove('in-app');
  document.body.insertBefore($('#error-banner'), document.body.firstChild);
  document.title = 'Sign in · Vigil';
  const user = $('#login-username');
  const pw = $('#login-password');
  pw.value = '';
  (user.value ? pw : user).focus();
}

function showApp(section) {
  $('#login-view').hidden = true;
  $('#app-view').hidden = false;
  document.body.classList.add('in-app');
  // In the console the banner sits in the page flow, between the top bar and the content.
  if ($('#error-banner').parentElement !== $('.main')) $('.main').insertBefore($('#error-banner'), $('#view'));
  document.querySelectorAll('.nav-link').forEach((a) => a.classList.toggle('active', a.dataset.nav === section));
  $('#inbox-link').classList.toggle('active', section === 'inbox');
  const name = getUser();
  $('#current-user').textContent = name || '…';
  if (!name) {
    get('/api/v1/me')
      .then((me) => {
        setUser(me.username);
        $('#current-user').textContent = me.username;
      })
      .catch((e) => showError(e, 'Loading the signed-in user'));
  }
}

function router() {
  const hash = parseHash();
  const ctx = nextView(hash.params);
  closeDrawer();
  clearError();

  if (hash.path === '/login') {
    if (getToken()) {
      location.replace(`#${hash.params.get('next') || '/overview'}`);
      return;
    }
    showLogin();
    const why = takeLoginMessage();
    if (why) showError(why);
    return;
  }
  if (!getToken()) {
    location.replace(`#/login?next=${enc(location.hash.slice(1) || '/overview')}`);
    return;
  }

  const { section, view } = route(hash);
  showApp(section);
  // The inbox page counts its own messages.
  if (section !== 'inbox') refreshInboxBadge();
  // Every view reads the server's lists: they are fetched once, before the first.
  loadMeta()
    .then(() => (ctx.alive() ? view(ctx) : null))
    .catch((e) => {
      if (!ctx.alive() || e.handled) return;
      showError(e);
      // Whatever was still loading will not come: say why in place.
      document.querySelectorAll('#view .loading').forEach((l) => l.replaceWith(notice(errorMessage(e), { kind: 'error', testid: 'view-error' })));
    });
}

function setupLogin() {
  const form = $('#login-form');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearError();
    const username = $('#login-username').value.trim();
    const password = $('#login-password').value;
    if (!username || !password) {
      showError('Enter a user name and a password.');
      return;
    }
    await submit($('#login-submit'), {
      busy: 'Signing in…',
      onError: (e) => {
        showError(e, 'Sign-in failed');
        $('#login-password').select();
      },
    }, async () => {
      const res = await api('POST', '/api/v1/login', { username, password });
      startSession(res.token, username);
      $('#login-password').value = '';
      const next = parseHash().params.get('next');
      location.hash = `#${next && next.startsWith('/') && !next.startsWith('/login') ? next : '/overview'}`;
    });
  });
}

async function signOut() {
  // End the session on the server too; the page signs out locally whatever it answers.
  try {
    await api('POST', '/api/v1/logout');
  } catch (_) {
    /* already expired, or an API token: nothing to end */
  }
  endSession();
  location.hash = '#/login';
}

setupLogin();
initDrawer();
$('#logout').addEventListener('click', signOut);
$('#error-close').addEventListener('click', clearError);
window.addEventListener('hashchange', router);
// The Inbox badge follows new messages on every page, on the overview's 10 s cycle; the inbox
// page refreshes its list, and the badge with it, on its own.
everyRefresh(() => {
  if (getToken() && !$('#app-view').hidden && parseHash().path !== '/inbox') refreshInboxBadge();
});
router();
