/**
 * A byte-rate limit for uploads over metered links: one token bucket per target,
 * shared by every upload in flight on it, lets through at most `bytesPerSecond`
 * on average, in bursts of at most a quarter of a second's worth.
 */
import { Transform, type TransformCallback } from 'node:stream';

export class TokenBucket {
  readonly rate: number;
  readonly burst: number;
  #tokens: number;
  #last: number;

  constructor(bytesPerSecond: number) {
    this.rate = bytesPerSecond;
    this.burst = Math.max(1024, Math.floor(bytesPerSecond / 4));
    this.#tokens = this.burst;
    this.#last = performance.now();
  }

  /** Takes up to `wanted` bytes' worth; returns how many it may send now. */
  take(wanted: number): number {
    const now = performance.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.rate);
    this.#last = now;
    const allowed = Math.max(0, Math.min(wanted, Math.floor(this.#tokens)));
    this.#tokens -= allowed;
    return allowed;
  }

  /** Milliseconds until `bytes` (at most a burst) could be taken. */
  waitFor(bytes: number): number {
    return Math.max(5, ((Math.min(this.burst, bytes) - this.#tokens) / this.rate) * 1000);
  }
}

/** A stream that passes bytes only as fast as its bucket allows. */
export class Throttle extends Transform {
  readonly #bucket: TokenBucket;
  #timer: NodeJS.Timeout | null = null;

  constructor(bucket: TokenBucket) {
    super({ highWaterMark: 64 * 1024 });
    this.#bucket = bucket;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#send(chunk, 0, done);
  }

  override _destroy(err: Error | null, done: (error: Error | null) => void): void {
    if (this.#timer) clearTimeout(this.#timer);
    done(err);
  }

  #send(chunk: Buffer, offset: number, done: TransformCallback): void {
    const allowed = this.#bucket.take(chunk.length - offset);
    if (allowed > 0) {
      this.push(chunk.subarray(offset, offset + allowed));
      offset += allowed;
    }
    if (offset >= chunk.length) return done();
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#send(chunk, offset, done);
    }, this.#bucket.waitFor(chunk.length - offset));
  }
}
