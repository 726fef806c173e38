import fs from 'node:fs/promises';
import type { Command } from 'commander';
import { openRepositories } from '../store/repositories';
import type { VideoJobs } from '../timelapse/video-jobs.service';
import { jobJson } from '../../web/json';
import { daemonOrHere, type AskDaemon } from './daemon-or-here';
import { CliError, commonOptions, loadFor, printJson, withConfigOption, withJsonOption, type Output } from './context';

type JobJson = ReturnType<typeof jobJson>;

interface TimelapseOptions {
  from: string;
  to: string;
  out?: string;
  keepFrom?: string;
  keepTo?: string;
  weekdays?: string;
  minInterval?: string;
  fps?: string;
  width?: string;
  crf?: string;
  deflicker?: boolean;
}

const POLL_MS = 500;

export function timelapseCommand(program: Command, io: Output): void {
  withJsonOption(withConfigOption(program.command('timelapse')))
    .description('build a video of a period now (through the running daemon if there is one, so one encode runs at a time)')
    .argument('<source>', 'source id')
    .requiredOption('--from <date>', 'first day, YYYY-MM-DD (or YYYY-MM-DDTHH:MM)')
    .requiredOption('--to <date>', 'last day, included, YYYY-MM-DD (or YYYY-MM-DDTHH:MM, excluded)')
    .option('--out <file>', 'also copy the finished video to this file')
    .option('--keep-from <HH:MM>', 'only pictures taken from this time of day')
    .option('--keep-to <HH:MM>', 'only pictures taken before this time of day')
    .option('--weekdays <days>', 'only these days, e.g. mon,tue,wed,thu,fri')
    .option('--min-interval <duration>', 'at least this long between frames, e.g. 10m')
    .option('--fps <n>', 'frames per second (default: timelapse.daily.fps)')
    .option('--width <px>', 'video width (default: timelapse.daily.width)')
    .option('--crf <n>', 'x264 quality, 0-51 (default: timelapse.daily.crf)')
    .option('--no-deflicker', 'keep the brightness jumps between frames')
    .action(async (sourceId: string, o: TimelapseOptions, cmd: Command) => {
      const { config } = loadFor(cmd);
      if (!config.sources.some((s) => s.id === sourceId)) {
        throw new CliError(`no source "${sourceId}" in the configuration (sources: ${config.sources.map((s) => s.id).join(', ') || 'none'})`, 2);
      }
      const request = requestFrom(o);
      const json = commonOptions(cmd).json === true;
      const progress = (p: number) => {
        if (!json && process.stderr.isTTY) process.stderr.write(`\rbuilding: ${p.toFixed(1)}%   `);
      };
      const job = await daemonOrHere<JobJson>(config, {
        daemon: (ask) => viaDaemon(ask, sourceId, request, progress),
        here: (services) => here(services().videoJobs, sourceId, request, progress),
      });
      if (!json && process.stderr.isTTY) process.stderr.write('\r');
      if (job.status !== 'succeeded') {
        if (json) printJson(io, { job });
        throw new CliError(`video ${job.status}: ${job.message ?? 'no reason given'}`, 1);
      }
      const store = openRepositories(config.storage.dataDir);
      try {
        const video = store.videos.get(Number(job.video!.split('/').pop()))!;
        const file = store.layout.absolute(video.path);
        if (o.out) await fs.copyFile(file, o.out);
        if (json) return printJson(io, { job, file, ...(o.out ? { out: o.out } : {}) });
        const skipped = (job.result?.['skipped'] as unknown[] | undefined)?.length ?? 0;
        io.out(
          `video built: ${o.out ?? file} (${video.frames} frames, ${(video.durationMs / 1000).toFixed(1)} s at ${video.fps} fps, ${video.width}x${video.height}, ${(video.size / 1048576).toFixed(1)} MB)` +
            (skipped > 0 ? `; ${skipped} frames skipped (missing or broken files)` : ''),
        );
      } finally {
        store.close();
      }
    });
}

/** The request body, as the API takes it: numbers parsed, unset options left out. */
function requestFrom(o: TimelapseOptions): Record<string, unknown> {
  const number = (text: string | undefined, name: string) => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw new CliError(`--${name} expects a whole number, got "${text}"`, 2);
    return n;
  };
  const out: Record<string, unknown> = {
    from: o.from,
    to: o.to,
    keepFrom: o.keepFrom,
    keepTo: o.keepTo,
    weekdays: o.weekdays?.split(',').map((d) => d.trim()),
    minInterval: o.minInterval,
    fps: number(o.fps, 'fps'),
    width: number(o.width, 'width'),
    crf: number(o.crf, 'crf'),
    deflicker: o.deflicker === false ? false : undefined,
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}

/** Queues the job with the running daemon and follows it; Ctrl-C cancels it. Null when no daemon runs. */
async function viaDaemon(ask: AskDaemon, sourceId: string, request: Record<string, unknown>, progress: (p: number) => void): Promise<JobJson | null> {
  const queued = await ask('POST', `/sources/${encodeURIComponent(sourceId)}/videos`, 30_000, request);
  if (!queued) return null;
  const body = queued.body as { job?: JobJson; error?: string; details?: Record<string, string> };
  if (queued.status !== 202 || !body.job) {
    throw new CliError(body.error ?? `the daemon answered ${queued.status}`, queued.status === 400 ? 2 : 1);
  }
  const id = body.job.id;
  const cancel = () => void ask('DELETE', `/jobs/${id}`, 30_000).catch(() => undefined);
  process.once('SIGINT', cancel);
  try {
    for (;;) {
      const answer = await ask('GET', `/jobs/${id}`, 30_000);
      if (!answer || answer.status !== 200) throw new CliError(`the daemon stopped answering about job ${id}`, 1);
      const job = (answer.body as { job: JobJson }).job;
      if (job.status !== 'queued' && job.status !== 'running') return job;
      progress(job.progress);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } finally {
    process.removeListener('SIGINT', cancel);
  }
}

/** No daemon: build it in this process, recorded in the same job history (one job, the queue is not started). */
async function here(jobs: VideoJobs, sourceId: string, request: Record<string, unknown>, progress: (p: number) => void): Promise<JobJson> {
  const job = jobs.submitCustom(sourceId, request, 'cli');
  const timer = setInterval(() => progress(jobs.get(job.id)?.progress ?? 0), POLL_MS);
  const cancel = () => void jobs.cancel(job.id, 'cli').catch(() => undefined);
  process.once('SIGINT', cancel);
  try {
    return jobJson(await jobs.runOne(job.id));
  } finally {
    clearInterval(timer);
    process.removeListener('SIGINT', cancel);
  }
}
