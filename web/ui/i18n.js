// The page's language (SPEC §9): the messages the server put in the page for it (the
// user's choice, else the browser's, else the box's `appliance.locale`), in ICU
// MessageFormat, formatted with FormatJS's intl-messageformat as the server formats
// its pages and e-mails. Every string a person reads comes from here (`t`); dates,
// numbers and sizes go through `Intl` in the same locale.
import { IntlMessageFormat } from './vendor/intl-messageformat.js';

const data = JSON.parse(document.getElementById('i18n')?.textContent || '{}');
/** The language's code (`fr`), its locale for `Intl` (`fr-FR`), and the languages to offer. */
export const lang = data.lang || 'en';
export const locale = data.locale || 'en-GB';
export const languages = data.languages || [];
const messages = data.messages || {};
const compiled = new Map();

function compile(key) {
  let format = compiled.get(key);
  if (!format) {
    const text = messages[key];
    if (text === undefined) {
      // A key the catalog lacks is a bug the catalog test catches; the page shows the key, not nothing.
      console.error(`i18n: no message "${key}"`);
      return { format: () => key };
    }
    // `ignoreTag`: a "<" in a message is a character, not rich-text markup (elements go in as values: tNodes).
    format = new IntlMessageFormat(text, locale, undefined, { ignoreTag: true });
    compiled.set(key, format);
  }
  return format;
}

/** The message `key` with its placeholders filled: `t('day.count', { count: 3 })`. */
export function t(key, values) {
  const out = compile(key).format(values);
  return Array.isArray(out) ? out.join('') : String(out);
}

/** The message with elements among its values (`{link}`), as children for `h()`. */
export function tNodes(key, values) {
  const out = compile(key).format(values);
  return Array.isArray(out) ? out : [out];
}

const numberFormats = new Map();
/** A number in the page's locale ("1 234,5" in French), with `Intl.NumberFormat` options. */
export function number(n, options = {}) {
  const k = JSON.stringify(options);
  let f = numberFormats.get(k);
  if (!f) {
    f = new Intl.NumberFormat(locale, options);
    numberFormats.set(k, f);
  }
  return f.format(n);
}

/** "a, b and c" / "a, b et c". */
export function list(items, type = 'conjunction') {
  return new Intl.ListFormat(locale, { style: 'long', type }).format(items.map(String));
}
