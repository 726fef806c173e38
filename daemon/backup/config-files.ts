/**
 * The files a configuration names (keys, certificates, watermarks), where they are
 * relative to the config file's folder, and the one edit a restore makes to the
 * file's text: `storage.dataDir`, in place, so every comment and line stays.
 */
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { isScalar, parseDocument, Scalar } from 'yaml';
import type { Config } from '../config/schema';

/** A file the config names, at the absolute path the loader resolved it to. */
export interface ReferencedFile {
  /** Config keys naming it: `sync.targets[0].privateKey`, `web.tls.cert`, ... */
  keys: string[];
  file: string;
}

/** Every file a loaded (so resolved) configuration names, once each. */
export function referencedFiles(config: Config): ReferencedFile[] {
  const named: { key: string; file: string }[] = [];
  if (config.web.tls) named.push({ key: 'web.tls.cert', file: config.web.tls.cert }, { key: 'web.tls.key', file: config.web.tls.key });
  config.sources.forEach((s, i) => {
    if (s.image.watermark) named.push({ key: `sources[${i}].image.watermark.file`, file: s.image.watermark.file });
  });
  config.sync.targets.forEach((t, i) => {
    if (t.type === 'sftp' && t.privateKey !== undefined) named.push({ key: `sync.targets[${i}].privateKey`, file: t.privateKey });
    if (t.type === 's3' && t.secretAccessKeyFile !== undefined) named.push({ key: `sync.targets[${i}].secretAccessKeyFile`, file: t.secretAccessKeyFile });
  });
  for (const key of ['passwordFile', 'ca', 'cert', 'key'] as const) {
    const file = config.mqtt?.[key];
    if (file !== undefined) named.push({ key: `mqtt.${key}`, file });
  }
  const byFile = new Map<string, ReferencedFile>();
  for (const { key, file } of named) {
    const seen = byFile.get(file);
    if (seen) seen.keys.push(key);
    else byFile.set(file, { keys: [key], file });
  }
  return [...byFile.values()];
}

/** `file` relative to `folder` with "/" separators, or null when it is not inside it. */
export function relativeInside(folder: string, file: string): string | null {
  const relative = path.relative(path.resolve(folder), path.resolve(file));
  if (relative === '' || relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) return null;
  return relative.split(path.sep).join('/');
}

/**
 * The config text with `storage.dataDir` set to `dataDir`. The value is replaced
 * where it stands in the text (the rest of the file is the same bytes); when the
 * key is missing or written in a way that cannot be replaced in place, the key is
 * set through the YAML Document, which keeps comments but may re-indent.
 */
export function withDataDir(text: string, dataDir: string): string {
  const doc = parseDocument(text, { uniqueKeys: true });
  const node = doc.getIn(['storage', 'dataDir'], true);
  if (isScalar(node) && node.range && node.type !== Scalar.BLOCK_FOLDED && node.type !== Scalar.BLOCK_LITERAL) {
    const [start, end] = node.range;
    for (const value of [dataDir, JSON.stringify(dataDir)]) {
      const edited = text.slice(0, start) + value + text.slice(end);
      if (readsAsDataDir(edited, text, dataDir)) return edited;
    }
  }
  doc.setIn(['storage', 'dataDir'], dataDir);
  return doc.toString({ lineWidth: 0 });
}

/** The edited text is valid YAML that differs from the original only in `storage.dataDir`. */
function readsAsDataDir(edited: string, original: string, dataDir: string): boolean {
  const check = parseDocument(edited, { uniqueKeys: true });
  if (check.errors.length > 0) return false;
  const expected = parseDocument(original, { uniqueKeys: true });
  expected.setIn(['storage', 'dataDir'], dataDir);
  return isDeepStrictEqual(check.toJS(), expected.toJS());
}
