/**
 * The SFTP side of the sync: the only code that knows ssh2-sftp-client. One
 * connection per target, reused while it works and thrown away (with its client
 * object) after any error. Every call runs under our own timeout, because a
 * server or a link can stop answering without closing anything.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import SftpClient from 'ssh2-sftp-client';
import type { SftpTargetConfig } from '../config/schema';
import { Throttle, TokenBucket } from './throttle';
import { TEMP_PREFIX } from '../domain/data-folder';
import { SyncError, type ProbeReport, type Transport, type TransportOptions, type UploadOptions, type UploadOutcome } from './transport';
import { remoteFile, remoteTempFile } from './remote-paths';
import { messageOf } from '../error-causes';

/** ssh2's window for `fastPut`: 128 KB chunks keep a link busy where 32 KB ones wait on acknowledgements. */
const CHUNK_SIZE = 128 * 1024;
/**
 * Chunks in flight per upload (512 KB; with 4 uploads in flight, 2 MB per target,
 * more than a 4G link's bandwidth-delay product). ssh2's default of 64 (8 MB)
 * halved throughput on loopback, as the writes outrun the channel window.
 */
const CHUNKS_IN_FLIGHT = 4;
const KEEPALIVE_MS = 15_000;
/**
 * Uploads in flight at once on the one connection: each file costs a few round
 * trips (stat, open, close, stat, rename) that overlap with another's data. Small,
 * so the remote timeline still fills in order, a few files apart at most.
 */
const FILES_IN_FLIGHT = 4;

/** The fingerprint OpenSSH prints for a host key (`ssh-keygen -lf`): SHA256 of the key blob, base64 without padding. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${crypto.createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** One target's connection and the upload protocol: temporary name, size check, rename. */
export class SftpTransport implements Transport {
  readonly parallel = FILES_IN_FLIGHT;
  readonly #target: SftpTargetConfig;
  readonly #options: TransportOptions;
  #client: SftpClient | null = null;
  #socket: net.Socket | null = null;
  /** Remote folders made (or being made) on this connection; shared by uploads in flight. */
  #dirs = new Map<string, Promise<void>>();
  #broken: Error | null = null;
  #connecting: Promise<void> | null = null;
  /** Calls in flight, to fail at once on abort(): the library may wait on a destroyed socket until our timeout. */
  readonly #inFlight = new Set<(err: Error) => void>();
  /** Counts abort() calls: a connection being opened when one comes is given up, not handed over. */
  #aborts = 0;
  /** The bandwidth cap, shared by every upload in flight on this target. */
  readonly #bucket: TokenBucket | null;

  constructor(target: SftpTargetConfig, options: TransportOptions) {
    this.#target = target;
    this.#options = options;
    this.#bucket = options.maxRate === undefined ? null : new TokenBucket(options.maxRate);
  }

  get connected(): boolean {
    return this.#client !== null && this.#broken === null;
  }

  /** Connects if there is no working connection; after any failure the next call starts afresh. Uploads in flight share one attempt. */
  connect(): Promise<void> {
    if (this.connected) return Promise.resolve();
    this.#connecting ??= this.#connect().finally(() => (this.#connecting = null));
    return this.#connecting;
  }

  async #connect(): Promise<void> {
    await this.close();
    const t = this.#target;
    const where = `${t.username}@${t.host}:${t.port}`;
    const aborts = this.#aborts;
    const cut = () => new SyncError('connection', `the connection to ${where} was cut: the sync is stopping`);
    const credentials = await this.#credentials();
    if (this.#aborts !== aborts) throw cut();
    const socket = await this.#openSocket();
    if (this.#aborts !== aborts) {
      socket.destroy();
      throw cut();
    }
    const client = new SftpClient(`lapsebox-${t.id}`, {
      // Events between calls (the server closing an idle connection): the next call reconnects.
      error: (err: unknown) => this.#markBroken(err instanceof Error ? err : new Error(String(err))),
      end: () => this.#markBroken(new Error('the server ended the connection')),
      close: () => this.#markBroken(new Error('the connection closed')),
    });
    this.#client = client;
    this.#socket = socket;
    this.#broken = null;
    this.#dirs = new Map();
    let presented: string | null = null;
    try {
      await this.#call(`connecting to ${where}`, () =>
        client.connect({
          sock: socket,
          host: t.host,
          port: t.port,
          username: t.username,
          ...credentials,
          readyTimeout: t.timeout,
          keepaliveInterval: KEEPALIVE_MS,
          keepaliveCountMax: 4,
          hostVerifier: (key: Buffer) => {
            presented = fingerprint(key);
            this.#options.onHostKey?.(presented);
            return presented === t.hostKey;
          },
        }),
      );
    } catch (err) {
      await this.close();
      if (presented !== null && presented !== t.hostKey) {
        throw new SyncError(
          'host-key',
          `the server at ${t.host}:${t.port} presented the host key ${presented}, but the configuration pins ${t.hostKey}; nothing is sent to "${t.id}". If the server was reinstalled, check the new key with its administrator (ssh-keygen -lf on the server's key) and update hostKey`,
        );
      }
      if (err instanceof SyncError) throw err;
      const message = messageOf(err);
      if (/authentication methods failed/i.test(message)) {
        throw new SyncError('auth', `the server at ${t.host}:${t.port} refused to log in ${t.username} with the ${t.privateKey ? 'key ' + t.privateKey : 'password'} (is the public key in the server's authorized_keys?)`);
      }
      throw new SyncError('connection', `could not open an SFTP session with ${where}: ${message}`);
    }
  }

  /** Sends one file by the protocol of SPEC §3; the caller marks it sent only after this resolves. */
  async upload(localFile: string, options: UploadOptions): Promise<UploadOutcome> {
    const stat = await fsp.stat(localFile).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new SyncError('local-missing', `${localFile} is no longer on the box`);
      throw new SyncError('local', `cannot read ${localFile}: ${err.message}`);
    });
    await this.connect();
    const client = this.#client!;
    const finalFile = remoteFile(this.#target, this.#options.applianceId, options.remotePath);
    const tempFile = remoteTempFile(finalFile);
    if (options.mayBeThere) {
      // A crash between the rename and the database update leaves the file in place: it counts as sent.
      const there = await this.#call(`checking ${finalFile}`, () => client.stat(finalFile).catch((err: { code?: unknown }) => (err.code === 'ENOENT' ? null : Promise.reject(err))));
      if (there && there.isFile && there.size === stat.size) return { status: 'already-there', bytes: stat.size };
    }
    await this.#ensureDir(path.posix.dirname(finalFile));
    await this.#put(localFile, tempFile);
    const sent = await this.#call(`checking ${tempFile}`, () => client.stat(tempFile));
    if (sent.size !== stat.size) {
      await this.#call(`removing ${tempFile}`, () => client.delete(tempFile, true)).catch(() => undefined);
      throw new SyncError('size-mismatch', `${tempFile} holds ${sent.size} bytes after the upload, ${stat.size} were sent; it was removed and will be sent again`);
    }
    await this.#call(`renaming ${tempFile} to ${finalFile}`, () => client.posixRename(tempFile, finalFile));
    return { status: 'uploaded', bytes: stat.size };
  }

  /**
   * For `lapsebox doctor`: logs in, finds the box's folder (or, before the first
   * upload made it, remoteDir), writes a small file there under a unique temporary
   * name and removes it.
   */
  async probe(): Promise<ProbeReport> {
    const t = this.#target;
    const steps: string[] = [];
    try {
      await this.connect();
      steps.push('logged in');
      const client = this.#client!;
      const kindOf = async (remotePath: string) => {
        const kind = await this.#call(`looking at ${remotePath}`, () => client.exists(remotePath));
        return kind === false ? 'missing' : kind === 'd' ? 'folder' : 'other';
      };
      const base = path.posix.join(t.remoteDir, this.#options.applianceId);
      const dir = (await kindOf(base)) === 'folder' ? base : t.remoteDir;
      if (dir === t.remoteDir) {
        const kind = await kindOf(t.remoteDir);
        if (kind !== 'folder') throw new SyncError('missing-folder', `${t.remoteDir} ${kind === 'missing' ? 'does not exist' : 'is not a folder'} on the server`);
      }
      const probe = path.posix.join(dir, `${TEMP_PREFIX}doctor-${crypto.randomUUID()}`);
      await this.#call(`writing ${probe}`, () => client.put(Buffer.from('lapsebox doctor\n'), probe));
      await this.#call(`removing ${probe}`, () => client.delete(probe));
      steps.push(`${dir} writable`);
      return { steps };
    } catch (err) {
      const error = err instanceof SyncError ? err : new SyncError('remote', messageOf(err));
      error.steps = steps;
      throw error;
    }
  }

  /** Cuts the connection at once (the daemon is stopping); a call in flight fails and the next one reconnects. */
  abort(): void {
    this.#aborts++;
    this.#markBroken(new Error('the sync is stopping'));
    this.#socket?.destroy();
    for (const fail of this.#inFlight) fail(new SyncError('connection', `the connection to ${this.#target.host}:${this.#target.port} was cut: the sync is stopping`));
  }

  /** Ends the connection politely if it works, else just drops it; never throws. */
  async close(): Promise<void> {
    const client = this.#client;
    const socket = this.#socket;
    this.#client = null;
    this.#socket = null;
    this.#dirs = new Map();
    if (client && this.#broken === null) {
      await withTimeout(client.end(), Math.min(this.#target.timeout, 5_000), () => undefined).catch(() => undefined);
    }
    socket?.destroy();
  }

  async #credentials(): Promise<{ privateKey?: Buffer; password?: string }> {
    const t = this.#target;
    if (t.privateKey === undefined) return { password: t.password! };
    try {
      return { privateKey: await fsp.readFile(t.privateKey), ...(t.password ? { password: t.password } : {}) };
    } catch (err) {
      throw new SyncError('auth', `cannot read the private key ${t.privateKey} for "${t.id}": ${(err as NodeJS.ErrnoException).code ?? messageOf(err)}`);
    }
  }

  /** A TCP socket with Nagle's algorithm off: small SFTP requests must not wait for delayed ACKs. */
  #openSocket(): Promise<net.Socket> {
    const t = this.#target;
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: t.host, port: t.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new SyncError('timeout', `${t.host}:${t.port} did not accept a connection within ${t.timeout / 1000} s`));
      }, t.timeout);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        socket.setNoDelay(true);
        socket.setKeepAlive(true, KEEPALIVE_MS);
        resolve(socket);
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        socket.destroy();
        const why: Record<string, string> = {
          ECONNREFUSED: 'refused the connection (is the SSH server running, and is port right?)',
          ENOTFOUND: 'is not a known host name (check host, and the box\'s DNS)',
          EAI_AGAIN: 'could not be looked up (no DNS answer: is the network up?)',
          EHOSTUNREACH: 'cannot be reached (no route: is the network up?)',
          ENETUNREACH: 'cannot be reached (the network is down)',
          ETIMEDOUT: 'did not answer (timed out)',
        };
        reject(new SyncError('unreachable', `${t.host}:${t.port} ${why[err.code ?? ''] ?? `could not be reached: ${err.message}`}`));
      });
    });
  }

  #ensureDir(dir: string): Promise<void> {
    let made = this.#dirs.get(dir);
    if (!made) {
      const client = this.#client!;
      made = this.#call(`creating ${dir}`, () => client.mkdir(dir, true)).then(() => undefined);
      made.catch(() => this.#dirs.delete(dir));
      this.#dirs.set(dir, made);
    }
    return made;
  }

  async #put(localFile: string, tempFile: string): Promise<void> {
    const client = this.#client!;
    const what = `uploading ${path.basename(localFile)} to ${tempFile}`;
    const bucket = this.#bucket;
    if (bucket === null) {
      await this.#call(what, (touch) => client.fastPut(localFile, tempFile, { chunkSize: CHUNK_SIZE, concurrency: CHUNKS_IN_FLIGHT, step: touch }));
      return;
    }
    // Under a cap the bytes go through a throttled stream; the stall timer restarts on each chunk.
    await this.#call(what, (touch) => {
      const throttle = new Throttle(bucket);
      throttle.on('data', touch);
      const reader = fs.createReadStream(localFile, { highWaterMark: 64 * 1024 });
      reader.on('error', (err) => throttle.destroy(err));
      return client.put(reader.pipe(throttle), tempFile, { writeStreamOptions: { mode: 0o644 } });
    });
  }

  /**
   * Runs one call of the library under the target's timeout. The timer restarts
   * whenever the call reports progress (`touch`), so a long upload is fine and a
   * stalled one is not. On a timeout or a broken connection the client is dropped.
   */
  async #call<T>(what: string, fn: (touch: () => void) => Promise<T>): Promise<T> {
    if (this.#broken) throw this.#connectionError(what);
    const timeout = this.#target.timeout;
    let timer: NodeJS.Timeout | null = null;
    let rejectTimeout: (err: Error) => void = () => undefined;
    const timedOut = new Promise<never>((_, reject) => {
      rejectTimeout = reject;
    });
    const arm = () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => rejectTimeout(new SyncError('timeout', `${this.#target.host}:${this.#target.port} stopped answering for ${timeout / 1000} s while ${what}`)), timeout);
    };
    arm();
    this.#inFlight.add(rejectTimeout);
    const work = fn(arm);
    try {
      return await Promise.race([work, timedOut]);
    } catch (err) {
      work.catch(() => undefined);
      if (err instanceof SyncError) {
        if (err.ofTarget) await this.#drop(err);
        throw err;
      }
      const mapped = this.#broken ? this.#connectionError(what) : this.#classify(err as Error & { code?: unknown }, what);
      if (mapped.ofTarget) await this.#drop(mapped);
      throw mapped;
    } finally {
      if (timer) clearTimeout(timer);
      this.#inFlight.delete(rejectTimeout);
    }
  }

  #classify(err: Error & { code?: unknown }, what: string): SyncError {
    const code = err.code;
    const message = err.message.replace(/^(\w+->)*|^\w+: /g, '');
    if (code === 3 || code === 'EACCES' || /permission denied/i.test(err.message)) {
      return new SyncError('permission', `the server refused to write (permission denied) while ${what}; check that ${this.#target.username} may write in ${this.#target.remoteDir} on ${this.#target.host}`);
    }
    // The library reports a connection that ended under a call as "Unexpected end/close event".
    if (code === 'ERR_NOT_CONNECTED' || code === 'ECONNRESET' || code === 'EPIPE' || /unexpected (end|close) event|no sftp connection|not connected|connection (lost|closed)/i.test(err.message)) {
      return new SyncError('connection', `the connection to ${this.#target.host}:${this.#target.port} broke while ${what}: ${message}`);
    }
    // SFTP's generic failure (4) while writing is most often the server's disk being full.
    const hint = code === 4 && what.startsWith('uploading') ? ' (is its disk full?)' : '';
    return new SyncError('remote', `the server failed while ${what}${hint}: ${message}`);
  }

  #connectionError(what: string): SyncError {
    return new SyncError('connection', `the connection to ${this.#target.host}:${this.#target.port} was lost while ${what}: ${this.#broken?.message ?? 'closed'}`);
  }

  #markBroken(err: Error): void {
    this.#broken ??= err;
  }

  async #drop(err: Error): Promise<void> {
    this.#markBroken(err);
    this.#socket?.destroy();
    await this.close();
  }
}

/** Resolves like `promise`, or with `fallback()` when it takes longer than `ms`. */
function withTimeout<T>(promise: Promise<T>, ms: number, fallback: () => T): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([promise, new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback()), ms)))]).finally(() => clearTimeout(timer));
}
