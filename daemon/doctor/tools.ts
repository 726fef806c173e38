/**
 * The programs lapsebox runs: Node.js itself, ffmpeg and ffprobe (and which H.264
 * encoder works), gphoto2, the Pi's vcgencmd, and the clock tools. A missing tool
 * is a failure only when the configuration needs it, and says what to install.
 */
import fs from 'node:fs/promises';
import { TIMELAPSE_KINDS, type Config, type SourceConfig } from '../config/schema';
import { probeBinding } from '../capture/gphoto2-session/session.camera';
import { tail } from '../process';
import { FfmpegRunner, testEncode, versionOf } from '../timelapse/ffmpeg.runner';
import { encoderFor, type VideoEncoder } from '../timelapse/encode-args';
import { runTool, type Check, type DoctorContext } from './context';
import { messageOf } from '../error-causes';

const NODE_MAJOR = 20;
/** Each test encode's share of doctor's time. */
const ENCODE_TIMEOUT_MS = 15_000;

/** What the enabled sources need. */
export function needs(config: Config): { videos: boolean; ffmpegCameras: string[]; gphoto2: boolean } {
  const enabled = config.sources.filter((s) => s.enabled);
  return {
    videos: enabled.some((s) => TIMELAPSE_KINDS.some((k) => s.timelapse[k].enabled)),
    ffmpegCameras: enabled.filter((s) => s.camera.driver === 'v4l2' || s.camera.driver === 'rtsp').map((s) => s.id),
    gphoto2: enabled.some((s) => s.camera.driver === 'gphoto2'),
  };
}

export async function toolChecks(ctx: DoctorContext): Promise<Check[]> {
  const [ffmpeg, gphoto2, gphoto2Driver, vcgencmd, clock] = await Promise.all([ffmpegChecks(ctx), gphoto2Check(ctx), gphoto2DriverCheck(ctx), vcgencmdCheck(ctx), clockToolsCheck(ctx)]);
  return [nodeCheck(), ...ffmpeg, gphoto2, ...gphoto2Driver, vcgencmd, clock];
}

function nodeCheck(): Check {
  const major = Number(process.versions.node.split('.')[0]);
  return major >= NODE_MAJOR
    ? { group: 'tools', name: 'node', verdict: 'ok', detail: `Node.js ${process.version} (${process.execPath})` }
    : { group: 'tools', name: 'node', verdict: 'fail', detail: `Node.js ${process.version} is too old: lapsebox needs ${NODE_MAJOR} or later`, fix: `install Node.js ${NODE_MAJOR} or later (Debian 12: NodeSource's nodejs package)` };
}

async function ffmpegChecks(ctx: DoctorContext): Promise<Check[]> {
  const need = needs(ctx.config);
  const install = 'sudo apt-get install -y ffmpeg';
  const forCameras = need.ffmpegCameras.length > 0;
  const [ffmpeg, ffprobe] = await Promise.all([versionCheck('ffmpeg', need.videos || forCameras), versionCheck('ffprobe', need.videos)]);
  const checks = [ffmpeg, ffprobe];
  if (ffmpeg.verdict === 'ok') {
    const encoder = await encoderCheck(ctx, need.videos);
    checks.push(encoder.check);
    if (need.videos && encoder.works) checks.push(filmEncodersCheck(ctx.config, encoder.works));
  }
  return checks;

  async function versionCheck(program: 'ffmpeg' | 'ffprobe', needed: boolean): Promise<Check> {
    try {
      return { group: 'tools', name: program, verdict: 'ok', detail: await versionOf(program, program) };
    } catch (err) {
      const cameras = program === 'ffmpeg' && forCameras ? ` (cameras ${need.ffmpegCameras.join(', ')} need it too)` : '';
      return { group: 'tools', name: program, verdict: needed ? 'fail' : 'warn', detail: `${messageOf(err)}${needed ? cameras : ' (no enabled source needs it now)'}`, fix: install };
    }
  }
}

/** The encoder videos would use (the runner's own choice); a failure when not even libx264 encodes and videos are wanted. */
async function encoderCheck(ctx: DoctorContext, videos: boolean): Promise<{ check: Check; works: VideoEncoder | null }> {
  const options = { env: ctx.env, signal: ctx.signal, timeoutMs: ENCODE_TIMEOUT_MS };
  const encoder = await new FfmpegRunner().encoder(options);
  if (encoder === 'h264_v4l2m2m') return { check: { group: 'tools', name: 'h264 encoder', verdict: 'ok', detail: 'h264_v4l2m2m (the hardware encoder works)' }, works: encoder };
  // The runner falls back to libx264 without trying it: doctor does.
  const error = await testEncode('ffmpeg', encoder, options);
  if (error === null) return { check: { group: 'tools', name: 'h264 encoder', verdict: 'ok', detail: 'libx264 (no working hardware encoder)' }, works: encoder };
  return {
    check: {
      group: 'tools',
      name: 'h264 encoder',
      verdict: videos ? 'fail' : 'warn',
      detail: `neither h264_v4l2m2m nor libx264 encodes a test video (${error}): videos cannot be built`,
      fix: 'sudo apt-get install -y ffmpeg (Debian\'s ffmpeg has libx264)',
    },
    works: null,
  };
}

/**
 * Which encoder each kind of film of each source is made with: the box's encoder, or libx264
 * for a width the hardware does not take (the height depends on the frames; a film taller
 * than the hardware takes falls back when it is built, as does one the hardware refuses).
 */
function filmEncodersCheck(config: Config, preferred: VideoEncoder): Check {
  const byEncoder = new Map<string, string[]>();
  for (const source of config.sources.filter((s) => s.enabled)) {
    for (const kind of TIMELAPSE_KINDS) {
      const settings = source.timelapse[kind];
      if (!settings.enabled) continue;
      const choice = encoderFor(preferred, { width: settings.width, height: 0 });
      const key = choice.reason ? `libx264 (${settings.width} px is wider than ${preferred} takes)` : choice.encoder;
      byEncoder.set(key, [...(byEncoder.get(key) ?? []), `${source.id} ${kind} (${settings.width} px)`]);
    }
  }
  const detail = [...byEncoder].map(([encoder, films]) => `${encoder}: ${films.join(', ')}`).join('; ');
  return { group: 'tools', name: 'film encoders', verdict: 'ok', detail: detail || 'no film is enabled' };
}

async function gphoto2Check(ctx: DoctorContext): Promise<Check> {
  const used = needs(ctx.config).gphoto2;
  const result = await runTool(ctx, 'gphoto2', ['--version']);
  if (result === null) {
    return used
      ? { group: 'tools', name: 'gphoto2', verdict: 'fail', detail: 'not installed, and a source uses a gphoto2 camera', fix: 'sudo apt-get install -y gphoto2' }
      : { group: 'tools', name: 'gphoto2', verdict: 'ok', detail: 'not installed (no source needs it)' };
  }
  const line = result.stdout.split('\n').find((l) => /^gphoto2\s+\d/.test(l)) ?? result.stdout.split('\n')[0] ?? '';
  if (result.code === 0) return { group: 'tools', name: 'gphoto2', verdict: 'ok', detail: line.trim() || 'installed' };
  return {
    group: 'tools',
    name: 'gphoto2',
    verdict: used ? 'fail' : 'warn',
    detail: `"gphoto2 --version" failed: ${tail(result.stderr) || `exit code ${result.code}`}`,
    fix: 'sudo apt-get install --reinstall -y gphoto2',
  };
}

/**
 * Which way each gphoto2 source takes its pictures: in a session (the binding in a
 * worker) or with the gphoto2 program, and why. No row when no source uses gphoto2.
 */
async function gphoto2DriverCheck(ctx: DoctorContext): Promise<Check[]> {
  const sources = ctx.config.sources.filter((s) => s.enabled && s.camera.driver === 'gphoto2');
  if (sources.length === 0) return [];
  const binding = await probeBinding({ env: ctx.env });
  const parts: string[] = [];
  let verdict: Check['verdict'] = 'ok';
  for (const source of sources) {
    const camera = source.camera as Extract<SourceConfig['camera'], { driver: 'gphoto2' }>;
    if (camera.mode === 'cli') parts.push(`${source.id}: the gphoto2 program (camera.mode: cli)`);
    else if (camera.keepRaw) parts.push(`${source.id}: the gphoto2 program (keepRaw: the session downloads the JPEG only)`);
    else if (binding.ok) parts.push(`${source.id}: a session (libgphoto2 through the gphoto2 binding, in a worker)`);
    else {
      parts.push(`${source.id}: ${camera.mode === 'session' ? 'none' : 'the gphoto2 program'} (the gphoto2 binding cannot be loaded: ${binding.error})`);
      verdict = camera.mode === 'session' ? 'fail' : verdict === 'fail' ? 'fail' : 'warn';
    }
  }
  return [
    {
      group: 'tools',
      name: 'gphoto2 driver',
      verdict,
      detail: parts.join('; '),
      ...(verdict === 'ok' ? {} : { fix: 'sudo apt-get install -y libgphoto2-dev python3 make g++, then in the install folder: sudo npm rebuild gphoto2 (or set camera.mode: cli)' }),
    },
  ];
}

async function vcgencmdCheck(ctx: DoctorContext): Promise<Check> {
  const model = await fs.readFile(ctx.paths.deviceModel, 'utf8').then((t) => t.replace(/\0/g, '').trim(), () => '');
  const pi = model.includes('Raspberry Pi');
  const result = await runTool(ctx, 'vcgencmd', ['get_throttled'], 5000);
  if (result === null) {
    return pi
      ? { group: 'tools', name: 'vcgencmd', verdict: 'warn', detail: `not installed on this ${model}: the under-voltage and throttling flags cannot be read`, fix: 'sudo apt-get install -y libraspberrypi-bin' }
      : { group: 'tools', name: 'vcgencmd', verdict: 'ok', detail: 'not installed: not a Raspberry Pi (no firmware flags to read)' };
  }
  if (result.code === 0) return { group: 'tools', name: 'vcgencmd', verdict: 'ok', detail: `works (${result.stdout.trim()})` };
  if (!pi) return { group: 'tools', name: 'vcgencmd', verdict: 'ok', detail: 'installed, but this is not a Raspberry Pi' };
  return {
    group: 'tools',
    name: 'vcgencmd',
    verdict: 'warn',
    detail: `"vcgencmd get_throttled" failed: ${tail(result.stderr) || `exit code ${result.code}`}`,
    fix: `the daemon's user needs the video group: sudo usermod -aG video ${ctx.daemonUser.name}`,
  };
}

/** Whether the clock can be checked at all; whether it is synchronised is the clock check's. */
async function clockToolsCheck(ctx: DoctorContext): Promise<Check> {
  const [timedatectl, chronyc] = await Promise.all([runTool(ctx, 'timedatectl', ['--version'], 5000), runTool(ctx, 'chronyc', ['--version'], 5000)]);
  const found = [timedatectl && 'timedatectl', chronyc && 'chronyc'].filter((t): t is string => Boolean(t));
  if (found.length > 0) return { group: 'tools', name: 'timedatectl/chronyc', verdict: 'ok', detail: `${found.join(' and ')} installed` };
  return {
    group: 'tools',
    name: 'timedatectl/chronyc',
    verdict: 'warn',
    detail: 'neither timedatectl nor chronyc is installed: nobody can tell whether the clock is right',
    fix: 'sudo apt-get install -y systemd-timesyncd (or chrony)',
  };
}
