import { CameraError, type CaptureResult } from '../../daemon/capture/camera';

/** The rejection of a capture, which must be a CameraError (anything else is rethrown). */
export async function cameraFailure(capture: Promise<CaptureResult>): Promise<CameraError> {
  const error: unknown = await capture.then(
    () => new Error('expected the capture to fail, but it succeeded'),
    (err: unknown) => err,
  );
  if (!(error instanceof CameraError)) throw error;
  return error;
}
