// Form helpers: the API's 400 `details` ({"schedule.windows[0].from": "..."})
// placed next to the field whose data-path names it, or the nearest enclosing one.
import { h, fillError, detailText } from '../dom.js';
import { t } from '../i18n.js';

export function clearFieldErrors(form, message) {
  for (const el of form.querySelectorAll('.field-error')) el.remove();
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  if (message) {
    message.hidden = true;
    message.replaceChildren();
  }
}

/** The field for a path, else its closest ancestor path: a.b[0].c, a.b[0], a.b, a. */
function fieldFor(form, path) {
  let p = path;
  while (p) {
    const el = form.querySelector(`[data-path="${CSS.escape(p)}"]`);
    if (el) return el;
    const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
    p = cut > 0 ? p.slice(0, cut) : '';
  }
  return null;
}

/** Shows an API error: details next to their fields, the rest in `message`. */
export function fieldErrors(form, message, err) {
  const rest = {};
  let placed = 0;
  if (err && err.details) {
    for (const [path, value] of Object.entries(err.details)) {
      const field = fieldFor(form, path);
      if (!field) {
        rest[path] = value;
        continue;
      }
      field.setAttribute('aria-invalid', 'true');
      const note = h('p', { class: 'field-error', role: 'alert', dataset: { for: path } }, path === field.dataset.path ? detailText(value) : t('forms.pathDetail', { path, detail: detailText(value) }));
      const holder = field.closest('.field, fieldset, .window, .mask') || field;
      holder.after(note);
      placed++;
    }
  }
  const left = Object.keys(rest).length ? rest : null;
  fillError(message, { message: placed ? t('forms.seeMarkedFields', { message: err.message }) : err.message, details: left });
  message.hidden = false;
  const first = form.querySelector('[aria-invalid="true"]');
  if (first) first.focus({ preventScroll: false });
}
