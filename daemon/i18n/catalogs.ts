/**
 * The languages people read lapsebox in (SPEC §9): one catalog per language in
 * `i18n/<code>.json` beside package.json, its messages in ICU MessageFormat
 * (`{count, plural, one {# picture} other {# pictures}}`, `{name}`), formatted with
 * FormatJS's intl-messageformat, the same library the web UI uses. Adding a language
 * is adding one file: it is found at start-up, offered in the UI, and may be
 * `appliance.locale`. The CLI, logs, config errors and the API's machine fields stay
 * English; people's pages, e-mails and the UI's messages come from here.
 */
import { IntlMessageFormat } from 'intl-messageformat';
import Negotiator from 'negotiator';
import { BASE_LANGUAGE, readCatalogs, type CatalogFile, type MessageValues } from './catalog-files';

export { BASE_LANGUAGE, type CatalogFile, type MessageValues } from './catalog-files';

/** A message of one language by key; a key missing from the language falls back to English. */
export interface Translate {
  (key: string, values?: MessageValues): string;
  /** The language's code (`fr`), its locale for `Intl` (`fr-FR`) and its own name (`Français`). */
  readonly lang: string;
  readonly locale: string;
  readonly languageName: string;
}

/**
 * The catalogs of the box, read once: translators by language (each message compiled
 * on first use), the languages to offer, and the language of a request.
 */
export class Catalogs {
  readonly #files: Map<string, CatalogFile>;
  readonly #translators = new Map<string, Translate>();

  constructor(files: Map<string, CatalogFile> = readCatalogs()) {
    this.#files = files;
  }

  /** The languages there is a catalog for, by code, with their own names. */
  languages(): { code: string; name: string; locale: string }[] {
    return [...this.#files].map(([code, c]) => ({ code, name: c.language.name, locale: c.language.locale }));
  }

  has(code: string): boolean {
    return this.#files.has(code);
  }

  /** The catalog of a language as the web UI gets it (the keys under `prefixes` only, when given). */
  messages(code: string, prefixes?: readonly string[]): Record<string, string> {
    const own = this.#files.get(code) ?? this.#files.get(BASE_LANGUAGE)!;
    const base = this.#files.get(BASE_LANGUAGE)!;
    const out: Record<string, string> = {};
    for (const [key, text] of Object.entries(base.messages)) {
      if (prefixes && !prefixes.some((p) => key.startsWith(p))) continue;
      out[key] = own.messages[key] ?? text;
    }
    return out;
  }

  /** The translator of `code` (English for a language there is no catalog for). */
  translator(code: string): Translate {
    const lang = this.#files.has(code) ? code : BASE_LANGUAGE;
    let found = this.#translators.get(lang);
    if (!found) {
      found = this.#make(lang);
      this.#translators.set(lang, found);
    }
    return found;
  }

  /**
   * The language to speak to someone: their own choice (a user's), else the first of
   * their browser's `Accept-Language` that has a catalog (`fr-CH` finds `fr`), else
   * the box's `appliance.locale`.
   */
  pick(choice: string | null | undefined, acceptLanguage: string | undefined, fallback: string): string {
    if (choice && this.#files.has(choice)) return choice;
    // Negotiator (express's own) ranks by q and matches a region to its language (fr-CH to fr).
    const wanted = acceptLanguage ? new Negotiator({ headers: { 'accept-language': acceptLanguage } }).language([...this.#files.keys()]) : undefined;
    if (wanted) return wanted;
    return this.#files.has(fallback) ? fallback : BASE_LANGUAGE;
  }

  #make(lang: string): Translate {
    const own = this.#files.get(lang)!;
    const base = this.#files.get(BASE_LANGUAGE)!;
    const compiled = new Map<string, IntlMessageFormat>();
    const t = ((key: string, values?: MessageValues): string => {
      let format = compiled.get(key);
      if (!format) {
        const text = own.messages[key] ?? base.messages[key];
        if (text === undefined) throw new Error(`no message "${key}" in the catalogs`);
        // `ignoreTag`: a "<" in a message is a character, not rich-text markup (elements go in as values).
        format = new IntlMessageFormat(text, own.messages[key] === undefined ? base.language.locale : own.language.locale, undefined, { ignoreTag: true });
        compiled.set(key, format);
      }
      return String(format.format(values));
    }) as Translate;
    return Object.assign(t, { lang, locale: own.language.locale, languageName: own.language.name });
  }
}

let shared: Catalogs | undefined;
/** The catalogs of i18n/, for code built without the daemon's own (the CLI, tests, tools); read once. */
export function defaultCatalogs(): Catalogs {
  return (shared ??= new Catalogs());
}
