/**
 * `lapsebox doctor`: the checks a maintainer would otherwise do by hand, each with a
 * verdict and what to do. This version checks the configuration, the tools
 * (ffmpeg, ffprobe, the H.264 encoder, gphoto2) and the data folder; the operations
 * issue adds cameras, clock and targets.
 */
import fs from 'node:fs/promises';
import { constants } from 'node:fs';
import type { Command } from 'commander';
import type { Config } from '../config/schema';
import { runCommand, CommandNotFoundError } from '../capture/command';
import { FfmpegRunner } from '../timelapse/ffmpeg.runner';
import { commonOptions, loadFor, printJson, table, withConfigOption, withJsonOption, type Output } from './context';

export interface Check {
  name: string;
  verdict: 'ok' | 'warn' | 'fail';
  detail: string;
  /** What to do about it, when it is not ok. */
  fix?: string;
}

export function doctorCommand(program: Command, io: Output): void {
  withJsonOption(withConfigOption(program.command('doctor')))
    .description('check the tools, the configuration and the data folder; exits 1 when a check fails')
    .action(async (_o, cmd: Command) => {
      const loaded = loadFor(cmd);
      const checks: Check[] = [{ name: 'configuration', verdict: loaded.warnings.length ? 'warn' : 'ok', detail: `${loaded.file} is valid${loaded.warnings.length ? `; ${loaded.warnings.join('; ')}` : ''}` }];
      checks.push(...(await toolChecks(loaded.config)), await dataFolderCheck(loaded.config));
      if (checks.some((c) => c.verdict === 'fail')) process.exitCode = 1;
      if (commonOptions(cmd).json) return printJson(io, { checks });
      const rows = [['CHECK', 'VERDICT', 'DETAIL']];
      for (const c of checks) rows.push([c.name, c.verdict, c.fix ? `${c.detail} → ${c.fix}` : c.detail]);
      io.out(table(rows));
    });
}

async function toolChecks(config: Config): Promise<Check[]> {
  const checks: Check[] = [];
  const runner = new FfmpegRunner();
  const videos = config.sources.some((s) => Object.values(s.timelapse).some((k) => k.enabled));
  try {
    checks.push({ name: 'ffmpeg', verdict: 'ok', detail: await runner.version() });
    const encoder = await runner.encoder();
    checks.push({ name: 'h264 encoder', verdict: 'ok', detail: encoder === 'h264_v4l2m2m' ? 'h264_v4l2m2m (the hardware encoder works)' : 'libx264 (no working hardware encoder)' });
  } catch (err) {
    checks.push({
      name: 'ffmpeg',
      verdict: videos || config.sources.some((s) => s.camera.driver === 'v4l2' || s.camera.driver === 'rtsp') ? 'fail' : 'warn',
      detail: (err as Error).message,
      fix: 'sudo apt-get install -y ffmpeg',
    });
  }
  const usesGphoto2 = config.sources.some((s) => s.camera.driver === 'gphoto2');
  try {
    const result = await runCommand('gphoto2', ['--version'], { signal: AbortSignal.timeout(10_000) });
    const line = result.stdout.split('\n').find((l) => /^gphoto2\s+\d/.test(l)) ?? result.stdout.split('\n')[0] ?? '';
    checks.push({ name: 'gphoto2', verdict: result.code === 0 ? 'ok' : usesGphoto2 ? 'fail' : 'warn', detail: line.trim() || `exit code ${result.code}` });
  } catch (err) {
    if (!(err instanceof CommandNotFoundError)) throw err;
    checks.push({ name: 'gphoto2', verdict: usesGphoto2 ? 'fail' : 'ok', detail: usesGphoto2 ? 'not installed, and a source uses a gphoto2 camera' : 'not installed (no source needs it)', ...(usesGphoto2 ? { fix: 'sudo apt-get install -y gphoto2' } : {}) });
  }
  return checks;
}

async function dataFolderCheck(config: Config): Promise<Check> {
  const dir = config.storage.dataDir;
  try {
    await fs.access(dir, constants.W_OK);
    return { name: 'data folder', verdict: 'ok', detail: `${dir} is writable` };
  } catch {
    const exists = await fs.stat(dir).then(() => true, () => false);
    return exists
      ? { name: 'data folder', verdict: 'fail', detail: `${dir} is not writable by this user`, fix: `sudo chown -R lapsebox: ${dir}` }
      : { name: 'data folder', verdict: 'warn', detail: `${dir} does not exist yet`, fix: 'the daemon creates it at its first start' };
  }
}
