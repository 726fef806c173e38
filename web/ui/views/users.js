// Maintainers: users (profile, e-mail address, password reset, removal), groups (members)
// and the grants of both on sources.
import { api, seg } from '../api.js';
import { h, fill, spinner, errorBox, labelled, button, copyText, randomPassword } from '../dom.js';
import { session } from '../session.js';
import * as time from '../time.js';
import { t, tNodes } from '../i18n.js';
import { fieldErrors, clearFieldErrors } from './forms.js';

const PROFILES = ['customer', 'director', 'maintainer'];
const GRANT_LEVELS = ['view', 'download'];
// How the codes above read; the codes themselves go to the API.
const PROFILE_LABELS = { customer: t('users.profileCustomer'), director: t('users.profileDirector'), maintainer: t('users.profileMaintainer') };
const LEVEL_LABELS = { view: t('users.levelView'), download: t('users.levelDownload') };
const levelLabel = (level) => LEVEL_LABELS[level] || level;

/** A password shown once, with a copy button. */
function secret(text, who) {
  const field = h('input', { type: 'text', readonly: true, value: text, class: 'code', 'aria-label': t('users.passwordOf', { user: who }), dataset: { secret: who } });
  const note = h('span', { class: 'hint' });
  return h(
    'div',
    { class: 'secret', role: 'status' },
    h('p', null, tNodes('users.passwordShownOnce', { user: h('strong', { text: who }) })),
    h('div', { class: 'row' }, field, button(t('users.copy'), async () => (note.textContent = (await copyText(text, field)) ? t('users.copied') : t('users.selectAndCopy')), { class: 'small' }), note),
  );
}

export async function usersView(root, ctx) {
  fill(root, h('h1', { text: t('users.title') }), spinner());
  const notice = h('div', { class: 'notices', 'aria-live': 'polite' });
  const usersBox = h('section', { class: 'users' });
  const groupsBox = h('section', { class: 'groups' });
  const state = { users: [], groups: [], sources: [] };

  const act = async (what, fn) => {
    try {
      await fn();
      await reload();
    } catch (err) {
      notice.replaceChildren(errorBox(err, what));
      notice.scrollIntoView({ block: 'nearest' });
    }
  };

  const reload = async () => {
    const [u, g, s] = await Promise.all([api.get('/api/users', ctx.signal), api.get('/api/groups', ctx.signal), api.get('/api/sources', ctx.signal)]);
    state.users = u.users;
    state.groups = g.groups;
    state.sources = s.sources;
    drawUsers();
    drawGroups();
  };

  const sourceName = (id) => state.sources.find((s) => s.id === id)?.name || id;

  /** Grant chips with revoke, and an add form; `base` is /api/users/x or /api/groups/y. */
  const grantsEditor = (owner, base, grants) => {
    const sourceSel = h('select', { 'aria-label': t('users.sourceToGrant', { owner }), name: 'source' }, state.sources.map((s) => h('option', { value: s.id, text: s.name })));
    const levelSel = h('select', { 'aria-label': t('users.level'), name: 'level' }, GRANT_LEVELS.map((l) => h('option', { value: l, text: levelLabel(l) })));
    return h(
      'div',
      { class: 'grants' },
      h(
        'ul',
        { class: 'chips' },
        grants.length === 0 ? h('li', { class: 'hint', text: t('users.noGrant') }) : null,
        grants.map((gr) =>
          h('li', { class: 'chip', dataset: { grant: gr.source } }, h('span', { text: `${sourceName(gr.source)} · ${levelLabel(gr.level)}` }), button('×', () => act(t('users.cannotRevoke'), () => api.del(`${base}/grants/${seg(gr.source)}`)), { class: 'chip-x', 'aria-label': t('users.revoke', { source: gr.source, owner }) })),
        ),
      ),
      state.sources.length
        ? h('form', { class: 'row inline grant-form', onsubmit: (e) => {
            e.preventDefault();
            act(t('users.cannotGrant'), () => api.put(`${base}/grants/${seg(sourceSel.value)}`, { level: levelSel.value }));
          } }, sourceSel, levelSel, h('button', { type: 'submit', class: 'small', text: t('users.grant') }))
        : null,
    );
  };

  const drawUsers = () => {
    const rows = state.users.map((u) => {
      const profile = h('select', { 'aria-label': t('users.profileOf', { user: u.username }), name: 'profile', disabled: u.username === session.me.username }, PROFILES.map((p) => h('option', { value: p, selected: p === u.profile, text: PROFILE_LABELS[p] })));
      profile.addEventListener('change', () => act(t('users.cannotChangeProfile'), () => api.patch(`/api/users/${seg(u.username)}`, { profile: profile.value })));
      const reset = button(t('users.resetPassword'), () => {
        const password = randomPassword();
        act(t('users.cannotResetPassword'), async () => {
          await api.patch(`/api/users/${seg(u.username)}`, { password });
          notice.replaceChildren(secret(password, u.username));
        });
      }, { class: 'small' });
      const remove = button(t('users.remove'), () => {
        if (confirm(t('users.confirmRemove', { user: u.username }))) act(t('users.cannotRemove'), () => api.del(`/api/users/${seg(u.username)}`));
      }, { class: 'small danger', disabled: u.username === session.me.username });
      // The address progress e-mails sent to the user's groups go to; emptied and saved, it is cleared.
      const email = h('input', { type: 'email', name: 'email', value: u.email || '', placeholder: t('users.noAddress'), autocomplete: 'off', 'aria-label': t('users.emailOf', { user: u.username }), dataset: { path: 'email' } });
      const emailMessage = h('div', { class: 'form-error', hidden: true });
      const emailForm = h('form', { class: 'row inline email-form', novalidate: true, onsubmit: async (e) => {
        e.preventDefault();
        clearFieldErrors(emailForm, emailMessage);
        try {
          await api.patch(`/api/users/${seg(u.username)}`, { email: email.value.trim() === '' ? null : email.value.trim() });
          await reload();
        } catch (err) {
          fieldErrors(emailForm, emailMessage, err);
        }
      } }, labelled(t('users.email'), email), h('button', { type: 'submit', class: 'small', text: t('users.save') }), emailMessage);
      const effective = (u.effective || []).filter((e) => !(u.grants || []).some((g) => g.source === e.source && g.level === e.level));
      return h(
        'article',
        { class: 'card user', dataset: { user: u.username } },
        h('header', { class: 'row spread' }, h('h3', { class: 'username', text: u.username }), profile),
        u.groups && u.groups.length ? h('p', { class: 'hint' }, t('users.groupsOfUser', { groups: u.groups.join(', ') })) : null,
        emailForm,
        u.profile === 'customer' ? [grantsEditor(u.username, `/api/users/${seg(u.username)}`, u.grants || []), effective.length ? h('p', { class: 'hint', text: t('users.throughGroups', { grants: effective.map((e) => `${sourceName(e.source)} · ${levelLabel(e.level)}`).join(', ') }) }) : null] : h('p', { class: 'hint', text: t('users.seesEverySource', { profile: u.profile }) }),
        h('footer', { class: 'row' }, reset, remove, h('small', { class: 'hint', text: u.createdAt ? t('users.since', { date: time.day(time.wallClock(u.createdAt).slice(0, 10), 'medium') }) : '' })),
      );
    });
    const name = h('input', { type: 'text', name: 'username', required: true, autocomplete: 'off', autocapitalize: 'none', spellcheck: false, dataset: { path: 'username' } });
    const profile = h('select', { name: 'profile', dataset: { path: 'profile' } }, PROFILES.map((p) => h('option', { value: p, text: PROFILE_LABELS[p] })));
    const password = h('input', { type: 'password', name: 'password', autocomplete: 'new-password', placeholder: t('users.passwordPlaceholder'), dataset: { path: 'password' } });
    const newEmail = h('input', { type: 'email', name: 'email', autocomplete: 'off', placeholder: t('users.optional'), dataset: { path: 'email' } });
    const message = h('div', { class: 'form-error', hidden: true });
    const form = h(
      'form',
      { class: 'panel add-user', novalidate: true, onsubmit: async (e) => {
        e.preventDefault();
        clearFieldErrors(form, message);
        try {
          const body = { username: name.value.trim(), profile: profile.value, ...(password.value ? { password: password.value } : {}), ...(newEmail.value.trim() ? { email: newEmail.value.trim() } : {}) };
          const answer = await api.post('/api/users', body);
          await reload();
          notice.replaceChildren(answer.password ? secret(answer.password, answer.user.username) : h('p', { class: 'flash ok', text: t('users.added', { user: answer.user.username }) }));
        } catch (err) {
          fieldErrors(form, message, err);
        }
      } },
      h('h2', { text: t('users.addUser') }),
      h('div', { class: 'row' }, labelled(t('users.userName'), name), labelled(t('users.profile'), profile), labelled(t('users.password'), password), labelled(t('users.email'), newEmail, t('users.emailHint'))),
      message,
      h('button', { type: 'submit', class: 'primary', text: t('users.add') }),
    );
    fill(usersBox, h('h2', { text: t('users.usersCount', { count: state.users.length }) }), h('div', { class: 'cards' }, rows), form);
  };

  const drawGroups = () => {
    const cards = state.groups.map((g) => {
      const base = `/api/groups/${seg(g.name)}`;
      const candidates = state.users.filter((u) => !g.members.includes(u.username));
      // Progress e-mails sent to the group reach only the members with an address.
      const noAddress = g.members.filter((m) => !state.users.find((u) => u.username === m)?.email);
      const memberSel = h('select', { 'aria-label': t('users.userToAdd', { group: g.name }), name: 'member' }, candidates.map((u) => h('option', { value: u.username, text: u.username })));
      return h(
        'article',
        { class: 'card group', dataset: { group: g.name } },
        h('header', { class: 'row spread' }, h('h3', { text: g.name }), button(t('users.removeGroup'), () => {
          if (confirm(t('users.confirmRemoveGroup', { group: g.name }))) act(t('users.cannotRemoveGroup'), () => api.del(base));
        }, { class: 'small danger' })),
        h('h4', { text: t('users.members') }),
        h('ul', { class: 'chips' }, g.members.length === 0 ? h('li', { class: 'hint', text: t('users.nobody') }) : null, g.members.map((m) => h('li', { class: 'chip' }, h('span', { text: m }), button('×', () => act(t('users.cannotRemoveMember'), () => api.del(`${base}/members/${seg(m)}`)), { class: 'chip-x', 'aria-label': t('users.removeMember', { member: m, group: g.name }) })))),
        candidates.length
          ? h('form', { class: 'row inline', onsubmit: (e) => {
              e.preventDefault();
              act(t('users.cannotAddMember'), () => api.put(`${base}/members/${seg(memberSel.value)}`));
            } }, memberSel, h('button', { type: 'submit', class: 'small', text: t('users.addMember') }))
          : null,
        noAddress.length ? h('p', { class: 'hint', dataset: { noEmail: g.name }, text: t('users.withoutEmail', { members: noAddress.join(', ') }) }) : null,
        h('h4', { text: t('users.grants') }),
        grantsEditor(g.name, base, g.grants || []),
      );
    });
    const name = h('input', { type: 'text', name: 'name', required: true, autocomplete: 'off', dataset: { path: 'name' } });
    const message = h('div', { class: 'form-error', hidden: true });
    const form = h(
      'form',
      { class: 'panel add-group', novalidate: true, onsubmit: async (e) => {
        e.preventDefault();
        clearFieldErrors(form, message);
        try {
          await api.post('/api/groups', { name: name.value.trim() });
          await reload();
        } catch (err) {
          fieldErrors(form, message, err);
        }
      } },
      h('h2', { text: t('users.addGroup') }),
      h('div', { class: 'row' }, labelled(t('users.groupName'), name), h('button', { type: 'submit', class: 'primary', text: t('users.add') })),
      message,
    );
    fill(groupsBox, h('h2', { text: t('users.groupsCount', { count: state.groups.length }) }), state.groups.length ? h('div', { class: 'cards' }, cards) : h('p', { class: 'empty', text: t('users.noGroup') }), form);
  };

  await reload();
  fill(root, h('h1', { text: t('users.title') }), notice, usersBox, groupsBox);
}
