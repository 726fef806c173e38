// The user's language (issue 26): a choice in the top bar, stored with the user
// (PUT /api/me/language) so that it follows them to every browser and into their
// e-mails; "the browser's" leaves it to Accept-Language. The page is made in its
// language by the server, so a change reloads it.
import { api } from '../api.js';
import { h } from '../dom.js';
import { t, languages } from '../i18n.js';
import { session } from '../session.js';

export function languagePicker() {
  const chosen = session.me.language || '';
  const select = h(
    'select',
    { class: 'language', 'aria-label': t('language.label'), title: t('language.label'), dataset: { action: 'language' } },
    h('option', { value: '', text: t('language.browser'), selected: chosen === '' }),
    // Each language in its own words, so that a reader finds theirs whatever the page speaks.
    languages.map((l) => h('option', { value: l.code, lang: l.code, text: l.name, selected: chosen === l.code })),
  );
  select.addEventListener('change', async () => {
    select.disabled = true;
    try {
      await api.put('/api/me/language', { language: select.value || null });
      location.reload();
    } catch (err) {
      select.disabled = false;
      select.value = chosen;
      select.setCustomValidity(err.message);
      select.reportValidity();
    }
  });
  return select;
}
