/**
 * The ffmpeg command lines of the v4l2 and rtsp drivers, and what ffmpeg's complaints
 * mean for a person. Pure functions: the drivers run what these return, tests check
 * them value by value. Every setting is checked here before it can reach an argv.
 */
import path from 'node:path';
import { CameraError, type CameraErrorCode } from './camera';
import { tail } from '../process';
import { maskUrls } from '../secrets';

export interface V4l2ArgsOptions {
  /** A V4L2 node such as /dev/video0 or /dev/v4l/by-id/usb-...-video-index0. */
  device: string;
  /** Asked of the webcam; it may deliver the nearest size it supports instead. */
  width?: number;
  height?: number;
  /** The webcam's pixel format or codec, e.g. mjpeg or yuyv422 (`ffmpeg -f v4l2 -list_formats all -i DEVICE`). */
  inputFormat?: string;
  /** Frames dropped while the webcam's automatic exposure and white balance settle. */
  skipFrames: number;
  /** Absolute path of the JPEG to write. */
  output: string;
}

export interface RtspArgsOptions {
  /** rtsp:// or rtsps:// URL; credentials may be in it, percent-encoded. */
  url: string;
  transport: 'tcp' | 'udp';
  /** ffmpeg gives up when the camera sends nothing for this long. */
  timeoutMs: number;
  output: string;
}

export const FFMPEG_LIMITS = { minSize: 16, maxSize: 8000, maxSkipFrames: 300, minTimeoutMs: 100, maxTimeoutMs: 600_000 } as const;

const DEVICE = /^\/dev\/[A-Za-z0-9._/-]+$/;
const INPUT_FORMAT = /^[A-Za-z0-9_]{1,32}$/;

/** Quiet, and never waiting on a terminal that a daemon does not have. */
const COMMON = ['-hide_banner', '-nostdin', '-loglevel', 'error'];

export function v4l2Args(options: V4l2ArgsOptions): string[] {
  const { device, width, height, inputFormat, skipFrames } = options;
  checkDevice(device);
  checkSize(width, height);
  if (inputFormat !== undefined && !INPUT_FORMAT.test(inputFormat)) {
    throw invalid(`v4l2 input format ${JSON.stringify(inputFormat)} is not a format name: expected letters, digits or _ such as mjpeg or yuyv422`);
  }
  if (!Number.isInteger(skipFrames) || skipFrames < 0 || skipFrames > FFMPEG_LIMITS.maxSkipFrames) {
    throw invalid(`v4l2 skipFrames must be an integer from 0 to ${FFMPEG_LIMITS.maxSkipFrames}, got ${String(skipFrames)}`);
  }
  return [
    ...COMMON,
    '-f', 'v4l2',
    ...(inputFormat !== undefined ? ['-input_format', inputFormat] : []),
    ...(width !== undefined && height !== undefined ? ['-video_size', `${width}x${height}`] : []),
    '-i', device,
    // The first frames of a webcam that just started are dark or tinted; keep a later one.
    // The comma is escaped for the filtergraph parser, not for a shell (there is none).
    ...(skipFrames > 0 ? ['-vf', `select=gte(n\\,${skipFrames})`] : []),
    ...jpegOutput(options.output),
  ];
}

/** An ffmpeg run: its argv, and what it reads on stdin (what must not be on the command line). */
export interface FfmpegCommand {
  args: string[];
  stdin?: string;
}

/**
 * The stream URL, which may hold the camera's password, never reaches argv (any local
 * account reads argv in `ps` or /proc/PID/cmdline). ffmpeg 5.1 cannot read one input
 * option from elsewhere, but its concat demuxer reads a playlist from stdin, and that
 * playlist names the stream and carries its demuxer options (`option`, ffmpeg >= 5.0).
 * The protocol whitelist keeps that playlist to the network protocols of RTSP: no file:.
 */
export function rtspCommand(options: RtspArgsOptions): FfmpegCommand {
  const { url, transport, timeoutMs } = options;
  checkStreamUrl(url);
  if (transport !== 'tcp' && transport !== 'udp') throw invalid(`rtsp transport must be tcp or udp, got ${JSON.stringify(transport)}`);
  const { minTimeoutMs, maxTimeoutMs } = FFMPEG_LIMITS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < minTimeoutMs || timeoutMs > maxTimeoutMs) {
    throw invalid(`rtsp timeoutMs must be an integer from ${minTimeoutMs} to ${maxTimeoutMs}, got ${String(timeoutMs)}`);
  }
  const playlist = [
    'ffconcat version 1.0',
    `file ${ffconcatQuote(url)}`,
    `option rtsp_transport ${transport}`,
    // The rtsp demuxer's socket I/O timeout, in microseconds (ffmpeg >= 5; 4.x called it -stimeout).
    `option timeout ${timeoutMs * 1000}`,
    // Audio is not set up at all: one stream fewer to negotiate and receive.
    'option allowed_media_types video',
  ];
  return {
    args: [
      ...COMMON,
      // -safe 0: the "file" is a URL. The whitelist is inherited by the stream it opens.
      '-f', 'concat', '-safe', '0', '-protocol_whitelist', 'pipe,rtsp,rtsps,tcp,udp,rtp,tls',
      '-i', 'pipe:0',
      ...jpegOutput(options.output),
    ],
    stdin: `${playlist.join('\n')}\n`,
  };
}

/**
 * One ffconcat token: inside single quotes everything is literal (ffmpeg's av_get_token),
 * and a quote is closed, escaped, reopened. Control characters (a newline would start a
 * directive) never get here: checkStreamUrl refuses them.
 */
export function ffconcatQuote(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

/**
 * One decoded frame as it came (passthrough: no frame duplication to a constant rate),
 * written as a single file (`-update 1`: the name is not a %d pattern) in high quality.
 */
function jpegOutput(output: string): string[] {
  // An absolute path cannot be read as an option (-x) or a protocol (name:...).
  if (!path.isAbsolute(output)) throw invalid(`the output must be an absolute path, got ${JSON.stringify(output)}`);
  return ['-frames:v', '1', '-fps_mode', 'passthrough', '-f', 'image2', '-update', '1', '-c:v', 'mjpeg', '-q:v', '2', '-y', output];
}

function checkDevice(device: string): void {
  if (typeof device !== 'string' || !DEVICE.test(device) || device.split('/').includes('..')) {
    throw invalid(`v4l2 device ${JSON.stringify(device)} is not a device path: expected /dev/ followed by letters, digits and . _ - / without "..", such as /dev/video0`);
  }
}

function checkSize(width: number | undefined, height: number | undefined): void {
  if ((width === undefined) !== (height === undefined)) throw invalid('v4l2 width and height go together: give both or neither');
  const { minSize, maxSize } = FFMPEG_LIMITS;
  for (const [name, value] of [['width', width], ['height', height]] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < minSize || value > maxSize)) {
      throw invalid(`v4l2 ${name} must be an integer from ${minSize} to ${maxSize}, got ${String(value)}`);
    }
  }
}

function checkStreamUrl(url: string): void {
  const problem = streamUrlProblem(url);
  if (problem) throw invalid(`rtsp URL ${JSON.stringify(stripCredentials(String(url)))} ${problem}`);
}

function streamUrlProblem(url: string): string | undefined {
  if (typeof url !== 'string' || !/^rtsps?:\/\//i.test(url)) return 'must start with rtsp:// or rtsps://';
  if (/[\s\x00-\x1f\x7f]/.test(url)) return 'contains spaces or control characters (percent-encode them, e.g. %20)';
  try {
    if (new URL(url).hostname === '') return 'has no host';
  } catch {
    return 'is not a valid URL';
  }
  return undefined;
}

function invalid(message: string): CameraError {
  return new CameraError('failed', message, 'correct the camera settings in the configuration');
}

/** Removes user:password@ from every URL in a text, so no log or status line shows them. */
export function stripCredentials(text: string): string {
  // The user part goes whole; secret-looking query values (`?password=...`, `?token=...`) are masked as everywhere else.
  return maskUrls(text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#]*@/gi, '$1'));
}

export interface FfmpegErrorContext {
  sourceId: string;
  driver: 'v4l2' | 'rtsp';
  /** The device path or stream URL ffmpeg opened (credentials are removed from messages). */
  input: string;
  /** How ffmpeg ended, for the message when its output explains nothing: "exit code 1". */
  ending?: string;
}

interface Rule {
  pattern: RegExp;
  /** Only for one driver's input; the same words mean other things elsewhere. */
  driver?: FfmpegErrorContext['driver'];
  code: CameraErrorCode;
  /** What happened, after "camera <id>: ". */
  says: (input: string) => string;
  advice: (input: string) => string;
}

const LIST_CAMERAS = '`lapsebox cameras` lists video devices';

/** First match wins: specific causes before the generic errno texts they also print. */
const RULES: readonly Rule[] = [
  {
    pattern: /\b401 Unauthorized\b/,
    driver: 'rtsp',
    code: 'failed',
    says: (url) => `${url} refused the user name or password (401 Unauthorized)`,
    advice: () => 'check the username and password in the URL (percent-encode special characters)',
  },
  {
    pattern: /\b404 Not Found\b/,
    driver: 'rtsp',
    code: 'not-found',
    says: (url) => `no stream at ${url} (404 Not Found)`,
    advice: () => "check the stream path in the URL against the camera's manual",
  },
  {
    pattern: /\b(453 Not Enough Bandwidth|503 Service Unavailable)\b/,
    driver: 'rtsp',
    code: 'busy',
    says: (url) => `${url} serves no more clients right now`,
    advice: () => 'close other viewers or recorders of this camera, or use its secondary stream',
  },
  {
    pattern: /\b461 Unsupported Transport\b/,
    driver: 'rtsp',
    code: 'failed',
    says: (url) => `${url} does not stream over this transport`,
    advice: () => 'switch camera.transport between tcp and udp',
  },
  {
    pattern: /Connection refused/,
    driver: 'rtsp',
    code: 'not-found',
    says: (url) => `nothing answers at ${hostOf(url)} (connection refused)`,
    advice: () => "check the address and port in the URL, and that the camera's RTSP service is enabled",
  },
  {
    pattern: /Failed to resolve hostname|Name or service not known|Temporary failure in name resolution/,
    driver: 'rtsp',
    code: 'not-found',
    says: (url) => `cannot resolve the host name ${hostOf(url).replace(/:\d+$/, '')}`,
    advice: () => "check the host name in the URL, or use the camera's IP address",
  },
  {
    pattern: /No route to host|Network is unreachable|Host is unreachable/,
    driver: 'rtsp',
    code: 'not-found',
    says: (url) => `cannot reach ${hostOf(url)}`,
    advice: () => "check the camera's IP address, power and network cable",
  },
  {
    pattern: /timed out/i,
    driver: 'rtsp',
    code: 'timeout',
    says: (url) => `${hostOf(url)} did not answer in time`,
    advice: () => "check the camera's power and network connection",
  },
  {
    // ffmpeg's RTSP client reports a reply that never came, or was not RTSP, this way.
    pattern: /Invalid data found when processing input/,
    driver: 'rtsp',
    code: 'timeout',
    says: (url) => `no RTSP answer from ${hostOf(url)} (none in time, or not an RTSP server)`,
    advice: () => "check the port in the URL and that the camera's RTSP service is enabled",
  },
  {
    pattern: /does not contain any stream/,
    driver: 'rtsp',
    code: 'timeout',
    says: (url) => `${url} sent no video`,
    advice: () => 'over udp a firewall or NAT often drops the stream: try transport tcp; otherwise check that the stream has video',
  },
  {
    pattern: /Not a video capture device|Inappropriate ioctl for device|does not support the streaming I\/O method/,
    driver: 'v4l2',
    code: 'not-found',
    says: (device) => `${device} is not a video capture device`,
    advice: () => `a webcam also creates metadata nodes (often the second /dev/videoN); ${LIST_CAMERAS}`,
  },
  {
    pattern: /Device or resource busy/,
    driver: 'v4l2',
    code: 'claimed',
    says: (device) => `${device} is busy`,
    advice: (device) => `another program uses the webcam (fuser -v ${device} shows which); stop it`,
  },
  {
    pattern: /Permission denied/,
    driver: 'v4l2',
    code: 'failed',
    says: (device) => `no permission to open ${device}`,
    advice: () => 'add the lapsebox user to the video group (sudo usermod -aG video lapsebox) and restart lapsebox',
  },
  {
    pattern: /Cannot open video device .*No such file or directory|No such device/,
    driver: 'v4l2',
    code: 'not-found',
    says: (device) => `no video device at ${device}`,
    advice: () => `is the webcam plugged in? ${LIST_CAMERAS}`,
  },
  {
    pattern: /Cannot find a proper format|Invalid argument/,
    driver: 'v4l2',
    code: 'failed',
    says: (device) => `${device} does not support the requested input format or size`,
    advice: (device) => `ffmpeg -f v4l2 -list_formats all -i ${device} lists what the webcam offers`,
  },
  {
    pattern: /Could not open file|No space left on device|Read-only file system/,
    code: 'io',
    says: () => 'cannot write the picture',
    advice: () => 'check free space and permissions of the picture folder',
  },
  {
    pattern: /Input\/output error/,
    driver: 'v4l2',
    code: 'io',
    says: (device) => `I/O error reading ${device}`,
    advice: () => "check the webcam's USB cable; a powered USB hub helps when the port cannot feed it",
  },
];

/** Turns ffmpeg's error output into a CameraError a person can act on; never shows credentials. */
export function classifyFfmpegError(stderr: string, context: FfmpegErrorContext): CameraError {
  const input = stripCredentials(context.input);
  const rule = RULES.find((r) => (r.driver === undefined || r.driver === context.driver) && r.pattern.test(stderr));
  if (rule) return new CameraError(rule.code, `camera ${context.sourceId}: ${rule.says(input)}`, rule.advice(input));
  const said = redact(tail(stderr), context.input);
  const detail = said || `no message, ${context.ending ?? 'unknown ending'}`;
  return new CameraError('failed', `camera ${context.sourceId}: ffmpeg could not take a picture from ${input}: ${detail}`);
}

/** Strips credentials from URLs, and the password itself should ffmpeg print it elsewhere. */
function redact(text: string, input: string): string {
  const stripped = stripCredentials(text);
  const password = passwordOf(input);
  if (!password) return stripped;
  return [password, safeDecode(password)].reduce((out, secret) => out.split(secret).join('***'), stripped);
}

function passwordOf(url: string): string | undefined {
  return /^[a-z][a-z0-9+.-]*:\/\/[^\s/?#]*?:([^\s/?#]*)@/i.exec(url)?.[1] || undefined;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** host:port of a URL, for messages about the network rather than the stream. */
function hostOf(url: string): string {
  try {
    return new URL(url).host || url;
  } catch {
    return url;
  }
}
