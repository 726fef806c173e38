/**
 * Heavy downloads (a day as a zip, an original watermarked on request: a 24 MP
 * decode and encode each) have their own bounded queue, apart from the capture
 * pipeline's: a few run at once, a few more wait their turn, one user holds at
 * most a couple, and anything beyond is refused at once with 429 and Retry-After
 * rather than piling up memory and CPU on a two-core box. Plain files (clean
 * originals, videos, thumbnails) are streamed by the kernel and need no slot.
 */
import { BusyError } from '../daemon/errors';
import { Limiter, LimiterFullError } from '../daemon/limiter';

export interface DownloadLimits {
  /** Heavy downloads made at the same time, all users together. */
  running: number;
  /** More that may wait for a turn; beyond, 429. */
  waiting: number;
  /** Running or waiting for one user. */
  perUser: number;
}

/**
 * One at a time: a 24 MP render already keeps both cores busy (libvips threads).
 * Measured with a 1920x1080 source every second (npm run bench -- web, part 4):
 * two at once missed 4 of 18 slots, one at a time none, for about the same
 * downloads per minute.
 */
export const DOWNLOAD_LIMITS: DownloadLimits = { running: 1, waiting: 4, perUser: 2 };

/** What a refused client is told to wait: a watermarked original takes a second or two. */
const RETRY_AFTER_SECONDS = 10;

export class DownloadSlots {
  readonly #limits: DownloadLimits;
  readonly #limiter: Limiter;
  readonly #perUser = new Map<string, number>();

  constructor(limits: DownloadLimits = DOWNLOAD_LIMITS) {
    this.#limits = limits;
    this.#limiter = new Limiter(limits.running, { name: 'heavy downloads', maxWaiting: limits.waiting });
  }

  /**
   * Runs `work` (which sends the whole response) in a slot of `user`'s; throws
   * BusyError (429) without running it when the user or the box has no room.
   */
  async run<T>(user: string, work: () => Promise<T>): Promise<T> {
    const mine = this.#perUser.get(user) ?? 0;
    if (mine >= this.#limits.perUser) {
      throw new BusyError(`you already have ${mine} downloads of zips or watermarked originals under way; try again when one has finished`, RETRY_AFTER_SECONDS);
    }
    this.#perUser.set(user, mine + 1);
    try {
      return await this.#limiter.run(work);
    } catch (err) {
      if (err instanceof LimiterFullError) {
        throw new BusyError(`the box is busy with ${this.#limiter.active} downloads of zips or watermarked originals and ${this.#limiter.waiting} waiting; try again in a moment`, RETRY_AFTER_SECONDS);
      }
      throw err;
    } finally {
      const left = (this.#perUser.get(user) ?? 1) - 1;
      if (left > 0) this.#perUser.set(user, left);
      else this.#perUser.delete(user);
    }
  }
}
