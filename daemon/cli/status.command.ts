import type { Command } from 'commander';
import { DateTime } from 'luxon';
import type { SourceStatus, SystemStatus } from '../status.service';
import { describePower } from '../health/throttling';
import type { ChannelStatus } from '../health/notifier';
import type { MqttStatus } from '../domain/mqtt';
import type { ProgressStatus } from '../progress/progress.service';
import { formatDuration } from '../config/duration';
import { renderTargets } from './sync.command';
import { daemonOrHere } from './daemon-or-here';
import { commonOptions, loadFor, printJson, table, withConfigOption, withJsonOption, type Output } from './context';

/**
 * What `lapsebox status` reports: the box as `GET /api/system` shows it, with the
 * sources and the daemon. Health, storage, alerts and channels are the running
 * daemon's; without one they are null (alerts empty).
 */
interface StatusReport extends Pick<SystemStatus, 'appliance' | 'disk' | 'sync' | 'storage' | 'health' | 'alerts' | 'notifications' | 'relays' | 'mqtt' | 'progress'> {
  /** The box-wide public switch; absent from a daemon from before it. */
  public?: SystemStatus['public'];
  daemon: { running: boolean; pid?: number; startedAt?: string };
  sources: SourceStatus[];
}

/** What only a running daemon knows, when there is none. */
const notLive = (): Pick<StatusReport, 'storage' | 'health' | 'alerts' | 'notifications' | 'relays' | 'mqtt' | 'progress'> => ({ storage: null, health: null, alerts: [], notifications: null, relays: null, mqtt: null, progress: null });

export function statusCommand(program: Command, io: Output): void {
  withJsonOption(withConfigOption(program.command('status')))
    .description('sources, last and next capture, failures, disk, sync backlog; from a running daemon also health, storage, alerts and alert channels')
    .action(async (_o, cmd: Command) => {
      const { config } = loadFor(cmd);
      const report = await daemonOrHere<StatusReport>(config, {
        daemon: async (ask) => {
          const live = await ask('GET', '/status', 10_000);
          // A daemon from before these fields leaves them out: the same as not live.
          return live && live.status === 200 ? { ...notLive(), ...(live.body as StatusReport) } : null;
        },
        // No daemon: the same figures from the database, the next slot from the schedule.
        here: async (services) => {
          const { status, sync } = services();
          return {
            appliance: { id: config.appliance.id, name: config.appliance.name ?? config.appliance.id, timezone: config.appliance.timezone },
            daemon: { running: false },
            disk: await status.disk(),
            sources: status.sources(),
            sync: { targets: sync.status() },
            public: status.publicSwitch(),
            ...notLive(),
          };
        },
      });
      if (commonOptions(cmd).json) return printJson(io, report);
      io.out(render(report));
    });
}

function render(r: StatusReport): string {
  const zone = r.appliance.timezone;
  const local = (iso: string | null | undefined) => (iso ? DateTime.fromISO(iso, { zone }).toFormat('yyyy-LL-dd HH:mm:ss') : '-');
  const lines = [
    `${r.appliance.name} (${r.appliance.id}), times in ${zone}`,
    r.daemon.running ? `daemon: running, pid ${r.daemon.pid}, since ${local(r.daemon.startedAt)}` : 'daemon: not running',
    `disk: ${size(r.disk.freeBytes)} free of ${size(r.disk.totalBytes)} (${r.disk.freePercent}%) at ${r.disk.path}`,
    ...(r.public ? [r.public.enabled ? 'public pictures: on' : `public pictures: OFF${r.public.changedAt ? ` since ${local(r.public.changedAt)} by ${r.public.changedBy}` : ''} (every /public/ route answers 404; lapsebox public on)`] : []),
    ...(r.sync.targets.length === 0 ? ['sync: no targets configured'] : ['sync:', renderTargets(r.sync.targets, zone)]),
    '',
    ...renderSources(r.sources, local),
    '',
    ...(r.daemon.running ? renderLive(r, local) : ['daemon not running: no live health']),
  ];
  return lines.join('\n');
}

function renderSources(sources: readonly SourceStatus[], local: (iso: string | null | undefined) => string): string[] {
  if (sources.length === 0) return ['no sources configured'];
  const rows = [['SOURCE', 'DRIVER', 'CAMERA', 'EVERY', 'LAST CAPTURE', 'NEXT SLOT', 'FAILURES', 'POWER CYCLES', 'PICTURES']];
  for (const s of sources) {
    rows.push([
      s.enabled ? s.id : `${s.id} (disabled)`,
      s.driver,
      !s.enabled ? '-' : s.down ? `DOWN since ${local(s.down.since)}` : s.busy ? 'capturing' : 'ok',
      s.every,
      local(s.lastCapture?.at),
      local(s.nextSlot),
      `${s.consecutiveFailures} in a row, ${s.counts.failures} total`,
      s.powerCycles ? `${s.powerCycles.today}/${s.powerCycles.maxPerDay} today` : '-',
      String(s.counts.pictures),
    ]);
  }
  // Errors are long sentences with advice: one line each, under the table.
  const errors = sources.filter((s) => s.lastError).map((s) => `  ${s.id}: ${local(s.lastError!.at)} ${s.lastError!.message}`);
  // The exposure ramps (issue 27): the last frame's settings and light against the target, and what the ramp does.
  const ramps = sources.flatMap((s) => (s.exposure ? [`  ${s.id}: ${rampLine(s.exposure)}`] : []));
  return [table(rows), ...(errors.length > 0 ? ['', 'last errors:', ...errors] : []), ...(ramps.length > 0 ? ['', 'exposure ramps:', ...ramps] : [])];
}

function rampLine(r: NonNullable<SourceStatus['exposure']>): string {
  if (!r.settings) return `no frame yet (target ${r.target})`;
  const settings = [r.settings.shutter ? `${r.settings.shutter}${/^[\d./]+$/.test(r.settings.shutter) ? ' s' : ''}` : null, r.settings.iso ? `ISO ${r.settings.iso}` : null, r.settings.aperture ? (r.settings.aperture.startsWith('f/') ? r.settings.aperture : `f/${r.settings.aperture}`) : null].filter(Boolean).join(' ');
  return `${settings} (EV ${r.ev}), luminance ${r.luminance} for a target of ${r.target}: ${r.reason}${r.atLimit ? ' (the frames drift from the target)' : ''}${r.sun ? ', ahead of the sun' : ''}`;
}

/** Health, storage, alerts and alert channels: one line per fact, what needs a hand first within each part. */
function renderLive(r: StatusReport, local: (iso: string | null | undefined) => string): string[] {
  const out: string[] = [];
  const h = r.health;
  if (!h) out.push('health: no sample yet (the first is taken at start-up)');
  else {
    const power = h.power === null ? ['no Raspberry Pi firmware flags (vcgencmd not available)'] : describePower(h.power);
    const busy = h.load[0] > h.cpus ? ' (busy: more than one task per core)' : '';
    out.push(
      `health (measured ${local(new Date(h.at).toISOString())}):`,
      `  temperature: ${h.cpuTempC === null ? 'unknown (the system does not report it)' : `${h.cpuTempC.toFixed(1)} °C`}`,
      `  load: ${h.load.map((l) => l.toFixed(2)).join(' ')} on ${h.cpus} core${h.cpus === 1 ? '' : 's'}${busy}`,
      `  memory: ${size(h.memory.availableBytes)} available of ${size(h.memory.totalBytes)}, lapsebox uses ${size(h.memory.processRssBytes)}`,
      `  uptime: ${uptime(h.uptimeSeconds)}`,
      ...(power.length === 0 ? ['  power: ok (no under-voltage or throttling since boot)'] : power.map((line) => `  power: ${line}`)),
      `  clock: ${h.clock.synchronized === null ? 'synchronisation unknown (neither timedatectl nor chronyc answered)' : h.clock.synchronized ? `synchronised (${h.clock.via})` : `NOT synchronised (${h.clock.via}): picture times may be off`}`,
    );
  }
  const st = r.storage;
  if (st) {
    const disk = st.disk ?? r.disk;
    const keep = st.retention.maxAgeDays > 0 ? `pictures kept ${st.retention.maxAgeDays} days` : 'pictures kept until space is needed';
    out.push(
      'storage:',
      // The guard's reason may already start with "capture paused:"; said once.
      ...(st.paused ? [`  CAPTURE PAUSED since ${local(st.paused.since)}: ${st.paused.reason.replace(/^capture paused:\s*/i, '')}`] : []),
      `  free: ${size(disk.freeBytes)} of ${size(disk.totalBytes)} (${disk.freePercent}%)${st.low ? `, LOW (below ${st.retention.minFreePercent}%)` : ''}`,
      `  retention: ${keep}; oldest sent first below ${st.retention.minFreePercent}% free; capture pauses below ${st.retention.reserveMB} MB`,
      `  waiting for sync: ${st.waitingForSync} picture${st.waitingForSync === 1 ? '' : 's'} before they may be deleted`,
      `  last purge: ${st.lastPurge ? `${local(st.lastPurge.at)}, ${st.lastPurge.pictures} pictures, ${size(st.lastPurge.bytes)} (${st.lastPurge.why})` : 'none since start'}`,
    );
  }
  if (r.relays && r.relays.length > 0) {
    const state = { open: 'ok', simulated: 'simulated (recovery.powerCycle.simulate)', waiting: 'not opened yet (the previous configuration still holds it)', unavailable: 'unavailable' } as const;
    out.push(
      'power relays:',
      ...r.relays.map((x) => `  ${x.sourceId}: ${x.unavailable ? `relay unavailable since ${local(x.unavailable.since)}: ${x.unavailable.message}; no power cycle for this camera` : `GPIO ${x.gpio} ${state[x.state]}`}`),
    );
  }
  out.push(
    r.alerts.length === 0 ? 'alerts: none' : `alerts: ${r.alerts.length} active`,
    ...r.alerts.map((a) => `  ${a.severity.toUpperCase()} since ${local(a.since)}: ${a.message}`),
  );
  if (r.notifications) {
    out.push(
      'alert channels:',
      `  webhook: ${channel(r.notifications.webhook, local)}`,
      `  email: ${channel(r.notifications.email, local)}`,
    );
  }
  if (r.mqtt) out.push(`mqtt: ${mqttLine(r.mqtt, local)}`);
  if (r.progress && r.progress.length > 0) out.push('progress e-mails:', ...r.progress.map((p) => `  ${p.sourceId}: ${progressLine(p, local)}`));
  return out;
}

/** A source's progress e-mails in one line: when the next goes, the last sent, what waits or went wrong. */
function progressLine(p: ProgressStatus, local: (iso: string | null | undefined) => string): string {
  if (!p.enabled) return 'off (progress.enabled: false)';
  const parts = [`${p.content} ${p.rhythm} to ${p.recipients.length} recipient${p.recipients.length === 1 ? '' : 's'}`, `next ${local(p.nextAt)}`];
  parts.push(p.lastSent ? `last sent ${local(p.lastSent.at)}` : 'none sent yet');
  if (p.pending) parts.push(p.pending.sending ? 'one being sent' : `one WAITING since ${local(p.pending.queuedAt)}, ${p.pending.attempts} failed attempt(s), next try ${local(p.pending.nextAttemptAt)}${p.pending.lastError ? `, last error: ${p.pending.lastError}` : ''}`);
  if (p.lastProblem) parts.push(`${p.lastProblem.state === 'failed' ? 'GIVEN UP' : 'skipped'} ${local(p.lastProblem.at)}: ${p.lastProblem.reason}`);
  if (p.problem) parts.push(`PROBLEM: ${p.problem}`);
  if (p.withoutAddress.length > 0) parts.push(`without an e-mail address: ${p.withoutAddress.join(', ')}`);
  return parts.join('; ');
}

/** The broker link in one line: where, how it is, since when, what waits and what went wrong. */
export function mqttLine(m: MqttStatus, local: (iso: string | null | undefined) => string): string {
  const state = { connected: 'connected', connecting: 'connecting', waiting: 'NOT connected', stopped: 'stopped' }[m.activity];
  const parts = [`${m.broker} as ${m.topic}: ${state}${m.since ? ` since ${local(m.since)}` : ''}`];
  if (m.nextAttemptAt) parts.push(`next try ${local(m.nextAttemptAt)}`);
  if (m.lastError) parts.push(`last error: ${m.lastError}`);
  parts.push(`${m.published} published${m.lastPublishedAt ? ` (last ${local(m.lastPublishedAt)})` : ''}, ${m.queued} waiting${m.dropped > 0 ? `, ${m.dropped} events dropped` : ''}`);
  if (m.refused) parts.push(`REFUSED by the broker at ${local(m.refused.at)}: ${m.refused.message}`);
  const extras = [m.homeAssistant ? 'Home Assistant discovery' : null, m.commands ? 'commands on' : null].filter(Boolean);
  if (extras.length > 0) parts.push(extras.join(', '));
  return parts.join('; ');
}

function channel(c: ChannelStatus | null, local: (iso: string | null | undefined) => string): string {
  if (!c) return 'not configured';
  const parts = [
    c.configured ? `${c.destination ?? 'configured'}, ${c.activity}` : 'removed from the configuration',
    `${c.pending} waiting${c.oldestAt ? ` (oldest ${local(c.oldestAt)})` : ''}`,
  ];
  if (c.lastSentAt) parts.push(`last sent ${local(c.lastSentAt)}`);
  if (c.nextAttemptAt) parts.push(`next try ${local(c.nextAttemptAt)}`);
  if (c.failed > 0) parts.push(`${c.failed} given up`);
  if (c.lastError) parts.push(`last error: ${c.lastError}`);
  return parts.join(', ');
}

function size(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${Math.round(bytes / 1e6)} MB`;
  return `${Math.round(bytes / 1e3)} KB`;
}

/** Whole minutes, as durations are written in the configuration ("3d4h5m"). */
function uptime(seconds: number): string {
  return seconds < 60 ? `${Math.floor(seconds)}s` : formatDuration(Math.floor(seconds / 60) * 60_000);
}
