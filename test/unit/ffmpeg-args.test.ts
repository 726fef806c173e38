import { CameraError } from '../../daemon/capture/camera';
import {
  classifyFfmpegError,
  ffconcatQuote,
  rtspCommand,
  stripCredentials,
  v4l2Args,
  type FfmpegErrorContext,
  type RtspArgsOptions,
  type V4l2ArgsOptions,
} from '../../daemon/capture/ffmpeg-args';

const OUT = '/var/lib/lapsebox/pictures/cam/2024/06/21/120000.jpg.tmp';
const JPEG_OUT = ['-frames:v', '1', '-fps_mode', 'passthrough', '-f', 'image2', '-update', '1', '-c:v', 'mjpeg', '-q:v', '2', '-y', OUT];

function refusal(build: () => unknown): CameraError {
  try {
    build();
  } catch (err) {
    if (err instanceof CameraError) return err;
    throw err;
  }
  throw new Error('expected a CameraError, but the arguments were accepted');
}

describe('v4l2Args', () => {
  const base: V4l2ArgsOptions = { device: '/dev/video0', skipFrames: 10, output: OUT };

  it('opens the device with its defaults and keeps the frame after the skipped ones', () => {
    expect(v4l2Args(base)).toEqual([
      '-hide_banner', '-nostdin', '-loglevel', 'error',
      '-f', 'v4l2',
      '-i', '/dev/video0',
      '-vf', 'select=gte(n\\,10)',
      ...JPEG_OUT,
    ]);
  });

  it('asks for the input format and size before the input', () => {
    expect(v4l2Args({ ...base, device: '/dev/v4l/by-id/usb-046d_HD_Pro_Webcam_C920-video-index0', width: 1920, height: 1080, inputFormat: 'mjpeg', skipFrames: 3 })).toEqual([
      '-hide_banner', '-nostdin', '-loglevel', 'error',
      '-f', 'v4l2',
      '-input_format', 'mjpeg',
      '-video_size', '1920x1080',
      '-i', '/dev/v4l/by-id/usb-046d_HD_Pro_Webcam_C920-video-index0',
      '-vf', 'select=gte(n\\,3)',
      ...JPEG_OUT,
    ]);
  });

  it('has no select filter when no frame is skipped', () => {
    expect(v4l2Args({ ...base, skipFrames: 0 })).toEqual(['-hide_banner', '-nostdin', '-loglevel', 'error', '-f', 'v4l2', '-i', '/dev/video0', ...JPEG_OUT]);
  });

  it.each([
    ['/dev/../etc/passwd'],
    ['/dev/video0/../../etc/shadow'],
    ['-f'],
    ['/etc/passwd'],
    ['/dev/video0; rm -rf /'],
    ['/dev/video 0'],
    ['/dev/'],
    ['video0'],
  ])('refuses the device %j', (device) => {
    const error = refusal(() => v4l2Args({ ...base, device }));
    expect(error.code).toBe('failed');
    expect(error.message).toContain(`v4l2 device ${JSON.stringify(device)} is not a device path`);
  });

  it.each([['-f'], ['mjpeg;reboot'], ['mj peg'], [''], ['yuyv422,mjpeg']])('refuses the input format %j', (inputFormat) => {
    const error = refusal(() => v4l2Args({ ...base, inputFormat }));
    expect(error.code).toBe('failed');
    expect(error.message).toContain(`v4l2 input format ${JSON.stringify(inputFormat)} is not a format name`);
  });

  it('refuses a width without a height, and sizes out of range', () => {
    expect(refusal(() => v4l2Args({ ...base, width: 640 })).message).toBe('v4l2 width and height go together: give both or neither');
    expect(refusal(() => v4l2Args({ ...base, width: 640.5, height: 480 })).message).toBe('v4l2 width must be an integer from 16 to 8000, got 640.5');
    expect(refusal(() => v4l2Args({ ...base, width: 640, height: 9000 })).message).toBe('v4l2 height must be an integer from 16 to 8000, got 9000');
  });

  it('refuses a negative or fractional skipFrames and a relative output', () => {
    expect(refusal(() => v4l2Args({ ...base, skipFrames: -1 })).message).toBe('v4l2 skipFrames must be an integer from 0 to 300, got -1');
    expect(refusal(() => v4l2Args({ ...base, skipFrames: 1.5 })).message).toBe('v4l2 skipFrames must be an integer from 0 to 300, got 1.5');
    expect(refusal(() => v4l2Args({ ...base, output: '-y' })).message).toBe('the output must be an absolute path, got "-y"');
    expect(refusal(() => v4l2Args({ ...base, output: 'pipe:1' })).message).toBe('the output must be an absolute path, got "pipe:1"');
  });
});

describe('rtspCommand', () => {
  const base: RtspArgsOptions = { url: 'rtsp://admin:pa%40ss@192.168.1.64:554/Streaming/Channels/101', transport: 'tcp', timeoutMs: 5000, output: OUT };
  /** The playlist on stdin is the only input: a concat demuxer limited to the network protocols of RTSP. */
  const ARGS = [
    '-hide_banner', '-nostdin', '-loglevel', 'error',
    '-f', 'concat', '-safe', '0', '-protocol_whitelist', 'pipe,rtsp,rtsps,tcp,udp,rtp,tls',
    '-i', 'pipe:0',
    ...JPEG_OUT,
  ];

  it('keeps the URL off the command line: it goes on stdin with the transport, the socket timeout in microseconds, video only', () => {
    const sut = rtspCommand(base);

    expect(sut.args).toEqual(ARGS);
    expect(sut.args.join(' ')).not.toMatch(/rtsp:|admin|pa%40ss/);
    expect(sut.stdin).toBe(
      [
        'ffconcat version 1.0',
        "file 'rtsp://admin:pa%40ss@192.168.1.64:554/Streaming/Channels/101'",
        'option rtsp_transport tcp',
        'option timeout 5000000',
        'option allowed_media_types video',
        '',
      ].join('\n'),
    );
  });

  it('passes udp and rtsps through unchanged', () => {
    const sut = rtspCommand({ ...base, url: 'rtsps://cam.example:322/live?channel=1', transport: 'udp', timeoutMs: 250 });

    expect(sut.args).toEqual(ARGS);
    expect(sut.stdin).toBe("ffconcat version 1.0\nfile 'rtsps://cam.example:322/live?channel=1'\noption rtsp_transport udp\noption timeout 250000\noption allowed_media_types video\n");
  });

  it("quotes a ' in the URL so that it cannot end the file name and add a directive", () => {
    const sut = rtspCommand({ ...base, url: "rtsp://admin:it's'option@cam/live" });

    expect(sut.stdin?.split('\n')[1]).toBe("file 'rtsp://admin:it'\\''s'\\''option@cam/live'");
    expect(ffconcatQuote("a'b")).toBe("'a'\\''b'");
    expect(ffconcatQuote('\\#x')).toBe("'\\#x'");
  });

  it.each([
    ['http://192.168.1.64/snapshot.jpg', 'must start with rtsp:// or rtsps://'],
    ['-f', 'must start with rtsp:// or rtsps://'],
    ['file:///etc/passwd', 'must start with rtsp:// or rtsps://'],
    ['rtsp://cam/live stream', 'contains spaces or control characters'],
    ['rtsp://cam/live\n-f', 'contains spaces or control characters'],
    ["rtsp://cam/live'\nfile '/etc/passwd", 'contains spaces or control characters'],
    ['rtsp://cam:99999/live', 'is not a valid URL'],
  ])('refuses the URL %j', (url, problem) => {
    const error = refusal(() => rtspCommand({ ...base, url }));
    expect(error.code).toBe('failed');
    expect(error.message).toContain(problem);
  });

  it('names a refused URL without its credentials', () => {
    const error = refusal(() => rtspCommand({ ...base, url: 'rtsp://admin:hunter2@cam/live stream' }));
    expect(error.message).toBe('rtsp URL "rtsp://cam/live stream" contains spaces or control characters (percent-encode them, e.g. %20)');
  });

  it('refuses other transports and timeouts out of range', () => {
    expect(refusal(() => rtspCommand({ ...base, transport: 'http' as 'tcp' })).message).toBe('rtsp transport must be tcp or udp, got "http"');
    expect(refusal(() => rtspCommand({ ...base, timeoutMs: 0 })).message).toBe('rtsp timeoutMs must be an integer from 100 to 600000, got 0');
    expect(refusal(() => rtspCommand({ ...base, timeoutMs: 1e9 })).message).toBe('rtsp timeoutMs must be an integer from 100 to 600000, got 1000000000');
  });
});

describe('stripCredentials', () => {
  it('removes user and password from every URL, even with @ in the password', () => {
    expect(stripCredentials('rtsp://admin:p@ss@10.0.0.2:554/live: Server returned 401 and rtsps://u:x@cam/b')).toBe(
      'rtsp://10.0.0.2:554/live: Server returned 401 and rtsps://cam/b',
    );
    expect(stripCredentials('rtsp://10.0.0.2/live?user=a@b')).toBe('rtsp://10.0.0.2/live?user=a@b');
  });

  it('masks secret-looking query values too (cameras that take the password in the query)', () => {
    expect(stripCredentials("Impossible to open 'rtsp://cam/s?user=admin&password=hunter2&channel=1'")).toBe("Impossible to open 'rtsp://cam/s?user=admin&password=***&channel=1'");
  });
});

describe('classifyFfmpegError', () => {
  const webcam: FfmpegErrorContext = { sourceId: 'north', driver: 'v4l2', input: '/dev/video0' };
  const ipcam: FfmpegErrorContext = { sourceId: 'gate', driver: 'rtsp', input: 'rtsp://admin:s3cr%2Ft@10.0.0.2:554/live' };

  it.each([
    [
      'a missing device',
      webcam,
      '[video4linux2,v4l2 @ 0x5626] Cannot open video device /dev/video0: No such file or directory\n/dev/video0: No such file or directory\n',
      'not-found',
      'camera north: no video device at /dev/video0',
      'is the webcam plugged in? `lapsebox cameras` lists video devices',
    ],
    [
      'a device held by another program',
      webcam,
      '[video4linux2,v4l2 @ 0x55d1] ioctl(VIDIOC_STREAMON): Device or resource busy\n/dev/video0: Device or resource busy\n',
      'claimed',
      'camera north: /dev/video0 is busy',
      'another program uses the webcam (fuser -v /dev/video0 shows which); stop it',
    ],
    [
      'a user outside the video group',
      webcam,
      '[video4linux2,v4l2 @ 0x55d1] Cannot open video device /dev/video0: Permission denied\n/dev/video0: Permission denied\n',
      'failed',
      'camera north: no permission to open /dev/video0',
      'add the lapsebox user to the video group (sudo usermod -aG video lapsebox) and restart lapsebox',
    ],
    [
      'a metadata node',
      webcam,
      '[video4linux2,v4l2 @ 0x55d1] Not a video capture device.\n/dev/video0: No such device\n',
      'not-found',
      'camera north: /dev/video0 is not a video capture device',
      'a webcam also creates metadata nodes (often the second /dev/videoN); `lapsebox cameras` lists video devices',
    ],
    [
      'an unplugged webcam during capture',
      webcam,
      '[video4linux2,v4l2 @ 0x55d1] ioctl(VIDIOC_DQBUF): No such device\n',
      'not-found',
      'camera north: no video device at /dev/video0',
      'is the webcam plugged in? `lapsebox cameras` lists video devices',
    ],
    [
      'an input format the webcam lacks',
      webcam,
      "[video4linux2,v4l2 @ 0x55d1] Cannot find a proper format for codec 'h264' (id 27), pixel format 'none' (id -1)\n/dev/video0: Invalid argument\n",
      'failed',
      'camera north: /dev/video0 does not support the requested input format or size',
      'ffmpeg -f v4l2 -list_formats all -i /dev/video0 lists what the webcam offers',
    ],
    [
      'a full disk',
      webcam,
      '[image2 @ 0x5621] Could not open file : /data/pictures/a.jpg.tmp\nav_interleaved_write_frame(): No space left on device\n',
      'io',
      'camera north: cannot write the picture',
      'check free space and permissions of the picture folder',
    ],
    [
      'wrong credentials',
      ipcam,
      '[rtsp @ 0x556d] method DESCRIBE failed: 401 Unauthorized\nrtsp://admin:s3cr%2Ft@10.0.0.2:554/live: Server returned 401 Unauthorized (authorization failed)\n',
      'failed',
      'camera gate: rtsp://10.0.0.2:554/live refused the user name or password (401 Unauthorized)',
      'check the username and password in the URL (percent-encode special characters)',
    ],
    [
      'a wrong stream path',
      ipcam,
      '[rtsp @ 0x561f] method DESCRIBE failed: 404 Not Found\nrtsp://admin:s3cr%2Ft@10.0.0.2:554/live: Server returned 404 Not Found\n',
      'not-found',
      'camera gate: no stream at rtsp://10.0.0.2:554/live (404 Not Found)',
      "check the stream path in the URL against the camera's manual",
    ],
    [
      'a refused connection',
      ipcam,
      '[tcp @ 0x561d] Connection to tcp://10.0.0.2:554?timeout=5000000 failed: Connection refused\nrtsp://admin:s3cr%2Ft@10.0.0.2:554/live: Connection refused\n',
      'not-found',
      'camera gate: nothing answers at 10.0.0.2:554 (connection refused)',
      "check the address and port in the URL, and that the camera's RTSP service is enabled",
    ],
    [
      'an unknown host name',
      { ...ipcam, input: 'rtsp://admin:pw@gate-cam.lan:8554/live' },
      '[tcp @ 0x55e7] Failed to resolve hostname gate-cam.lan: Name or service not known\nrtsp://admin:pw@gate-cam.lan:8554/live: Input/output error\n',
      'not-found',
      'camera gate: cannot resolve the host name gate-cam.lan',
      "check the host name in the URL, or use the camera's IP address",
    ],
    [
      'an unreachable host',
      ipcam,
      '[tcp @ 0x561d] Connection to tcp://10.0.0.2:554?timeout=5000000 failed: No route to host\n',
      'not-found',
      'camera gate: cannot reach 10.0.0.2:554',
      "check the camera's IP address, power and network cable",
    ],
    [
      'a connect timeout',
      ipcam,
      '[tcp @ 0x561d] Connection to tcp://10.0.0.2:554?timeout=5000000 failed: Connection timed out\nrtsp://admin:s3cr%2Ft@10.0.0.2:554/live: Connection timed out\n',
      'timeout',
      'camera gate: 10.0.0.2:554 did not answer in time',
      "check the camera's power and network connection",
    ],
    [
      'a server that never replies',
      ipcam,
      'rtsp://admin:s3cr%2Ft@10.0.0.2:554/live: Invalid data found when processing input\n',
      'timeout',
      'camera gate: no RTSP answer from 10.0.0.2:554 (none in time, or not an RTSP server)',
      "check the port in the URL and that the camera's RTSP service is enabled",
    ],
    [
      'a stream without packets',
      ipcam,
      'Output file #0 does not contain any stream\n',
      'timeout',
      'camera gate: rtsp://10.0.0.2:554/live sent no video',
      'over udp a firewall or NAT often drops the stream: try transport tcp; otherwise check that the stream has video',
    ],
    [
      'a camera at its client limit',
      ipcam,
      '[rtsp @ 0x561f] method SETUP failed: 453 Not Enough Bandwidth\n',
      'busy',
      'camera gate: rtsp://10.0.0.2:554/live serves no more clients right now',
      'close other viewers or recorders of this camera, or use its secondary stream',
    ],
  ] as const)('explains %s', (_case, context, stderr, code, message, advice) => {
    const error = classifyFfmpegError(stderr, context);
    expect(error).toBeInstanceOf(CameraError);
    expect([error.code, error.message, error.advice]).toEqual([code, message, advice]);
  });

  it('reads "Invalid data" from a webcam as an unknown failure, not a silent server', () => {
    const error = classifyFfmpegError('[mjpeg @ 0x55] Invalid data found when processing input\n', webcam);
    expect(error.code).toBe('failed');
    expect(error.message).toBe('camera north: ffmpeg could not take a picture from /dev/video0: [mjpeg @ 0x55] Invalid data found when processing input');
  });

  it('quotes the last lines of anything else, without the credentials', () => {
    const stderr = [
      '[rtsp @ 0x55] something odd',
      '[h264 @ 0x55] decoder says no',
      'user admin password s3cr/t in a line',
      'rtsp://admin:s3cr%2Ft@10.0.0.2:554/live: Function not implemented',
    ].join('\n');
    const error = classifyFfmpegError(stderr, ipcam);
    expect(error.code).toBe('failed');
    expect(error.message).toBe(
      'camera gate: ffmpeg could not take a picture from rtsp://10.0.0.2:554/live: [h264 @ 0x55] decoder says no | user admin password *** in a line | rtsp://10.0.0.2:554/live: Function not implemented',
    );
    expect(error.advice).toBeUndefined();
  });

  it('says how ffmpeg ended when it said nothing', () => {
    const error = classifyFfmpegError('', { ...webcam, ending: 'ended by SIGKILL' });
    expect(error.message).toBe('camera north: ffmpeg could not take a picture from /dev/video0: no message, ended by SIGKILL');
  });

  it('never shows credentials, whatever the rule', () => {
    const secretContext = { ...ipcam, input: 'rtsp://admin:hunter2@10.0.0.2/live' };
    for (const stderr of ['401 Unauthorized', '404 Not Found', 'Connection refused', 'timed out', 'Invalid data found when processing input', 'rtsp://admin:hunter2@10.0.0.2/live: boom']) {
      const error = classifyFfmpegError(stderr, secretContext);
      expect(error.describe()).not.toMatch(/hunter2|admin/);
    }
  });
});
