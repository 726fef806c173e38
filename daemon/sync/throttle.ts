/**
 * A byte-rate limit for uploads over metered links: a token bucket that lets
 * through at most `bytesPerSecond` on average, in bursts of at most a quarter
 * of a second's worth.
 */
import { Transform, type TransformCallback } from 'node:stream';

export class Throttle extends Transform {
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #last: number;
  #timer: NodeJS.Timeout | null = null;

  constructor(bytesPerSecond: number) {
    super({ highWaterMark: 64 * 1024 });
    this.#rate = bytesPerSecond;
    this.#burst = Math.max(1024, Math.floor(bytesPerSecond / 4));
    this.#tokens = this.#burst;
    this.#last = performance.now();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#send(chunk, 0, done);
  }

  override _destroy(err: Error | null, done: (error: Error | null) => void): void {
    if (this.#timer) clearTimeout(this.#timer);
    done(err);
  }

  #send(chunk: Buffer, offset: number, done: TransformCallback): void {
    const now = performance.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#rate);
    this.#last = now;
    const allowed = Math.min(chunk.length - offset, Math.floor(this.#tokens));
    if (allowed > 0) {
      this.push(chunk.subarray(offset, offset + allowed));
      this.#tokens -= allowed;
      offset += allowed;
    }
    if (offset >= chunk.length) return done();
    const wait = Math.max(5, ((Math.min(this.#burst, chunk.length - offset) - this.#tokens) / this.#rate) * 1000);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#send(chunk, offset, done);
    }, wait);
  }
}
