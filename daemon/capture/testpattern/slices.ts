/**
 * Long synchronous work (a 24 MP frame, a scene's noise fields) is cut into slices with an
 * event-loop turn between them, so the daemon (HTTP, scheduler) never stalls for more than
 * a few milliseconds and an abort is seen quickly.
 */
import { throwIfAborted } from '../camera';

/** Pixels rendered between event-loop yields. */
export const BAND_PIXELS = 1 << 20;

/** Lets the event loop run (HTTP, timers) between slices of long synchronous work. */
export async function pause(signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  throwIfAborted(signal);
}
