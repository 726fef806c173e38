// Share links (issue 22), for those who may share a source (directors, maintainers,
// a customer with download on it): the Share button and its dialog. The server gives
// the link once (it keeps only a hash of it), so the answer shows it at once with
// Copy and its QR code, and says so.
import { api } from '../api.js';
import { h, fill, button, labelled, copyText } from '../dom.js';
import { t, tNodes } from '../i18n.js';
import { session } from '../session.js';
import * as time from '../time.js';
import { fieldErrors, clearFieldErrors } from './forms.js';

/** How long a link lives, as the dialog offers it (the server takes 5m to 90d). */
export const EXPIRIES = [
  ['1d', t('share.expiryDays', { days: 1 })],
  ['7d', t('share.expiryDays', { days: 7 })],
  ['30d', t('share.expiryDays', { days: 30 })],
  ['90d', t('share.expiryDays', { days: 90 })],
];
const DEFAULT_EXPIRY = '7d';

/** What each scope opens, in a list or a heading. */
export const SCOPE_NAMES = { latest: t('share.scopeLatest'), gallery: t('share.scopeGallery'), picture: t('share.scopePicture'), video: t('share.scopeVideo'), compare: t('share.scopeCompare') };
const SCOPE_CHOICES = {
  gallery: t('share.choiceGallery'),
  latest: t('share.choiceLatest'),
};
export const LEVEL_NAMES = { view: t('share.levelView'), download: t('share.levelDownload') };

/**
 * A Share button for `sourceId`, or null for who may not share it (and in share mode).
 * `what()` says, when pressed, what to share: `{ scopes: ['gallery', 'latest'], from?, to? }`
 * for a source, `{ scopes: ['picture'], picture, describe }`, `{ scopes: ['video'], video, describe }`,
 * `{ scopes: ['compare'], pictures: [a, b], describe }`; null when there is nothing to share yet.
 */
export function shareButton(sourceId, what, ctx, props = {}) {
  if (session.share || !session.canShare(sourceId)) return null;
  return button(t('share.share'), () => {
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
    h('div', { class: 'row' }, labelled(t('share.fromOptional'), from), labelled(t('share.toOptional'), to)),
    h('p', { class: 'hint', text: t('share.periodHint') }),
  );
  const sync = () => {
    period.hidden = scope !== 'gallery';
  };
  const what =
    scopes.length > 1
      ? h(
          'fieldset',
          { class: 'choices', dataset: { path: 'scope' } },
          h('legend', { text: t('share.whatToShare') }),
          scopes.map((s) =>
            h('label', { class: 'check' }, h('input', { type: 'radio', name: 'scope', value: s, checked: s === scope, onchange: () => {
              scope = s;
              sync();
            } }), h('span', { text: SCOPE_CHOICES[s] || SCOPE_NAMES[s] })),
          ),
        )
      : h('p', { class: 'what', dataset: { path: 'scope' } }, h('strong', { text: t('share.whatLabel', { what: SCOPE_NAMES[scope] }) }), spec.describe || '');
  // Errors about the picture, pictures or film land next to what is shared.
  const target = h('span', { class: 'share-target', dataset: { path: scope === 'compare' ? 'pictures' : scope } });
  const level = h(
    'select',
    { name: 'level', dataset: { path: 'level' } },
    ['view', 'download'].filter((l) => session.can(sourceId, l)).map((l) => h('option', { value: l, text: LEVEL_NAMES[l] })),
  );
  const expiresIn = h('select', { name: 'expiresIn', dataset: { path: 'expiresIn' } }, EXPIRIES.map(([value, text]) => h('option', { value, text, selected: value === DEFAULT_EXPIRY })));
  const label = h('input', { type: 'text', name: 'label', maxlength: 100, autocomplete: 'off', placeholder: t('share.labelExample'), dataset: { path: 'label' } });
  const submit = h('button', { type: 'submit', class: 'primary', text: t('share.create') });
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
    h('div', { class: 'row' }, labelled(t('share.level'), level), labelled(t('share.expiresAfter'), expiresIn)),
    labelled(t('share.labelOptional'), label, t('share.labelHint')),
    message,
    h('div', { class: 'form-actions' }, submit, button(t('share.cancel'), close)),
  );
  sync();
  fill(body, form);

  const dialog = h(
    'dialog',
    { class: 'share-dialog', 'aria-labelledby': titleId },
    h('header', { class: 'row spread' }, h('h2', { id: titleId, text: t('share.title') }), button('×', close, { class: 'icon close', 'aria-label': t('share.close') })),
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
  const field = h('input', { type: 'text', readonly: true, value: answer.link, class: 'code share-link', 'aria-label': t('share.theLink'), onfocus: (e) => e.target.select() });
  const note = h('span', { class: 'hint copy-note', 'aria-live': 'polite' });
  const copy = button(t('share.copy'), async () => {
    note.textContent = (await copyText(answer.link, field)) ? t('share.copied') : t('share.copyByHand');
  }, { class: 'primary', 'data-action': 'copy' });
  return h(
    'div',
    { class: 'share-result', dataset: { share: answer.id } },
    h(
      'div',
      { class: 'secret', role: 'status' },
      h('p', null, tNodes('share.shownOnce', { once: h('strong', { text: t('share.shownOnceStrong') }) })),
      h('div', { class: 'copy-row' }, field, copy),
      note,
    ),
    h('img', { class: 'qr', src: svgDataUrl(answer.qr), alt: t('share.qrAlt'), width: 220, height: 220 }),
    h(
      'p',
      { class: 'until' },
      tNodes('share.until', {
        date: h('time', { datetime: answer.expiresAt, text: time.dateMinutes(answer.expiresAt) }),
        zone: time.timeZone(),
        link: h('a', { href: '#/shares', text: t('share.sharesPage') }),
      }),
    ),
    h('div', { class: 'form-actions' }, button(t('share.done'), close)),
  );
}

/** The server's SVG as an image: never inserted as markup. */
export function svgDataUrl(svgText) {
  const bytes = new TextEncoder().encode(String(svgText || ''));
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return `data:image/svg+xml;base64,${btoa(binary)}`;
}
