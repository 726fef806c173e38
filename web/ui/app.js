// Start-up: who am I, the navigation my profile may use, then the routes.
import { api } from './api.js';
import { h, fill, errorBox } from './dom.js';
import { createRouter } from './router.js';
import { session } from './session.js';
import { setTimeZone } from './time.js';
import { galleryView } from './views/gallery.js';
import { calendarView, dayView } from './views/source.js';
import { viewerView } from './views/viewer.js';
import { compareView } from './views/compare.js';
import { videosView } from './views/videos.js';
import { settingsView } from './views/settings.js';
import { systemView } from './views/system.js';
import { usersView } from './views/users.js';
import { auditView } from './views/audit.js';

const SOURCE = '([a-z0-9][a-z0-9-]{0,31})';

const routes = [
  { pattern: /^\/?$/, view: galleryView },
  { pattern: new RegExp(`^/s/${SOURCE}/?$`), view: calendarView },
  { pattern: new RegExp(`^/s/${SOURCE}/compare$`), view: compareView },
  { pattern: new RegExp(`^/s/${SOURCE}/videos$`), view: videosView },
  { pattern: new RegExp(`^/s/${SOURCE}/settings$`), view: settingsView },
  { pattern: new RegExp(`^/s/${SOURCE}/(\\d{4}-\\d{2}-\\d{2})$`), view: dayView },
  { pattern: /^\/p\/(\d+)$/, view: viewerView },
  { pattern: /^\/system$/, view: systemView },
  { pattern: /^\/users$/, view: usersView },
  { pattern: /^\/audit$/, view: auditView },
];

function notFound(container, _ctx, err) {
  if (err) {
    fill(container, errorBox(err, err.status === 404 ? 'Not found' : 'Something went wrong'), h('p', null, h('a', { href: '#/', text: 'Back to the sources' })));
    if (!err.status) console.error(err);
  } else {
    fill(container, h('h1', { text: 'Not found' }), h('p', null, 'There is no such page. ', h('a', { href: '#/', text: 'Back to the sources' })));
  }
}

function navigation() {
  const links = [['#/', 'Sources']];
  if (session.isDirector) links.push(['#/system', 'System']);
  if (session.isMaintainer) links.push(['#/users', 'Users'], ['#/audit', 'Audit']);
  const nav = document.getElementById('nav');
  fill(nav, links.map(([href, text]) => h('a', { href, text, dataset: { nav: href } })));
  const mark = () => {
    const hash = location.hash || '#/';
    for (const a of nav.querySelectorAll('a')) {
      const href = a.getAttribute('href');
      const active = href === '#/' ? hash === '#/' || hash.startsWith('#/s/') || hash.startsWith('#/p/') : hash.startsWith(href);
      if (active) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
  };
  window.addEventListener('hashchange', mark);
  mark();
  fill(document.getElementById('whoami'), h('span', { class: 'user', text: session.me.username }), ' ', h('span', { class: 'badge', text: session.me.profile }));
}

async function start() {
  const outlet = document.getElementById('app');
  try {
    session.me = await api.get('/api/me');
  } catch (err) {
    fill(outlet, errorBox(err, 'Cannot load your profile'));
    return;
  }
  // Times are shown in the box's zone, wherever the browser is.
  session.appliance = session.me.appliance;
  setTimeZone(session.appliance.timezone);
  document.getElementById('brand').textContent = session.appliance.name;
  document.title = `${session.appliance.name} · lapsebox`;
  navigation();
  const router = createRouter(outlet, routes, notFound);
  await router.render();
}

start();
