// Share links (issue 22), for those who may share a source (directors, maintainers,
// a customer with download on it): the Share button and its dialog. The server gives
// the link once (it keeps only a hash of it), so the answer shows it at once with
// Copy and its QR code, and says so.
import { api } from '../api.js';
import { h, fill, button, labelled, copyText } from '../dom.js';
import { session } from '../session.js';
import * as t from '../time.js';
import { fieldErrors, clearFieldErrors } from './forms.js';

/** How long a link lives, as the dialog offers it (the server takes 5m to 90d). */
export const EXPIRIES = [
  ['1d', '1 day'],
  ['7d', '7 days'],
  ['30d', '30 days'],
  ['90d', '90 days'],
];
const DEFAULT_EXPIRY = '7d';

/** What each scope opens, in a list or a heading. */
export const SCOPE_NAMES = { latest: 'Live picture', gallery: 'Pictures and films', picture: 'One picture', video: 'One film', compare: 'Two pictures compared' };
const SCOPE_CHOICES = {
  gallery: 'Pictures and films (all, or a period)',
  latest: 'The live picture only (refreshed as the camera captures)',
};
export const LEVEL_NAMES = { view: 'View only', download: 'View and download' };

/**
 * A Share button for `sourceId`, or null for who may not share it (and in share mode).
 * `what()` says, when pressed, what to share: `{ scopes: ['gallery', 'latest'], from?, to? }`
 * for a source, `{ scopes: ['picture'], picture, describe }`, `{ scopes: ['video'], video, describe }`,
 * `{ scopes: ['compare'], pictures: [a, b], describe }`; null when there is nothing to share yet.
 */
export function shareButton(sourceId, what, ctx, props = {}) {
  if (session.share || !session.canShare(sourceId)) return null;
  return button('Share', () => {
    const spec = what();
    if (spec) openShareDialog(sourceId, spec, ctx);
  }, { class: 'share-button', 'data-action': 'share', ...props });
}

/** The dialog: what, level, expiry and label; then the link, shown once. */
export function openShareDialog(sourceId, spec, ctx) {
  const scopes = spec.scopes;
  let scope = scopes[0];
  const titleId = `share-title-${Date.now()}`;
  const message = h('div', { class: 'form-error', hidden: true });

  const from = h('input', { type: 'date', name: 'from', value: spec.from || '', dataset: { path: 'from' } });
  const to = h('input', { type: 'date', name: 'to', value: spec.to || '', dataset: { path: 'to' } });
  const period = h(
    'div',
    { class: 'share-period' },
    h('div', { class: 'row' }, labelled('From (optional)', from), labelled('To (optional, included)', to)),
    h('p', { class: 'hint', text: 'Without a period the link shows every picture and film, those to come too.' }),
  );
  const sync = () => {
    period.hidden = scope !== 'gallery';
  };
  const what =
    scopes.length > 1
      ? h(
          'fieldset',
          { class: 'choices', dataset: { path: 'scope' } },
          h('legend', { text: 'What to share' }),
          scopes.map((s) =>
            h('label', { class: 'check' }, h('input', { type: 'radio', name: 'scope', value: s, checked: s === scope, onchange: () => {
              scope = s;
              sync();
            } }), h('span', { text: SCOPE_CHOICES[s] || SCOPE_NAMES[s] })),
          ),
        )
      : h('p', { class: 'what', dataset: { path: 'scope' } }, h('strong', { text: `${SCOPE_NAMES[scope]}: ` }), spec.describe || '');
  // Errors about the picture, pictures or film land next to what is shared.
  const target = h('span', { class: 'share-target', dataset: { path: scope === 'compare' ? 'pictures' : scope } });
  const level = h(
    'select',
    { name: 'level', dataset: { path: 'level' } },
    ['view', 'download'].filter((l) => session.can(sourceId, l)).map((l) => h('option', { value: l, text: LEVEL_NAMES[l] })),
  );
  const expiresIn = h('select', { name: 'expiresIn', dataset: { path: 'expiresIn' } }, EXPIRIES.map(([value, text]) => h('option', { value, text, selected: value === DEFAULT_EXPIRY })));
  const label = h('input', { type: 'text', name: 'label', maxlength: 100, autocomplete: 'off', placeholder: 'e.g. For the site meeting', dataset: { path: 'label' } });
  const submit = h('button', { type: 'submit', class: 'primary', text: 'Create the link' });
  const close = () => dialog.close();
  const body = h('div', { class: 'share-body' });

  const form = h(
    'form',
    { class: 'share-form', novalidate: true, onsubmit: async (e) => {
      e.preventDefault();
      clearFieldErrors(form, message);
      const request = { source: sourceId, scope, level: level.value, expiresIn: expiresIn.value };
      if (label.value.trim()) request.label = label.value.trim();
      if (scope === 'gallery') {
        if (from.value) request.from = from.value;
        if (to.value) request.to = to.value;
      }
      if (scope === 'picture') request.picture = spec.picture;
      if (scope === 'video') request.video = spec.video;
      if (scope === 'compare') request.pictures = spec.pictures;
      submit.disabled = true;
      try {
        const answer = await api.post('/api/shares', request);
        fill(body, made(answer, close));
        body.querySelector('[data-action="copy"]')?.focus();
      } catch (err) {
        fieldErrors(form, message, err);
      } finally {
        submit.disabled = false;
      }
    } },
    what,
    target,
    period,
    h('div', { class: 'row' }, labelled('Level', level), labelled('Expires after', expiresIn)),
    labelled('Label (optional)', label, 'Shown to whoever opens the link, and in your list of links.'),
    message,
    h('div', { class: 'form-actions' }, submit, button('Cancel', close)),
  );
  sync();
  fill(body, form);

  const dialog = h(
    'dialog',
    { class: 'share-dialog', 'aria-labelledby': titleId },
    h('header', { class: 'row spread' }, h('h2', { id: titleId, text: 'Share a link' }), button('×', close, { class: 'icon close', 'aria-label': 'Close' })),
    body,
  );
  dialog.addEventListener('close', () => dialog.remove());
  // Leaving the page (the link to the Shares page, the back button) closes it too.
  if (ctx) ctx.onLeave(() => dialog.open && dialog.close());
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

/** The link just made: copy, QR code, shown once, until when. */
function made(answer, close) {
  const field = h('input', { type: 'text', readonly: true, value: answer.link, class: 'code share-link', 'aria-label': 'The link', onfocus: (e) => e.target.select() });
  const note = h('span', { class: 'hint copy-note', 'aria-live': 'polite' });
  const copy = button('Copy', async () => {
    note.textContent = (await copyText(answer.link, field)) ? 'Copied.' : 'Select the link and copy it.';
  }, { class: 'primary', 'data-action': 'copy' });
  return h(
    'div',
    { class: 'share-result', dataset: { share: answer.id } },
    h(
      'div',
      { class: 'secret', role: 'status' },
      h('p', null, h('strong', { text: 'This link is shown only once.' }), ' Copy it now: the box keeps no copy of it.'),
      h('div', { class: 'copy-row' }, field, copy),
      note,
    ),
    h('img', { class: 'qr', src: svgDataUrl(answer.qr), alt: 'QR code of the link', width: 220, height: 220 }),
    h('p', { class: 'until' }, 'Works until ', h('time', { datetime: answer.expiresAt, text: t.dateMinutes(answer.expiresAt) }), ` (${t.timeZone()}), unless revoked on the `, h('a', { href: '#/shares', text: 'Shares page' }), '.'),
    h('div', { class: 'form-actions' }, button('Done', close)),
  );
}

/** The server's SVG as an image: never inserted as markup. */
export function svgDataUrl(svgText) {
  const bytes = new TextEncoder().encode(String(svgText || ''));
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return `data:image/svg+xml;base64,${btoa(binary)}`;
}
