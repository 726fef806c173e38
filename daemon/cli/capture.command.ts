import type { Command } from 'commander';
import { pictureJson } from '../../web/json';
import { daemonOrHere } from './daemon-or-here';
import { CliError, commonOptions, loadFor, printJson, withConfigOption, withJsonOption, type Output } from './context';

interface Captured {
  picture: ReturnType<typeof pictureJson> & { path: string };
  durationMs: number;
}

export function captureCommand(program: Command, io: Output): void {
  withJsonOption(withConfigOption(program.command('capture')))
    .description('take one picture now, through the running daemon if there is one')
    .argument('<source>', 'source id')
    .action(async (sourceId: string, _o, cmd: Command) => {
      const { config } = loadFor(cmd);
      const source = config.sources.find((s) => s.id === sourceId);
      if (!source) throw new CliError(`no source "${sourceId}" in the configuration (sources: ${config.sources.map((s) => s.id).join(', ') || 'none'})`, 2);
      const captured = await daemonOrHere<Captured>(config, {
        daemon: async (ask) => {
          const live = await ask('POST', `/sources/${encodeURIComponent(sourceId)}/capture`);
          if (live && live.status !== 201) throw new CliError(`capture failed: ${(live.body as { error?: string } | null)?.error ?? `daemon answered ${live.status}`}`, 1);
          return live && (live.body as Captured);
        },
        // No daemon running: capture here, into the same folders and database, with this source's camera only.
        hereConfig: { ...config, sources: [source] },
        here: async (services) => {
          const service = services().capture;
          service.start();
          const outcome = await service.capture(sourceId, 'manual');
          await service.stop(0);
          if (outcome.status === 'failed') throw new CliError(`capture failed: ${outcome.error.describe()}`, 1);
          if (outcome.status === 'skipped') throw new CliError(`capture skipped: ${outcome.reason}`, 1);
          return { picture: { ...pictureJson(outcome.picture), path: outcome.picture.path }, durationMs: outcome.durationMs };
        },
      });
      if (commonOptions(cmd).json) return printJson(io, captured);
      const p = captured.picture;
      io.out(`captured ${sourceId}: ${p.path} (${p.width}x${p.height}, ${Math.round(p.size / 1024)} KB) in ${(captured.durationMs / 1000).toFixed(2)} s`);
    });
}
