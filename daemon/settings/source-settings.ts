/**
 * A source's settings as directors and maintainers edit them from the web UI: a
 * JSON merge patch (RFC 7396) on the source's entry of the config file, validated
 * exactly like the file, written back to the file with its comments and layout,
 * then made live. The file stays the one source of truth: it is re-read at every
 * call, since people also edit it by hand.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { Document as YamlDocument, isCollection, isMap, isScalar, isSeq, parseDocument, Scalar, type Document, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';
import { ConfigError, parseConfig, type ConfigIssue, type LoadedConfig } from '../config/load';
import type { SourceConfig } from '../config/schema';
import { commitFile, tempPathFor } from '../files/atomic';
import { AppError } from '../errors';
import { messageOf } from '../error-causes';
import { say, type Say } from '../i18n/say';
import type { AuditRepository } from '../store/audit.repository';
import { holdsMaskedSecret, keepSecrets, maskSecrets, sameAddress } from '../secrets';

export type SettingsProfile = 'maintainer' | 'director' | 'customer';

/**
 * What may be changed in a source from the web, by key path, and the least profile
 * that may change it: a path covers itself and everything under it. The one table:
 * PATCH checks every changed key path against it, GET .../settings serves it to the
 * settings form, which shows only the fields it allows. A key path of the schema
 * that is not here cannot be changed from the web by anyone (edit the file).
 */
export const SETTABLE: Readonly<Record<string, Exclude<SettingsProfile, 'customer'>>> = {
  name: 'director',
  enabled: 'director',
  camera: 'maintainer',
  'schedule.every': 'director',
  'schedule.windows': 'director',
  'recovery.retries': 'maintainer',
  'recovery.powerCycle': 'maintainer',
  'image.rotate': 'director',
  'image.crop': 'director',
  'image.privacyMasks': 'director',
  'image.legend': 'director',
  // The file must be in the config file's folder (the schema checks it), so this publishes only what a maintainer put there.
  'image.watermark': 'director',
  'image.quality': 'director',
  'image.reject': 'director',
  'timelapse.daily': 'director',
  'timelapse.weekly': 'director',
  'timelapse.monthly': 'director',
  'timelapse.phone': 'director',
  'public.enabled': 'director',
  'public.width': 'director',
  'public.delay': 'director',
  'public.sizes': 'director',
  // Who gets e-mails with a share link: the director's call, like what the public sees.
  progress: 'director',
  // Deletes history: the old pictures go at the next retention pass.
  'retention.maxAgeDays': 'maintainer',
};

const RANK: Record<SettingsProfile, number> = { customer: 0, director: 1, maintainer: 2 };

/** The key paths of SETTABLE that `profile` may change. */
export function settableBy(profile: SettingsProfile): string[] {
  return Object.entries(SETTABLE)
    .filter(([, least]) => RANK[profile] >= RANK[least])
    .map(([key]) => key);
}

/** The entry of SETTABLE that covers `keyPath` (`image.legend` covers `image.legend.text`), if any. */
function coveringKey(keyPath: string): string | undefined {
  return Object.keys(SETTABLE).find((key) => keyPath === key || keyPath.startsWith(`${key}.`) || keyPath.startsWith(`${key}[`));
}

export interface SourceSettingsDeps {
  /** Absolute path of the config file in use. */
  file: () => string;
  /** Makes a validated configuration live; called only once the file holds it. */
  apply: (next: LoadedConfig) => Promise<void>;
  audit: Pick<AuditRepository, 'record'>;
  now?: () => number;
}

export interface SettingsEditor {
  /** `user:<name>`, as in the audit. */
  actor: string;
  /** The client's address. */
  address?: string;
  profile: SettingsProfile;
}

type Json = Record<string, unknown>;
type Path = (string | number)[];

export class SourceSettings {
  readonly #deps: SourceSettingsDeps;
  readonly #now: () => number;
  /** Patches run one at a time: each reads the file the one before wrote. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(deps: SourceSettingsDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  /**
   * The source's entry as the file holds it now (durations as written, secrets as
   * `***`, in URLs too) and the key paths `profile` may change (SETTABLE). Throws
   * not-found for an unknown source.
   */
  get(sourceId: string, profile: SettingsProfile): { settings: Json; editable: string[] } {
    const { file, text } = this.#read();
    const doc = parseDocument(text, { uniqueKeys: true });
    if (doc.errors.length > 0) throw this.#broken(file, text);
    const { node } = findSource(doc, sourceId, file);
    return { settings: maskSecrets(node.toJS(doc) as Json), editable: settableBy(profile) };
  }

  /**
   * Applies a JSON merge patch to the source's entry: validates the whole file as it
   * would be, writes it (atomically, comments kept), makes it live, and records it in
   * the audit. Nothing is written, applied or recorded when the patch changes nothing.
   * Rejects with AppError: invalid (bad patch; details by key path relative to the
   * source), forbidden, not-found, conflict (the file has errors elsewhere),
   * unavailable (the file cannot be read or written).
   */
  patch(sourceId: string, patch: unknown, who: SettingsEditor): Promise<{ settings: Json }> {
    try {
      checkPatch(sourceId, patch, who);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const run = this.#queue.then(() => this.#patchNow(sourceId, patch as Json, who));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * The file as `patch` would leave it, checked like a save: who may change what, secrets,
   * the whole file valid. `changed` is empty when the patch changes nothing.
   */
  #validate(sourceId: string, patch: Json, who: SettingsEditor): { file: string; before: Json; after: Json; changed: string[]; nextText: string; loaded: LoadedConfig | null } {
    const { file, text } = this.#read();
    const doc = parseDocument(text, { uniqueKeys: true });
    if (doc.errors.length > 0) throw this.#broken(file, text);
    const { index, node } = findSource(doc, sourceId, file);
    const before = node.toJS(doc) as Json;
    const after = mergePatch(before, patch) as Json;
    const changed = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((key) => !equal(before[key], after[key]));
    // Keys sent back unchanged are not changes: a form may send the whole entry.
    const paths = changedPaths(before, after);
    const denied = paths.filter((p) => {
      const key = coveringKey(p);
      return key !== undefined && RANK[who.profile] < RANK[SETTABLE[key]!];
    });
    if (denied.length > 0) {
      throw new AppError('forbidden', `only maintainers may change ${denied.map((k) => `"${k}"`).join(' and ')} of a source`, undefined, { message: say('apiError.settings.maintainersOnly', { keys: denied.join(', ') }) });
    }
    if (changed.length === 0) return { file, before, after, changed, nextText: text, loaded: null };
    const masked = paths.filter((p) => typeof valueAtPath(after, p) === 'string' && holdsMaskedSecret(valueAtPath(after, p) as string));
    // A password kept beside a URL whose address changed (an http camera's url, username, password)
    // would be sent to the new address without anyone typing it: it must be typed again.
    for (const p of paths.filter((path) => path === 'url' || path.endsWith('.url'))) {
      const secretPath = `${p.slice(0, -'url'.length)}password`;
      const [was, now, kept] = [valueAtPath(before, p), valueAtPath(after, p), valueAtPath(after, secretPath)];
      if (typeof was === 'string' && typeof now === 'string' && kept !== undefined && kept === valueAtPath(before, secretPath) && !sameAddress(was, now)) masked.push(secretPath);
    }
    if (masked.length > 0) {
      throw new AppError(
        'invalid',
        'a secret shown as *** can only be kept while the address stays the same',
        Object.fromEntries(masked.map((p) => [p, 'the address changed, so the password (or token) shown as *** must be typed again'])),
      );
    }
    // Errors elsewhere in the file are not this editor's to fix, and would block every save.
    const elsewhere = issuesOf(text, file).filter((issue) => relativePath(issue.path, index) === null);
    if (elsewhere.length > 0) throw outsideErrors(file, elsewhere);

    const nextText = rewrite(text, index, before, after);
    let loaded: LoadedConfig;
    try {
      loaded = parseConfig(nextText, file);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      throw settingsErrors(file, index, err.issues);
    }
    // Checked once the values are known to be valid, so that a typo gets the schema's "did you mean".
    const unsettable = paths.filter((p) => coveringKey(p) === undefined);
    if (unsettable.length > 0) {
      throw new AppError('forbidden', `${unsettable.map((k) => `"${k}"`).join(' and ')} of a source cannot be changed from the web; edit ${file}`, undefined, {
        message: say('apiError.settings.fileOnly', { keys: unsettable.join(', '), file }),
      });
    }
    return { file, before, after, changed, nextText, loaded };
  }

  /**
   * The source as `patch` would make it, checked like a save but neither written nor
   * applied: what a preview (a test shot) is made with. Rejects like `patch`.
   */
  proposed(sourceId: string, patch: unknown, who: SettingsEditor): SourceConfig {
    checkPatch(sourceId, patch, who);
    const { loaded } = this.#validate(sourceId, patch as Json, who);
    const config = loaded?.config ?? parseConfig(this.#read().text, this.#deps.file()).config;
    const source = config.sources.find((x) => x.id === sourceId);
    if (!source) throw new AppError('not-found', `no source "${sourceId}"`);
    return source;
  }

  async #patchNow(sourceId: string, patch: Json, who: SettingsEditor): Promise<{ settings: Json }> {
    const { file, before, after, changed, nextText, loaded } = this.#validate(sourceId, patch, who);
    if (changed.length === 0 || !loaded) return { settings: maskSecrets(before) };
    await writeAtomically(file, nextText);
    let applyError: unknown = null;
    try {
      await this.#deps.apply(loaded);
    } catch (err) {
      applyError = err;
    }
    this.#deps.audit.record({
      at: this.#now(),
      actor: who.actor,
      ...(who.address !== undefined ? { address: who.address } : {}),
      action: 'source.settings',
      target: sourceId,
      oldValue: maskSecrets(Object.fromEntries(changed.map((key) => [key, before[key] ?? null]))),
      newValue: maskSecrets(Object.fromEntries(changed.map((key) => [key, after[key] ?? null]))),
    });
    if (applyError !== null) {
      if (applyError instanceof AppError) throw applyError;
      const why = messageOf(applyError);
      throw new AppError('unavailable', `the settings were saved to ${file} but could not be applied: ${why}`, undefined, { message: say('apiError.settings.notApplied', { file, reason: why }) });
    }
    return { settings: maskSecrets(after) };
  }

  #read(): { file: string; text: string } {
    const file = this.#deps.file();
    try {
      return { file, text: readFileSync(file, 'utf8') };
    } catch (err) {
      throw new AppError('unavailable', `cannot read the configuration file ${file}: ${reason(err)}`, undefined, { message: say('apiError.settings.cannotRead', { file, reason: reason(err) }) });
    }
  }

  /** The file does not even parse as YAML. */
  #broken(file: string, text: string): AppError {
    const problems = issuesOf(text, file).map((issue) => issue.message);
    // The YAML parser's own words stay as they are.
    return new AppError('conflict', `the configuration file ${file} is not valid YAML; fix it first: ${problems.join('; ')}`, undefined, { message: say('apiError.settings.notYaml', { file, errors: problems.join('; ') }) });
  }
}

/** Checks that need neither the file nor the queue. */
function checkPatch(sourceId: string, patch: unknown, who: SettingsEditor): void {
  if (who.profile === 'customer') throw new AppError('forbidden', 'customers cannot change the settings of a source');
  if (!isPlainObject(patch)) throw new AppError('invalid', 'the settings must be a JSON object', { settings: 'expected a JSON object (a merge patch of the source)' });
  if ('id' in patch && patch['id'] !== sourceId) {
    throw new AppError('invalid', 'the id of a source cannot be changed', { id: 'renaming a source is not allowed' });
  }
}

function findSource(doc: Document, sourceId: string, file: string): { index: number; node: YAMLMap } {
  const sources = doc.get('sources', true);
  const items = isSeq(sources) ? sources.items : [];
  const index = items.findIndex((item) => isMap(item) && item.get('id') === sourceId);
  if (index < 0) throw new AppError('not-found', `no source "${sourceId}" in ${file}`, undefined, { message: say('apiError.source.notFound', { source: sourceId }) });
  return { index, node: items[index] as YAMLMap };
}

function issuesOf(text: string, file: string): ConfigIssue[] {
  try {
    parseConfig(text, file);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues;
  }
}

/** `schedule.every` for `sources[2].schedule.every` when index is 2; null when the path is not under that source. */
function relativePath(p: string, index: number): string | null {
  const prefix = `sources[${index}]`;
  if (p === prefix) return '';
  if (p.startsWith(`${prefix}.`)) return p.slice(prefix.length + 1);
  if (p.startsWith(`${prefix}[`)) return p.slice(prefix.length);
  return null;
}

/** The source's errors by key path, in English and (`said`) in catalog words for the form's reader. */
function settingsErrors(file: string, index: number, issues: ConfigIssue[]): AppError {
  const outside = issues.filter((issue) => relativePath(issue.path, index) === null);
  if (outside.length > 0) return outsideErrors(file, outside);
  const details: Record<string, string> = {};
  const words: Record<string, Say[]> = {};
  for (const issue of issues) {
    const key = relativePath(issue.path, index) || '(source)';
    details[key] = details[key] === undefined ? issue.message : `${details[key]}; ${issue.message}`;
    // An issue without catalog words (a camera's allow-list, say) reads as the CLI prints it.
    (words[key] ??= []).push(issue.say ?? say('apiError.config.untranslated', { message: issue.message }));
  }
  return new AppError('invalid', `the settings have ${issues.length} error${issues.length === 1 ? '' : 's'}`, details, {
    message: say('apiError.settings.errors', { count: issues.length }),
    details: Object.fromEntries(Object.entries(words).map(([key, list]) => [key, list.length === 1 ? list[0]! : list])),
  });
}

/** Errors elsewhere in the file: the lead in the reader's words, the errors as `config check` prints them. */
function outsideErrors(file: string, issues: ConfigIssue[]): AppError {
  const lines = issues.map((i) => (i.path ? `${i.line > 0 ? `line ${i.line}: ` : ''}${i.path}: ${i.message}` : i.message));
  return new AppError('conflict', `the configuration file has errors outside this source; fix it first: ${file}: ${lines.join('; ')}`, undefined, {
    message: say('apiError.settings.outside', { file, errors: lines.join('; ') }),
  });
}

// ---------------------------------------------------------------- merge patch

function isPlainObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Sets an own property, even one named `__proto__` (JSON may hold that key; the schema then rejects it). */
function setOwn(target: Json, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * RFC 7396: objects merge, anything else replaces, null removes. A secret sent back
 * as `***` (a password, or inside a URL) keeps the stored one.
 */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const out: Json = {};
  if (isPlainObject(target)) for (const [key, value] of Object.entries(target)) setOwn(out, key, value);
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else setOwn(out, key, isPlainObject(value) ? mergePatch(out[key], value) : keepSecrets(key, out[key], value));
  }
  return out;
}

function equal(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => equal(item, b[i]));
  }
  if (!isPlainObject(a) || !isPlainObject(b)) return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.prototype.hasOwnProperty.call(b, key) && equal(a[key], b[key]));
}

/**
 * Every key path where `after` differs from `before`, as deep as both sides are
 * objects (`retention.maxAgeDays`, `camera.url`); arrays are compared whole
 * (`schedule.windows`). An object that appears or goes away empty counts at its own path.
 */
export function changedPaths(before: unknown, after: unknown, at = ''): string[] {
  if (equal(before, after)) return [];
  if (!isPlainObject(before) && !isPlainObject(after)) return at === '' ? [] : [at];
  const b = isPlainObject(before) ? before : {};
  const a = isPlainObject(after) ? after : {};
  const out = [...new Set([...Object.keys(b), ...Object.keys(a)])].flatMap((key) => changedPaths(b[key], a[key], at === '' ? key : `${at}.${key}`));
  // {} where there was nothing, or a scalar where there was an object: the path itself changed.
  const scalar = (v: unknown) => v !== undefined && !isPlainObject(v);
  if (at !== '' && (out.length === 0 || scalar(before) || scalar(after))) out.unshift(at);
  return out;
}

function valueAtPath(root: Json, keyPath: string): unknown {
  let value: unknown = root;
  for (const part of keyPath.split('.')) value = isPlainObject(value) ? value[part] : undefined;
  return value;
}

// ---------------------------------------------------------------- write-back

interface Change {
  /** Relative to the source entry. */
  path: string[];
  /** Absent: the key is removed. */
  value?: unknown;
}

/** The leaves that differ; arrays, and objects that become empty, are replaced whole. */
function changesBetween(before: Json, after: Json, at: string[] = [], out: Change[] = []): Change[] {
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const old = before[key];
    const next = after[key];
    if (equal(old, next)) continue;
    if (!Object.prototype.hasOwnProperty.call(after, key)) out.push({ path: [...at, key] });
    else if (isPlainObject(old) && isPlainObject(next) && Object.keys(next).length > 0) changesBetween(old, next, [...at, key], out);
    else out.push({ path: [...at, key], value: next });
  }
  return out;
}

/**
 * The file's text with the source entry changed from `before` to `after`. The
 * parsed Document gets the changes (setIn/deleteIn) and says what the file must
 * hold; the text is then edited only where a value changed, because the Document
 * printed whole re-lays out every comment of the file (aligned `# ...` columns,
 * comments after `key:`, flow spacing). When a change cannot be made in place, or
 * the edited text would not read back as the Document, the Document is printed.
 */
function rewrite(text: string, index: number, before: Json, after: Json): string {
  const changes = changesBetween(before, after);
  const edited = parseDocument(text, { uniqueKeys: true });
  for (const change of changes) {
    const at = ['sources', index, ...change.path];
    if (!('value' in change)) edited.deleteIn(at);
    else if (isPlainObject(change.value) || Array.isArray(change.value)) edited.setIn(at, edited.createNode(change.value));
    else edited.setIn(at, change.value); // keeps the Scalar node, and so its comment and quoting
  }
  const expected = edited.toJS() as unknown;
  const inPlace = editInPlace(text, index, changes, expected);
  if (inPlace !== null) {
    const check = parseDocument(inPlace, { uniqueKeys: true });
    if (check.errors.length === 0 && equal(check.toJS(), expected)) return inPlace;
  }
  return edited.toString({ lineWidth: 0 });
}

interface Splice {
  start: number;
  end: number;
  text: string;
}

/** Text edits for the changes, or null when one of them is not a simple case. */
function editInPlace(text: string, index: number, changes: Change[], expected: unknown): string | null {
  const doc = parseDocument(text, { uniqueKeys: true });
  const targets: { path: Path; remove: boolean }[] = [];
  for (const change of changes) {
    const keyPath: Path = ['sources', index, ...change.path];
    // Inside a flow collection, the outermost one is printed again whole (they seldom hold comments).
    const flowAt = outermostFlow(doc, keyPath);
    targets.push(flowAt === null ? { path: keyPath, remove: !('value' in change) } : { path: keyPath.slice(0, flowAt), remove: false });
  }
  // A target inside another one (or the same) is covered by it.
  const unique: typeof targets = [];
  for (const target of [...targets].sort((a, b) => a.path.length - b.path.length)) {
    if (!unique.some((kept) => kept.path.every((part, k) => part === target.path[k]))) unique.push(target);
  }
  const splices: Splice[] = [];
  for (const target of unique) {
    const splice = target.remove ? removal(doc, text, target.path) : replacement(doc, text, target.path, valueAt(expected, target.path));
    if (splice === null) return null;
    splices.push(splice);
  }
  splices.sort((a, b) => a.start - b.start);
  let out = '';
  let cursor = 0;
  for (const s of splices) {
    if (s.start < cursor) return null;
    out += text.slice(cursor, s.start) + s.text;
    cursor = s.end;
  }
  return out + text.slice(cursor);
}

function valueAt(root: unknown, keyPath: Path): unknown {
  let value = root;
  for (const part of keyPath) value = (value as Record<string | number, unknown>)[part];
  return value;
}

/** Depth of the outermost flow collection among the parents of `keyPath`, or null. */
function outermostFlow(doc: Document, keyPath: Path): number | null {
  for (let depth = 0; depth < keyPath.length; depth++) {
    const node = depth === 0 ? doc.contents : doc.getIn(keyPath.slice(0, depth), true);
    if (isCollection(node) && node.flow) return depth;
  }
  return null;
}

type Ranged = (Scalar | YAMLMap | YAMLSeq) & { range: [number, number, number] };

/** A scalar or a collection read from the text (so with its place in it). */
function hasRange(node: unknown): node is Ranged {
  return isScalar(node) || isCollection(node) ? Array.isArray((node as { range?: unknown }).range) : false;
}

/** The block map at `parentPath`, or null when it is not one. */
function blockParent(doc: Document, parentPath: Path): (YAMLMap & { range: [number, number, number] }) | null {
  const parent = parentPath.length === 0 ? doc.contents : doc.getIn(parentPath, true);
  return isMap(parent) && !parent.flow && hasRange(parent) ? (parent as YAMLMap & { range: [number, number, number] }) : null;
}

function pairOf(map: YAMLMap, key: string | number): Pair | undefined {
  return map.items.find((pair) => isScalar(pair.key) && pair.key.value === key);
}

function column(text: string, offset: number): number {
  return offset - (text.lastIndexOf('\n', offset - 1) + 1);
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

/** Removes `key: value` with its own comment, as whole lines; comment lines above it stay. */
function removal(doc: Document, text: string, keyPath: Path): Splice | null {
  const parent = blockParent(doc, keyPath.slice(0, -1));
  const pair = parent ? pairOf(parent, keyPath[keyPath.length - 1]!) : undefined;
  if (!pair || !hasRange(pair.key)) return null;
  const start = lineStart(text, pair.key.range[0]);
  if (text.slice(start, pair.key.range[0]).trim() !== '') return null; // `- key:`: the first key of a list item
  let end = hasRange(pair.value) ? pair.value.range[2] : pair.key.range[2];
  if (end > 0 && text[end - 1] !== '\n') {
    const newline = text.indexOf('\n', end);
    if (text.slice(end, newline < 0 ? text.length : newline).trim().replace(/^#.*$/, '') !== '') return null;
    end = newline < 0 ? text.length : newline + 1;
  }
  return { start, end, text: '' };
}

/** Sets the value at `keyPath` in a block map: in place when the key exists, as a new last key otherwise. */
function replacement(doc: Document, text: string, keyPath: Path, value: unknown): Splice | null {
  if (keyPath.length === 0) {
    // The whole document is one flow collection.
    return hasRange(doc.contents) ? { start: doc.contents.range[0], end: doc.contents.range[1], text: flow(value, text.slice(doc.contents.range[0], doc.contents.range[1])) } : null;
  }
  const parent = blockParent(doc, keyPath.slice(0, -1));
  if (!parent) return null;
  const key = keyPath[keyPath.length - 1]!;
  const pair = pairOf(parent, key);
  if (!pair) {
    const first = parent.items[0]?.key;
    if (!hasRange(first) || typeof key !== 'string') return null;
    const indent = ' '.repeat(column(text, first.range[0]));
    const at = parent.range[1];
    const lines = block({ [key]: value }).map((line) => indent + line);
    return { start: at, end: at, text: `${at > 0 && text[at - 1] !== '\n' ? '\n' : ''}${lines.join('\n')}\n` };
  }
  const node = pair.value;
  if (!hasRange(node) || node.anchor || node.tag) return null;
  const [start, end] = node.range;
  const old = text.slice(start, end);
  if (isScalar(node)) {
    if (node.type === Scalar.BLOCK_FOLDED || node.type === Scalar.BLOCK_LITERAL) return null;
    return keepCommentColumn(text, start, end, isPlainObject(value) || Array.isArray(value) ? flow(value, '') : scalar(value, node.type));
  }
  if (node.flow) return keepCommentColumn(text, start, end, flow(value, old));
  // A block collection: it starts on its own line, at `column`, and ends with its last line's newline.
  const empty = (isPlainObject(value) && Object.keys(value).length === 0) || (Array.isArray(value) && value.length === 0);
  const lines = isPlainObject(value) || Array.isArray(value) ? (empty ? [flow(value, '')] : block(value)) : [scalar(value, undefined)];
  const indent = ' '.repeat(column(text, start));
  return { start, end, text: `${lines.join(`\n${indent}`)}${old.endsWith('\n') ? '\n' : ''}` };
}

/** A value replaced on its line leaves the comment after it where it was (aligned comments stay aligned). */
function keepCommentColumn(text: string, start: number, end: number, replacement: string): Splice {
  const gap = /^( +)#/.exec(text.slice(end, end + 256));
  if (!gap) return { start, end, text: replacement };
  const spaces = Math.max(1, gap[1]!.length + (end - start) - replacement.length);
  return { start, end: end + gap[1]!.length, text: replacement + ' '.repeat(spaces) };
}

/** A scalar on one line, quoted as the old one was when it was quoted. */
function scalar(value: unknown, type: Scalar.Type | undefined): string {
  if (typeof value === 'string') {
    if (type === Scalar.QUOTE_DOUBLE || value.includes('\n')) return JSON.stringify(value);
    if (type === Scalar.QUOTE_SINGLE) return `'${value.replace(/'/g, "''")}'`;
  }
  const plain = print(value);
  return plain.includes('\n') ? JSON.stringify(value) : plain;
}

/** A collection on one line, with the spacing inside brackets of the one it replaces. */
function flow(value: unknown, old: string): string {
  const padding = old === '' ? true : /^[[{]\s/.test(old) || /^[[{][\]}]$/.test(old);
  return print(value, { collectionStyle: 'flow', flowCollectionPadding: padding });
}

/** A value in block style, as lines without their indentation. */
function block(value: unknown): string[] {
  return print(value, { collectionStyle: 'block' }).split('\n');
}

/**
 * Printed as YAML 1.1 would need it, which also reads the same in 1.2: strings such
 * as "07:00" or "no" get quotes, so that no tool reads them as numbers or booleans.
 */
function print(value: unknown, options: { collectionStyle?: 'flow' | 'block'; flowCollectionPadding?: boolean } = {}): string {
  return new YamlDocument(value, { version: '1.1' }).toString({ lineWidth: 0, ...options }).replace(/\n$/, '');
}

// ---------------------------------------------------------------- the file

async function writeAtomically(file: string, text: string): Promise<void> {
  let target = file;
  try {
    target = await fs.realpath(file); // a symlinked config stays a symlink
    const stat = await fs.stat(target);
    const mode = stat.mode & 0o7777;
    const temp = tempPathFor(target);
    try {
      await fs.writeFile(temp, text, { flag: 'wx', mode });
      await fs.chmod(temp, mode); // the umask may have taken bits away
      // Only root may give a file away; the daemon's own user keeps owning what it wrote.
      await fs.chown(temp, stat.uid, stat.gid).catch(() => undefined);
      await commitFile(temp, target, { replace: true });
    } catch (err) {
      await fs.rm(temp, { force: true }).catch(() => undefined);
      throw err;
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // The new file is renamed over the old one, so it is the folder that must be writable.
    const why = code === 'EACCES' || code === 'EPERM' ? `permission denied (the user the daemon runs as needs write access to the folder ${path.dirname(target)})` : reason(err);
    throw new AppError('unavailable', `cannot write the configuration file ${target}: ${why}; nothing was changed`, undefined, { message: say('apiError.settings.cannotWrite', { file: target, reason: why }) });
  }
}

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'the filesystem is read-only';
    case 'ENOSPC':
      return 'the disk is full';
    case 'ENOENT':
      return 'the file does not exist';
    case 'EISDIR':
      return 'a folder is in the way';
    default:
      return e.message ?? String(err);
  }
}
