/**
 * What `lapsebox fleet` makes of the broker's retained messages (SPEC §6, §8): the latest
 * availability, state and source states of every box under a prefix, and per box a row
 * saying what needs a hand, worst first. Pure: the command feeds it messages and a clock;
 * the broker's retained messages are the fleet's only database.
 */
import { formatDuration, parseDuration } from '../config/duration';
import type { BoxState, CameraState, SourceState } from './payloads';
import { AVAILABLE, NOT_AVAILABLE, parseFleetTopic } from './topics';

/** A state older than this many of its intervals: the box stopped talking and the broker has not noticed yet (its will waits 1.5 keepalives). */
const STALE_INTERVALS = 3;
/** A source is late when its next slot is this many of its intervals in the past... */
const LATE_INTERVALS = 2;
/** ...and at least this long: a slot of a few seconds is missed by a slow capture, not by a dead box. */
const LATE_FLOOR_MS = 5 * 60_000;
const DISK_ERROR_PERCENT = 5;
const DISK_WARNING_PERCENT = 10;
/** Alert messages kept per box: the first ones say enough; the counts cover the rest. */
const ALERT_MESSAGES = 3;

/** How badly a box needs a hand: offline or silent, something broken, something to watch, nothing. */
export type Severity = 'down' | 'error' | 'warning' | 'ok';
const SEVERITY_RANK: Record<Severity, number> = { down: 0, error: 1, warning: 2, ok: 3 };

export interface FleetMessage {
  topic: string;
  payload: Buffer | string;
}

export interface FleetSource {
  id: string;
  name: string;
  camera: CameraState;
  enabled: boolean;
  lastCapture: string | null;
  /** Seconds since the last capture, or null without one. */
  ageSeconds: number | null;
  late: boolean;
  nextSlot: string | null;
  every: string;
  failuresInRow: number;
}

export interface FleetRow {
  id: string;
  name: string;
  version: string | null;
  /** The box's UI, when it publishes one. */
  url: string | null;
  /** From the retained availability; null when none was seen. */
  online: boolean | null;
  onlineSince: string | null;
  /** When the box's last state was made. */
  lastSeen: string | null;
  /** Not offline, but its state is older than 3 of its intervals. */
  stale: boolean;
  disk: { freePercent: number; freeBytes: number } | null;
  backlog: { files: number; bytes: number; oldest: string | null } | null;
  alerts: { open: number; errors: number; messages: string[] } | null;
  sources: FleetSource[];
  severity: Severity;
  /** What needs a hand, worst first, in words. */
  problems: string[];
}

interface BoxRecord {
  availability: string | null;
  state: BoxState | null;
  sources: Map<string, SourceState>;
  /** 'state' or a source id whose payload was not the JSON lapsebox publishes. */
  unreadable: Set<string>;
}

interface Issue {
  severity: Severity;
  text: string;
}

/** The fleet as the retained messages under one prefix tell it. */
export class FleetView {
  readonly #prefix: string;
  readonly #boxes = new Map<string, BoxRecord>();
  /** The last payload per topic: a message repeating it changes nothing. */
  readonly #payloads = new Map<string, string>();

  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  /** Takes one message; true when it changed what the view knows. An empty payload (a cleared retained message) removes. */
  take(message: FleetMessage): boolean {
    const parsed = parseFleetTopic(this.#prefix, message.topic);
    if (parsed === null) return false;
    const payload = message.payload.toString();
    if ((this.#payloads.get(message.topic) ?? '') === payload) return false;
    if (payload === '') this.#payloads.delete(message.topic);
    else this.#payloads.set(message.topic, payload);
    const box = this.#record(parsed.box);
    if (parsed.kind === 'source') setSource(box, parsed.sourceId, readPart(box, parsed.sourceId, payload, asSourceState));
    else if (parsed.kind === 'availability') box.availability = payload === '' ? null : payload;
    else box.state = readPart(box, 'state', payload, asBoxState);
    if (isEmpty(box)) this.#boxes.delete(parsed.box);
    return true;
  }

  /** How many boxes have something retained. */
  get size(): number {
    return this.#boxes.size;
  }

  /** One row per box, worst first, ties by id; `now` in milliseconds. */
  rows(now: number): FleetRow[] {
    return [...this.#boxes.entries()]
      .map(([id, record]) => boxRow(id, record, now))
      .sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  #record(id: string): BoxRecord {
    let record = this.#boxes.get(id);
    if (!record) this.#boxes.set(id, (record = { availability: null, state: null, sources: new Map(), unreadable: new Set() }));
    return record;
  }
}

/** 1 when a box is offline or silent, or a source is late; also 1 for no box at all (a wrong prefix or login shows nothing, which is not "all well"). */
export function exitCode(rows: readonly FleetRow[]): 0 | 1 {
  if (rows.length === 0) return 1;
  return rows.some((r) => r.online === false || r.stale || r.sources.some((s) => s.late)) ? 1 : 0;
}

/** Whether a source missed its pictures: its box says so, or its next slot is long past (the box may be dead and unable to say). */
export function isLate(source: Pick<SourceState, 'late' | 'enabled' | 'nextSlot' | 'every'>, now: number): boolean {
  if (source.late) return true;
  if (!source.enabled || source.nextSlot === null) return false;
  const slot = Date.parse(source.nextSlot);
  if (Number.isNaN(slot)) return false;
  const every = parseDuration(source.every) ?? 0;
  return now - slot > Math.max(LATE_INTERVALS * every, LATE_FLOOR_MS);
}

/** Whether a box that does not say it is offline has been silent for too long. */
export function isStale(online: boolean | null, state: Pick<BoxState, 'at' | 'intervalSeconds'> | null, now: number): boolean {
  if (online === false || state === null) return false;
  const at = Date.parse(state.at);
  return !Number.isNaN(at) && now - at > STALE_INTERVALS * Math.max(1, state.intervalSeconds) * 1000;
}

function boxRow(id: string, record: BoxRecord, now: number): FleetRow {
  const state = record.state;
  const online = record.availability === AVAILABLE ? true : record.availability === NOT_AVAILABLE ? false : null;
  const stale = isStale(online, state, now);
  const sources = [...record.sources.values()].sort((a, b) => (a.source < b.source ? -1 : 1)).map((s) => sourceRow(s, now));
  // Within a severity: the box, then its cameras, then the rest of its state.
  const issues = [...availabilityIssues(online, stale, state, now), ...sourceIssues(sources, now), ...stateIssues(record, sources)];
  issues.sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity]);
  return {
    id,
    name: state?.name ?? id,
    version: state?.version ?? null,
    url: state?.url ?? null,
    online,
    onlineSince: online === true ? (state?.onlineSince ?? null) : null,
    lastSeen: state?.at ?? null,
    stale,
    disk: state ? { freePercent: state.disk.freePercent, freeBytes: state.disk.freeBytes } : null,
    backlog: state ? { files: state.sync.files, bytes: state.sync.bytes, oldest: state.sync.oldest } : null,
    alerts: state ? { open: state.alerts.open, errors: state.alerts.errors, messages: alertMessages(state) } : null,
    sources,
    severity: issues[0]?.severity ?? 'ok',
    problems: issues.map((i) => i.text),
  };
}

function sourceRow(s: SourceState, now: number): FleetSource {
  const last = s.lastCapture === null ? NaN : Date.parse(s.lastCapture);
  return {
    id: s.source,
    name: s.name,
    camera: s.camera,
    enabled: s.enabled,
    lastCapture: s.lastCapture,
    ageSeconds: Number.isNaN(last) ? null : Math.max(0, Math.round((now - last) / 1000)),
    late: isLate(s, now),
    nextSlot: s.nextSlot,
    every: s.every,
    failuresInRow: s.failuresInRow,
  };
}

function availabilityIssues(online: boolean | null, stale: boolean, state: BoxState | null, now: number): Issue[] {
  const seen = state ? `, last seen ${ago(state.at, now)}` : '';
  if (online === false) return [{ severity: 'down', text: `offline${seen}` }];
  if (stale && state) {
    const every = formatDuration(Math.max(1, state.intervalSeconds) * 1000);
    return [{ severity: 'down', text: `stale: last state ${ago(state.at, now)}, expected every ${every} (its connection may be dead without the broker noticing yet)` }];
  }
  if (online === null) return [{ severity: 'warning', text: 'availability unknown (nothing retained on its availability topic)' }];
  return [];
}

function stateIssues(record: BoxRecord, sources: readonly FleetSource[]): Issue[] {
  const state = record.state;
  const unreadable: Issue[] = [...record.unreadable].map((part) => ({ severity: 'warning', text: `${part === 'state' ? 'state' : `source ${part} state`} unreadable (not the JSON lapsebox publishes)` }));
  if (state === null) return [...unreadable, ...(record.unreadable.has('state') ? [] : [{ severity: 'warning' as const, text: 'no state published' }])];
  const issues: Issue[] = [...unreadable];
  if (state.capturePaused) issues.push({ severity: 'error', text: 'capture paused: disk full' });
  else if (state.disk.freePercent < DISK_ERROR_PERCENT) issues.push({ severity: 'error', text: `disk ${state.disk.freePercent}% free` });
  else if (state.disk.freePercent < DISK_WARNING_PERCENT) issues.push({ severity: 'warning', text: `disk ${state.disk.freePercent}% free` });
  const first = alertMessages(state)[0];
  if (state.alerts.errors > 0) issues.push({ severity: 'error', text: `${plural(state.alerts.errors, 'error alert')}${first ? `: ${first}` : ''}` });
  else if (state.alerts.open > 0) issues.push({ severity: 'warning', text: `${plural(state.alerts.open, 'alert')}${first ? `: ${first}` : ''}` });
  for (const t of state.sync.targets.filter((x) => x.failing)) issues.push({ severity: 'warning', text: `sync to ${t.id} failing${t.lastError ? `: ${t.lastError}` : ''}` });
  const known = new Set(sources.map((s) => s.id));
  for (const id of state.sources.filter((x) => !known.has(x) && !record.unreadable.has(x))) issues.push({ severity: 'warning', text: `source ${id}: no state published` });
  return issues;
}

function sourceIssues(sources: readonly FleetSource[], now: number): Issue[] {
  return sources.flatMap((s): Issue[] => {
    const out: Issue[] = [];
    if (s.late) out.push({ severity: 'error', text: `source ${s.id} late (last picture ${s.lastCapture ? ago(s.lastCapture, now) : 'never'})` });
    if (s.camera === 'down') out.push({ severity: 'error', text: `camera ${s.id} down` });
    else if (s.camera === 'failing') out.push({ severity: 'warning', text: `camera ${s.id} failing (${s.failuresInRow} in a row)` });
    return out;
  });
}

function alertMessages(state: BoxState): string[] {
  // Errors first: the list is in the box's order, and an error is what an operator reads first.
  const list = state.alerts.list.filter((a) => isObject(a) && isText(a.message)).sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
  return list.slice(0, ALERT_MESSAGES).map((a) => a.message);
}

// ---- reading payloads: a box of another version may publish another shape; it is named, not trusted

function readPart<T>(box: BoxRecord, part: string, payload: string, read: (value: unknown) => T | null): T | null {
  box.unreadable.delete(part);
  if (payload === '') return null;
  let value: T | null = null;
  try {
    value = read(JSON.parse(payload));
  } catch {
    value = null;
  }
  if (value === null) box.unreadable.add(part);
  return value;
}

function setSource(box: BoxRecord, id: string, state: SourceState | null): void {
  if (state === null) box.sources.delete(id);
  // The topic names the source; a payload naming another is taken as the topic says.
  else box.sources.set(id, { ...state, source: id, name: state.name || id });
}

function isEmpty(box: BoxRecord): boolean {
  return box.availability === null && box.state === null && box.sources.size === 0 && box.unreadable.size === 0;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isTextOrNull = (v: unknown): boolean => v === null || isText(v);

/** The fields the fleet reads, checked; the rest is taken as is. */
function asBoxState(v: unknown): BoxState | null {
  if (!isObject(v) || !isText(v['at']) || !isNumber(v['intervalSeconds']) || !Array.isArray(v['sources'])) return null;
  const { disk, alerts, sync } = v;
  if (!isObject(disk) || !isNumber(disk['freePercent']) || !isNumber(disk['freeBytes'])) return null;
  if (!isObject(alerts) || !isNumber(alerts['open']) || !isNumber(alerts['errors']) || !Array.isArray(alerts['list'])) return null;
  if (!isObject(sync) || !isNumber(sync['files']) || !isNumber(sync['bytes']) || !isTextOrNull(sync['oldest']) || !Array.isArray(sync['targets'])) return null;
  return v as unknown as BoxState;
}

function asSourceState(v: unknown): SourceState | null {
  if (!isObject(v) || !isText(v['at']) || typeof v['enabled'] !== 'boolean' || !isText(v['camera']) || !isText(v['every'])) return null;
  if (!isTextOrNull(v['lastCapture']) || !isTextOrNull(v['nextSlot']) || typeof v['late'] !== 'boolean') return null;
  return { ...(v as unknown as SourceState), name: isText(v['name']) ? v['name'] : '', failuresInRow: isNumber(v['failuresInRow']) ? v['failuresInRow'] : 0 };
}

// ---- text for people: the command lays the cells out with its table

/** The table's cells, header first: BOX, STATUS, SOURCES, DISK, BACKLOG, ALERTS. */
export function fleetCells(rows: readonly FleetRow[], now: number): string[][] {
  return [['BOX', 'STATUS', 'SOURCES', 'DISK', 'BACKLOG', 'ALERTS'], ...rows.map((r) => [r.id, statusCell(r, now), sourcesCell(r), diskCell(r), backlogCell(r, now), alertsCell(r)])];
}

/** One line per box that needs a hand: `box: problem; problem`. */
export function fleetProblems(rows: readonly FleetRow[]): string[] {
  return rows.filter((r) => r.problems.length > 0).map((r) => `${r.id}: ${r.problems.join('; ')}`);
}

/** "3 boxes: 2 online, 1 offline; 1 late source". */
export function fleetSummary(rows: readonly FleetRow[]): string {
  const count = (p: (r: FleetRow) => boolean) => rows.filter(p).length;
  const parts = [
    `${count((r) => r.online === true && !r.stale)} online`,
    `${count((r) => r.online === false)} offline`,
    ...(count((r) => r.stale) > 0 ? [`${count((r) => r.stale)} stale`] : []),
    ...(count((r) => r.online === null && !r.stale) > 0 ? [`${count((r) => r.online === null && !r.stale)} unknown`] : []),
  ];
  const late = rows.reduce((n, r) => n + r.sources.filter((s) => s.late).length, 0);
  return `${plural(rows.length, 'box', 'boxes')}: ${parts.join(', ')}; ${late === 0 ? 'no late source' : plural(late, 'late source')}`;
}

/** What to say when nothing is retained under the prefix: most often a wrong prefix or a login that may not read it. */
export function noBoxMessage(prefix: string, broker: string): string {
  return `no box has published under ${prefix}/ on ${broker}: check mqtt.topicPrefix, and that this login may read ${prefix}/#`;
}

function statusCell(r: FleetRow, now: number): string {
  const seen = r.lastSeen ? `, last seen ${ago(r.lastSeen, now)}` : '';
  if (r.online === false) return `OFFLINE${seen}`;
  if (r.stale) return `STALE${seen}`;
  if (r.online === null) return `unknown${seen}`;
  return r.onlineSince ? `online since ${ago(r.onlineSince, now)}` : 'online';
}

function sourcesCell(r: FleetRow): string {
  if (r.sources.length === 0) return '-';
  return r.sources
    .map((s) => {
      const flags = [s.late ? 'LATE' : null, s.camera === 'down' ? 'DOWN' : s.camera === 'failing' ? 'failing' : null, s.enabled ? null : 'disabled'].filter(Boolean);
      return `${s.id}${flags.length > 0 ? ` ${flags.join(' ')}` : ''} ${s.ageSeconds === null ? 'never' : `${age(s.ageSeconds)} ago`}`;
    })
    .join(', ');
}

function diskCell(r: FleetRow): string {
  return r.disk ? `${r.disk.freePercent}% free (${size(r.disk.freeBytes)})` : '-';
}

function backlogCell(r: FleetRow, now: number): string {
  if (!r.backlog) return '-';
  if (r.backlog.files === 0) return 'none';
  return `${plural(r.backlog.files, 'file')}, ${size(r.backlog.bytes)}${r.backlog.oldest ? `, oldest ${ago(r.backlog.oldest, now)}` : ''}`;
}

function alertsCell(r: FleetRow): string {
  if (!r.alerts) return '-';
  if (r.alerts.open === 0) return 'none';
  const warnings = r.alerts.open - r.alerts.errors;
  return [r.alerts.errors > 0 ? plural(r.alerts.errors, 'error') : null, warnings > 0 ? plural(warnings, 'warning') : null].filter(Boolean).join(', ');
}

/** "12 min ago" from an ISO time; a time ahead of `now` (a box's clock) counts as now. */
export function ago(iso: string, now: number): string {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return 'at an unreadable time';
  return `${age(Math.max(0, Math.round((now - at) / 1000)))} ago`;
}

function age(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} days`;
}

function size(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${Math.round(bytes / 1e6)} MB`;
  return `${Math.round(bytes / 1e3)} KB`;
}

function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}
