import type { Command } from 'commander';
import { DateTime } from 'luxon';
import { openStore } from '../store/store';
import { StatusService, type SourceStatus } from '../status.service';
import { controlRequest } from './control-client';
import { renderTargets } from './sync.command';
import { SyncService, type TargetStatus } from '../sync/sync.service';
import { Outbox } from '../sync/outbox';
import { silentLogger } from '../logger';
import { commonOptions, loadFor, printJson, table, withConfigOption, withJsonOption, type Output } from './context';

interface StatusReport {
  appliance: { id: string; name: string; timezone: string };
  daemon: { running: boolean; pid?: number; startedAt?: string };
  disk: { path: string; totalBytes: number; freeBytes: number; freePercent: number };
  sources: SourceStatus[];
  sync: { targets: TargetStatus[] };
}

export function statusCommand(program: Command, io: Output): void {
  withJsonOption(withConfigOption(program.command('status')))
    .description('sources, last and next capture, failures, disk, sync backlog')
    .action(async (_o, cmd: Command) => {
      const { config } = loadFor(cmd);
      const store = openStore(config.storage.dataDir);
      let report: StatusReport;
      try {
        const live = await controlRequest(store.layout.controlSocket, 'GET', '/status', 10_000);
        if (live && live.status === 200) report = live.body as StatusReport;
        else {
          // No daemon: the same figures from the database, the next slot from the schedule.
          const status = new StatusService({ config: () => config, pictures: store.pictures, state: store.state, live: null });
          report = {
            appliance: { id: config.appliance.id, name: config.appliance.name ?? config.appliance.id, timezone: config.appliance.timezone },
            daemon: { running: false },
            disk: await status.disk(),
            sources: status.sources(),
            sync: { targets: new SyncService({ config: () => config, store, outbox: new Outbox({ config: () => config, repo: store.outbox }), log: silentLogger() }).status() },
          };
        }
      } finally {
        store.close();
      }
      if (commonOptions(cmd).json) return printJson(io, report);
      io.out(render(report));
    });
}

function render(r: StatusReport): string {
  const zone = r.appliance.timezone;
  const local = (iso: string | null | undefined) => (iso ? DateTime.fromISO(iso, { zone }).toFormat('yyyy-LL-dd HH:mm:ss') : '-');
  const gb = (bytes: number) => `${(bytes / 1e9).toFixed(1)} GB`;
  const lines = [
    `${r.appliance.name} (${r.appliance.id}), times in ${zone}`,
    r.daemon.running ? `daemon: running, pid ${r.daemon.pid}, since ${local(r.daemon.startedAt)}` : 'daemon: not running',
    `disk: ${gb(r.disk.freeBytes)} free of ${gb(r.disk.totalBytes)} (${r.disk.freePercent}%) at ${r.disk.path}`,
    ...(r.sync.targets.length === 0 ? ['sync: no targets configured'] : ['sync:', renderTargets(r.sync.targets, zone)]),
    '',
  ];
  if (r.sources.length === 0) return [...lines, 'no sources configured'].join('\n');
  const rows = [['SOURCE', 'DRIVER', 'CAMERA', 'EVERY', 'LAST CAPTURE', 'NEXT SLOT', 'FAILURES', 'POWER CYCLES', 'PICTURES']];
  for (const s of r.sources) {
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
  const errors = r.sources.filter((s) => s.lastError).map((s) => `  ${s.id}: ${local(s.lastError!.at)} ${s.lastError!.message}`);
  return [...lines, table(rows), ...(errors.length > 0 ? ['', 'last errors:', ...errors] : [])].join('\n');
}
