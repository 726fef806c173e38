/**
 * Builds the Camera for a source from its configuration. The only place that
 * knows every driver; the capture service sees the Camera interface only.
 */
import type { Config, SourceConfig } from '../config/schema';
import type { Camera } from './camera';
import { TestPatternCamera } from './testpattern.camera';
import { GPhoto2Camera } from './gphoto2.camera';
import { Gphoto2SessionCamera } from './gphoto2-session/session.camera';
import { silentLogger, type Logger } from '../logger';
import { V4l2Camera } from './v4l2.camera';
import { HttpCamera } from './http.camera';
import { RtspCamera } from './rtsp.camera';

/** `log` hears what a driver decides by itself (the gphoto2 session falling back to the program). */
export type CameraFactory = (source: SourceConfig, appliance: Config['appliance'], log?: Logger) => Camera;

export const createCamera: CameraFactory = (source, appliance, log = silentLogger()) => {
  const camera = source.camera;
  switch (camera.driver) {
    case 'testpattern':
      return new TestPatternCamera({
        sourceId: source.id,
        sourceName: source.name ?? source.id,
        width: camera.width,
        height: camera.height,
        timezone: appliance.timezone,
        ...(appliance.location ? { location: appliance.location } : {}),
        ...(camera.exposure ? { sensor: { start: camera.exposure.start } } : {}),
      });
    case 'gphoto2': {
      const options = {
        sourceId: source.id,
        settings: camera.settings,
        keepRaw: camera.keepRaw,
        ...(camera.model !== undefined ? { model: camera.model } : {}),
        ...(camera.port !== undefined ? { port: camera.port } : {}),
        ...(camera.serial !== undefined ? { serial: camera.serial } : {}),
      };
      // The session downloads the JPEG only: RAW + JPEG stays with the program.
      if (camera.mode === 'cli') return new GPhoto2Camera({ ...options, reason: 'camera.mode: cli' });
      if (camera.keepRaw) return new GPhoto2Camera({ ...options, reason: 'keepRaw: the session downloads the JPEG only' });
      return new Gphoto2SessionCamera({ ...options, mode: camera.mode, log });
    }
    case 'v4l2':
      return new V4l2Camera({
        sourceId: source.id,
        device: camera.device,
        skipFrames: camera.skipFrames,
        ...(camera.width !== undefined ? { width: camera.width } : {}),
        ...(camera.height !== undefined ? { height: camera.height } : {}),
        ...(camera.inputFormat !== undefined ? { inputFormat: camera.inputFormat } : {}),
      });
    case 'http':
      return new HttpCamera({
        sourceId: source.id,
        url: camera.url,
        auth: camera.auth,
        ...(camera.username !== undefined ? { username: camera.username } : {}),
        ...(camera.password !== undefined ? { password: camera.password } : {}),
      });
    case 'rtsp':
      // ffmpeg's own socket timeout ends first, with a more precise message than the service's abort.
      return new RtspCamera({ sourceId: source.id, url: camera.url, transport: camera.transport, timeoutMs: Math.max(1000, Math.floor(camera.timeout * 0.75)) });
  }
};
