/**
 * Which language a request is answered in (SPEC §9): pages by `readerLanguage` (a
 * user's choice, else the browser's, else the box's `appliance.locale`), and the
 * sentences of JSON answers (errors, the System page's) by `readerWords`: the user's
 * choice, else the language the request asks for (the UI sends its page's), else
 * English, so that an API client that asks for none reads what the CLI and the log say.
 */
import type { Request, Response } from 'express';
import { BASE_LANGUAGE, type Catalogs, type Translate } from '../daemon/i18n/catalogs';

/**
 * The language to answer a reader in (SPEC §9), and the locale their dates and numbers
 * take: a user's own choice, else their browser's `Accept-Language`, else
 * `appliance.locale`. The locale is the browser's own tag when it asked for that
 * language (`en-US` keeps US dates, `fr-CA` Canadian ones), else the catalog's.
 */
export function readerLanguage(catalogs: Catalogs, req: Request, choice: string | null, fallback: string): { lang: string; locale: string } {
  const accept = req.get('accept-language');
  const lang = catalogs.pick(choice, accept, fallback);
  const own = catalogs.languages().find((l) => l.code === lang)!.locale;
  const asked = (accept ?? '')
    .split(',')
    .map((part) => part.split(';')[0]!.trim())
    .find((tag) => tag.toLowerCase().split('-')[0] === lang && tag.includes('-'));
  let locale = own;
  if (asked) {
    try {
      locale = Intl.DateTimeFormat.supportedLocalesOf([asked])[0] ?? own;
    } catch {
      // Not a well-formed tag: the catalog's own locale.
    }
  }
  return { lang, locale };
}

/** The words of a JSON answer's sentences for this request (see above). */
export function readerWords(catalogs: Catalogs, req: Request, res: Response): Translate {
  const user = res.locals['user'] as { language?: string | null } | undefined;
  return catalogs.translator(catalogs.pick(user?.language ?? null, req.get('accept-language'), BASE_LANGUAGE));
}
