/**
 * Builds the Camera for a source from its configuration. The only place that
 * knows every driver; the capture service sees the Camera interface only.
 */
import type { Config, SourceConfig } from '../config/schema';
import { CameraError, type Camera, type CaptureResult } from './camera';
import { TestPatternCamera } from './testpattern.camera';
import { GPhoto2Camera } from './gphoto2.camera';

export type CameraFactory = (source: SourceConfig, appliance: Config['appliance']) => Camera;

export const createCamera: CameraFactory = (source, appliance) => {
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
      });
    case 'gphoto2':
      return new GPhoto2Camera({
        sourceId: source.id,
        settings: camera.settings,
        keepRaw: camera.keepRaw,
        ...(camera.model !== undefined ? { model: camera.model } : {}),
        ...(camera.port !== undefined ? { port: camera.port } : {}),
        ...(camera.serial !== undefined ? { serial: camera.serial } : {}),
      });
    default:
      return new UnavailableCamera(camera.driver);
  }
};

/** A driver the configuration may name but this version cannot run yet. */
class UnavailableCamera implements Camera {
  constructor(readonly driver: string) {}

  capture(): Promise<CaptureResult> {
    return Promise.reject(
      new CameraError('unsupported', `the ${this.driver} driver is not available in this version of lapsebox`, 'use the testpattern driver until it is'),
    );
  }
}
