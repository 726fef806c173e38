/**
 * Reads and validates the YAML configuration. Every problem is reported at once,
 * each naming the file, the line, the key path and what was expected.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { configSchema, crossCheck, type Config, type CrossIssue } from './schema';
import { issueWords } from './issue-words';
import { messageOf } from '../error-causes';
import { say, type Say } from '../i18n/say';

export const DEFAULT_CONFIG_FILE = '/etc/lapsebox/lapsebox.yaml';

/** One configuration error: key path (`sources[1].schedule.every`, '' for the file as a whole), line (0 if unknown), what was expected. */
export interface ConfigIssue {
  path: string;
  line: number;
  message: string;
  /** `message` in catalog words, for the settings form (SPEC §9); the CLI and the log read `message`. */
  say?: Say;
}

/**
 * The configuration could not be used; `problems` holds one line per error, as
 * `config check` prints them, and `issues` the same errors, in the same order, as data.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: ConfigIssue[];
  constructor(
    readonly file: string,
    readonly problems: string[],
    issues?: ConfigIssue[],
  ) {
    super(`${file}: ${problems.length} configuration error${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.issues = issues ?? problems.map((message) => ({ path: '', line: 0, message }));
  }
}

export interface LoadedConfig {
  /** Absolute path of the file the config came from. */
  file: string;
  config: Config;
  /** Keys that are accepted but not used by this version, and similar notices. */
  warnings: string[];
}

/** Picks the config file: --config, then LAPSEBOX_CONFIG, then the production default. */
export function configFileFrom(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(option ?? env['LAPSEBOX_CONFIG'] ?? DEFAULT_CONFIG_FILE);
}

/** Loads and validates a config file; throws ConfigError listing every problem. */
export function loadConfig(file: string): LoadedConfig {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(absolute, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'the file does not exist' : code === 'EACCES' ? 'permission denied' : messageOf(err);
    throw new ConfigError(absolute, [`cannot read the configuration file: ${why}`]);
  }
  return parseConfig(text, absolute);
}

/** Validates config text as if it were read from `file` (used for reloads and API edits too). */
export function parseConfig(text: string, file: string): LoadedConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const syntax = doc.errors.map((e) => {
      const at = lines.linePos(e.pos[0]);
      return { path: '', line: at.line, message: `line ${at.line}, column ${at.col}: YAML syntax: ${e.message.split('\n')[0]}` };
    });
    throw new ConfigError(
      file,
      syntax.map((s) => s.message),
      syntax,
    );
  }
  const raw: unknown = doc.toJS() ?? {};
  const where = (p: (string | number)[]) => locate(doc, lines, p);
  const problems: { at: string; line: number; message: string; say?: Say | undefined }[] = [];
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      for (const entry of explode(issue, raw)) problems.push({ at: formatPath(entry.path), line: where(entry.path), message: entry.message, say: entry.say });
    }
  }
  for (const issue of [...crossCheck(raw), ...(result.success ? watermarkIssues(result.data, path.dirname(file)) : [])]) {
    problems.push({ at: formatPath(issue.path), line: where(issue.path), message: issue.message, say: issue.say });
  }
  if (problems.length > 0 || !result.success) {
    problems.sort((a, b) => a.line - b.line);
    throw new ConfigError(
      file,
      problems.map((p) => `${p.line > 0 ? `line ${p.line}: ` : ''}${p.at || '(top level)'}: ${p.message}`),
      problems.map((p) => ({ path: p.at, line: p.line, message: p.message, ...(p.say ? { say: p.say } : {}) })),
    );
  }
  const config = resolvePaths(result.data, path.dirname(file));
  return { file, config, warnings: [...missingFiles(config), ...alertChannels(config)] };
}

/** Unknown-key issues name several keys at the parent; report each key at its own path. */
function explode(issue: z.core.$ZodIssue, raw: unknown): { path: (string | number)[]; message: string; say: Say | undefined }[] {
  const at = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ path: [...at, key], message: issue.message, say: say('apiError.config.unknownKey', { key }) }));
  }
  if (issue.code === 'invalid_type' && valueAt(raw, at) === undefined) {
    // A message of the schema's own that says "required" keeps its words; any other becomes "required".
    if (issue.message.startsWith('required')) return [{ path: at, message: issue.message, say: issueWords(issue, true) }];
    return [{ path: at, message: `required: ${issue.message.replace(/^Invalid input: /, '')}`, say: say('apiError.config.required') }];
  }
  return [{ path: at, message: issue.message.replace(/^Invalid input: /, ''), say: issueWords(issue) }];
}

function valueAt(raw: unknown, p: (string | number)[]): unknown {
  let value = raw;
  for (const key of p) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

/** `sources[1].schedule.every` */
export function formatPath(p: readonly (string | number)[]): string {
  return p.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${part}` : part), '');
}

/** Line of the deepest node that exists along the path (1-based), 0 if unknown. */
function locate(doc: Document, lines: LineCounter, p: (string | number)[]): number {
  for (let depth = p.length; depth >= 0; depth--) {
    const node = doc.getIn(p.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) return lines.linePos(node.range[0]).line;
  }
  return 0;
}

/** Relative paths in the file are relative to the file's folder, whatever the working directory. */
function resolvePaths(config: Config, base: string): Config {
  const abs = (p: string) => path.resolve(base, p);
  return {
    ...config,
    storage: { ...config.storage, dataDir: abs(config.storage.dataDir) },
    web: { ...config.web, ...(config.web.tls ? { tls: { cert: abs(config.web.tls.cert), key: abs(config.web.tls.key) } } : {}) },
    // The watermark as checked (symlinks resolved): the pipeline reads the file that was allowed.
    sources: config.sources.map((s) =>
      s.image.watermark ? { ...s, image: { ...s.image, watermark: { ...s.image.watermark, file: realOrSelf(abs(s.image.watermark.file)) } } } : s,
    ),
    sync: {
      targets: config.sync.targets.map((t) => {
        if (t.type === 'sftp') return { ...t, ...(t.privateKey ? { privateKey: abs(t.privateKey) } : {}) };
        return { ...t, ...(t.secretAccessKeyFile ? { secretAccessKeyFile: abs(t.secretAccessKeyFile) } : {}) };
      }),
    },
    ...(config.mqtt ? { mqtt: { ...config.mqtt, ...Object.fromEntries(MQTT_FILES.flatMap((key) => (config.mqtt![key] === undefined ? [] : [[key, abs(config.mqtt![key]!)]]))) } } : {}),
  };
}

/**
 * Watermark files must be inside the folder of the config file, symlinks resolved,
 * and outside the data folder: directors may set the key from the web, and the
 * watermark ends up on public pictures, so it must name a file a maintainer put
 * there for it, never any image the daemon can read (another source's pictures,
 * a private file elsewhere on the box).
 */
function watermarkIssues(config: Config, base: string): CrossIssue[] {
  const folder = realOrSelf(base);
  const dataDir = realOrSelf(path.resolve(base, config.storage.dataDir));
  return config.sources.flatMap((source, i): CrossIssue[] => {
    const file = source.image.watermark?.file;
    if (file === undefined) return [];
    const at = ['sources', i, 'image', 'watermark', 'file'];
    const absolute = path.resolve(base, file);
    const real = realOrSelf(absolute);
    const shown = real === absolute ? absolute : `${absolute} (a link to ${real})`;
    // `link` is "none" when the file is no link (paths are absolute, so no path is "none").
    const values = { file: absolute, link: real === absolute ? 'none' : real };
    if (!isInside(real, folder) || !isInside(absolute, base)) {
      return [{ path: at, message: `expected a file in the folder of the configuration file (${base}), got ${shown}; copy the image there`, say: say('apiError.config.watermarkOutside', { folder: base, ...values }) }];
    }
    if (isInside(real, dataDir) || isInside(absolute, dataDir)) {
      return [{ path: at, message: `expected a file outside the data folder (${dataDir}), got ${shown}; copy the image next to the configuration file`, say: say('apiError.config.watermarkInData', { folder: dataDir, ...values }) }];
    }
    return [];
  });
}

/** The path with every symlink resolved, as far as it exists (a file may come later). */
function realOrSelf(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    const parent = path.dirname(p);
    return parent === p ? p : path.join(realOrSelf(parent), path.basename(p));
  }
}

function isInside(p: string, folder: string): boolean {
  const rel = path.relative(folder, p);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

/** Files the config names that are not there: not an error (they may come later), but worth saying. */
function missingFiles(config: Config): string[] {
  const watermarks = config.sources.flatMap((source, i) => {
    const watermark = source.image.watermark?.file;
    if (watermark === undefined || fs.existsSync(watermark)) return [];
    return [`sources[${i}].image.watermark.file: ${watermark} does not exist; pictures of "${source.id}" that carry the watermark (for customers, the public and videos) will not be made until it does`];
  });
  const keys = config.sync.targets.flatMap((target, i) => {
    const [key, file] = target.type === 'sftp' ? ['privateKey', target.privateKey] : ['secretAccessKeyFile', target.secretAccessKeyFile];
    if (file === undefined || fs.existsSync(file)) return [];
    return [`sync.targets[${i}].${key}: ${file} does not exist; nothing is sent to "${target.id}" until it does (files wait in the outbox)`];
  });
  const mqtt = MQTT_FILES.flatMap((key) => {
    const file = config.mqtt?.[key];
    if (file === undefined || fs.existsSync(file)) return [];
    return [`mqtt.${key}: ${file} does not exist; the box cannot connect to the MQTT broker until it does`];
  });
  return [...watermarks, ...keys, ...mqtt];
}

/** The keys of the mqtt section that name files. */
const MQTT_FILES = ['passwordFile', 'ca', 'cert', 'key'] as const;

/** Alerts without a channel are only seen by someone who looks: say so at start. */
function alertChannels(config: Config): string[] {
  if (config.alerts.webhook || config.alerts.email) return [];
  return ['no alert channel: set alerts.webhook or alerts.email to hear about late pictures, dead cameras and a full disk; until then they show only in the web UI and lapsebox status'];
}
