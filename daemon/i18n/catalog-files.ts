/**
 * The catalog files (SPEC §9): `i18n/<code>.json` beside package.json, one per
 * language, each `{"language": {"name", "locale"}, "messages": {key: ICU message}}`.
 * Read here without the formatter, so that the config schema can check
 * `appliance.locale` against them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../package-info';

/** A catalog file as written: who it is for, and its messages by key. */
export interface CatalogFile {
  language: { name: string; locale: string };
  messages: Record<string, string>;
}

/** What a message gets for its placeholders. */
export type MessageValues = Record<string, string | number | Date>;

/** The language every message exists in, and the one a box speaks when nobody said. */
export const BASE_LANGUAGE = 'en';
const CODE = /^[a-z]{2,3}$/;

/** `i18n/` beside package.json, from the sources (ts-jest) or from dist/ alike. */
export function catalogFolder(): string {
  return path.join(projectRoot(), 'i18n');
}

let codes: string[] | null = null;
/** The codes of the languages the box has a catalog for (`en`, `fr`), from the folder's listing. */
export function availableLanguages(): string[] {
  codes ??= fs
    .readdirSync(catalogFolder())
    .filter((name) => name.endsWith('.json') && CODE.test(name.slice(0, -'.json'.length)))
    .map((name) => name.slice(0, -'.json'.length))
    .sort();
  return codes;
}

/** Every catalog of `folder` (file name = language code), read and checked; throws naming the file that is wrong. */
export function readCatalogs(folder = catalogFolder()): Map<string, CatalogFile> {
  const out = new Map<string, CatalogFile>();
  for (const name of fs.readdirSync(folder).sort()) {
    if (!name.endsWith('.json')) continue;
    const code = name.slice(0, -'.json'.length);
    const file = path.join(folder, name);
    if (!CODE.test(code)) throw new Error(`${file}: a catalog is named by its language's code, such as fr.json`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new Error(`${file}: not JSON (${(err as Error).message})`);
    }
    const c = parsed as Partial<CatalogFile>;
    if (!c || typeof c.language?.name !== 'string' || typeof c.language?.locale !== 'string' || typeof c.messages !== 'object' || c.messages === null) {
      throw new Error(`${file}: expected {"language": {"name", "locale"}, "messages": {...}}`);
    }
    for (const [key, text] of Object.entries(c.messages)) {
      if (typeof text !== 'string') throw new Error(`${file}: message "${key}" is not a string`);
    }
    out.set(code, c as CatalogFile);
  }
  if (!out.has(BASE_LANGUAGE)) throw new Error(`${folder}: the English catalog (${BASE_LANGUAGE}.json) is missing`);
  return out;
}

