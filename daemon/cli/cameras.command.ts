import type { Command } from 'commander';
import type { Config } from '../config/schema';
import { discoverCameras, type CameraReport } from '../capture/discovery';
import { matchingCameras } from '../capture/gphoto2.camera';
import { daemonOrHere } from './daemon-or-here';
import { commonOptions, loadFor, printJson, table, withConfigOption, withJsonOption, type Output } from './context';

export function camerasCommand(program: Command, io: Output): void {
  withJsonOption(withConfigOption(program.command('cameras')))
    .description('cameras the box can see (gphoto2, v4l2), and which source uses each')
    .action(async (_o, cmd: Command) => {
      const { config } = loadFor(cmd);
      // Through the running daemon when there is one: its per-port lock keeps the serial probe off a camera that is capturing.
      const report = await daemonOrHere<CameraReport>(config, {
        daemon: async (ask) => {
          const live = await ask('GET', '/cameras', 60_000);
          return live && live.status === 200 ? (live.body as CameraReport) : null;
        },
        here: () => discoverCameras(),
      });
      if (commonOptions(cmd).json) return printJson(io, report);
      io.out(render(report, config));
    });
}

function render(report: CameraReport, config: Config): string {
  const lines: string[] = [];
  const { gphoto2 } = report;
  if (!gphoto2.available) lines.push('gphoto2 cameras: gphoto2 is not installed');
  else if (gphoto2.error) lines.push(`gphoto2 cameras: detection failed: ${gphoto2.error}`);
  else if (gphoto2.cameras.length === 0) lines.push('gphoto2 cameras: none');
  else {
    lines.push('gphoto2 cameras:');
    const rows = [['MODEL', 'PORT', 'SERIAL', 'USED BY']];
    for (const c of gphoto2.cameras) {
      // Matched as the driver matches (model, port, serial).
      const users = config.sources.filter((s) => s.camera.driver === 'gphoto2' && matchingCameras([c], s.camera).length > 0);
      rows.push([c.model, c.port, c.serial ?? '-', users.map((s) => s.id).join(', ') || '-']);
    }
    lines.push(indent(table(rows)));
  }
  if (report.sessions && report.sessions.length > 0) {
    lines.push('', 'gphoto2 sources, as the running daemon reads them now:');
    const rows = [['SOURCE', 'ACCESS', 'MODEL', 'SERIAL', 'BATTERY', 'EXPOSURE']];
    for (const { sourceId, view, error } of report.sessions) {
      const exposure = Object.entries(view.exposure)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      rows.push([sourceId, view.access === 'session' ? 'session' : `program${view.reason ? ` (${view.reason})` : ''}`, view.model ?? '-', view.serial ?? '-', view.battery ?? '-', error ? `not read: ${error}` : exposure || '-']);
    }
    lines.push(indent(table(rows)));
  }
  lines.push('');
  if (report.video.length === 0) lines.push('video devices (v4l2): none');
  else {
    lines.push('video devices (v4l2):');
    const rows = [['DEVICE', 'NAME', 'USED BY']];
    for (const v of report.video) {
      const users = config.sources.filter((s) => s.camera.driver === 'v4l2' && s.camera.device === v.device);
      rows.push([v.device, v.name ?? '-', users.map((s) => s.id).join(', ') || '-']);
    }
    lines.push(indent(table(rows)));
  }
  if (report.hints.length > 0) lines.push('', ...report.hints.map((h) => `hint: ${h}`));
  return lines.join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
