// Start-up: who am I, the navigation my profile may use, then the routes. Opened as
// a share link (/s/<token>), the same UI for a visitor: the link's own header, no
// navigation, and only the views its scope opens.
import { api, shareToken } from './api.js';
import { h, fill, errorBox } from './dom.js';
import { t, tNodes } from './i18n.js';
import { createRouter } from './router.js';
import { session } from './session.js';
import { setTimeZone, dateMinutes, dateTime } from './time.js';
import { galleryView } from './views/gallery.js';
import { calendarView, dayView } from './views/source.js';
import { viewerView } from './views/viewer.js';
import { compareView } from './views/compare.js';
import { videosView } from './views/videos.js';
import { settingsView } from './views/settings.js';
import { systemView } from './views/system.js';
import { usersView } from './views/users.js';
import { auditView } from './views/audit.js';
import { sharesView } from './views/shares.js';
import { sharedLatestView } from './views/shared.js';
import { languagePicker } from './views/language.js';

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
  { pattern: /^\/shares$/, view: sharesView },
];

/** A visitor's routes: the start view of the link's scope, and for a gallery the source's pages. */
function shareRoutes(share) {
  const id = share.source;
  const start = {
    gallery: (root, ctx) => calendarView(root, ctx, id),
    latest: sharedLatestView,
    picture: (root, ctx) => viewerView(root, ctx, String(share.picture)),
    video: (root, ctx) => videosView(root, ctx, id),
    compare: (root, ctx) => compareView(root, ctx, id),
  }[share.scope];
  const list = [{ pattern: /^\/?$/, view: start || notFound }];
  if (share.scope === 'gallery') {
    list.push(
      { pattern: new RegExp(`^/s/${SOURCE}/?$`), view: calendarView },
      { pattern: new RegExp(`^/s/${SOURCE}/videos$`), view: videosView },
      { pattern: new RegExp(`^/s/${SOURCE}/(\\d{4}-\\d{2}-\\d{2})$`), view: dayView },
      { pattern: /^\/p\/(\d+)$/, view: viewerView },
    );
  }
  return list;
}

function notFound(container, _ctx, err) {
  const back = h('a', { href: '#/', text: session.share ? t('app.backToStart') : t('app.backToSources') });
  if (err) {
    fill(container, errorBox(err, err.status === 404 ? t('app.notFound') : err.status === 410 ? t('app.linkEnded') : t('app.somethingWrong')), h('p', null, back));
    if (!err.status) console.error(err);
  } else {
    fill(container, h('h1', { text: t('app.notFound') }), h('p', null, tNodes('app.noSuchPage', { link: back })));
  }
}

/** A profile as its badge says it; a profile this UI does not know shows as the API spells it. */
const PROFILE_NAMES = { maintainer: t('app.profileMaintainer'), director: t('app.profileDirector'), customer: t('app.profileCustomer'), visitor: t('app.profileVisitor') };

function navigation() {
  const links = [['#/', t('app.navSources')]];
  if (session.isDirector) links.push(['#/system', t('app.navSystem')]);
  if (session.sharesAnything) links.push(['#/shares', t('app.navShares')]);
  if (session.isMaintainer) links.push(['#/users', t('app.navUsers')], ['#/audit', t('app.navAudit')]);
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
  fill(document.getElementById('whoami'), h('span', { class: 'user', text: session.me.username }), ' ', h('span', { class: 'badge', text: PROFILE_NAMES[session.me.profile] || session.me.profile }), languagePicker());
}

/** A visitor's header: the box's name, the link's label and until when it works; no navigation, no user. */
function shareHeader(share) {
  document.getElementById('nav').hidden = true;
  const info = document.getElementById('whoami');
  info.className = 'whoami share-info';
  fill(
    info,
    share.label ? h('span', { class: 'share-label', text: share.label }) : null,
    h('span', { class: 'badge share-until', title: dateTime(share.expiresAt) }, t('app.sharedUntil', { date: dateMinutes(share.expiresAt) })),
  );
  document.title = t('app.sharedTitle', { name: share.label || session.appliance.name });
}

async function start() {
  const outlet = document.getElementById('app');
  try {
    session.me = await api.get('/api/me');
  } catch (err) {
    fill(outlet, errorBox(err, shareToken ? t('app.linkDoesNotOpen') : t('app.cannotLoadProfile')));
    return;
  }
  // Times are shown in the box's zone, wherever the browser is.
  session.appliance = session.me.appliance;
  setTimeZone(session.appliance.timezone);
  document.getElementById('brand').textContent = session.appliance.name;
  document.title = `${session.appliance.name} · lapsebox`;
  const share = shareToken ? session.share : null;
  if (shareToken && !share) {
    fill(outlet, errorBox(new Error(t('app.linkNotDescribed')), t('app.linkDoesNotOpen')));
    return;
  }
  if (share) shareHeader(share);
  else navigation();
  const router = createRouter(outlet, share ? shareRoutes(share) : routes, notFound);
  await router.render();
}

start();
