/**
 * A real S3-compatible server on loopback, for the S3 sync tests and benchmarks: OpenStack
 * Swift 2.30 from Debian 12's python3-swift, with the s3api middleware (SigV4, presigned
 * URLs, multipart uploads) in front of tempauth (one account, one user), one node, one
 * replica, plus Debian's memcached (tempauth and the proxy's info cache need one). Four
 * Swift servers (proxy, account, container, object) and memcached, each on its own free
 * port on 127.0.0.1, each in its own process group; the data, configs, rings and logs
 * live in the folder the caller gives.
 *
 * Learnt from /work/shared/recipes/s3-swift.sh (the same configuration), written again
 * here without a shell: every process is started with an argument array.
 *
 * Layout of `dir`:
 *   etc/  swift.conf, *-server.conf, rings, launch.py
 *   srv/d1/  the one storage device (needs user xattrs: ext4, xfs, btrfs)
 *   log/  proxy.log, account.log, container.log, object.log, memcached.log (stderr of each),
 *         access.log (the proxy's access log only; see requests())
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { S3Client, CreateBucketCommand, type S3ClientConfig } from '@aws-sdk/client-s3';
import { accepts, freePort } from './net';

// The SDK's notice that its 2027 releases will need Node 22 (see daemon/sync/s3.transport.ts) would print in every test run.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

/** Debian's python (swift is in its dist-packages), never a pyenv or venv shim found on PATH. */
export const PYTHON = '/usr/bin/python3';
export const MEMCACHED = ['/usr/bin/memcached', '/usr/local/bin/memcached'].find((p) => fs.existsSync(p)) ?? '/usr/bin/memcached';

const S3API_MODULE = '/usr/lib/python3/dist-packages/swift/common/middleware/s3api/s3api.py';

const SWIFT_SERVERS = ['account', 'container', 'object', 'proxy'] as const;
type SwiftServer = (typeof SWIFT_SERVERS)[number];
type Server = SwiftServer | 'memcached';
const ALL_SERVERS: readonly Server[] = [...SWIFT_SERVERS, 'memcached'];

const ACCOUNT = 'test';
const USER = 'tester';
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

export interface S3Options {
  /** Folder of data, configs and logs; kept between startAgain()s. */
  dir: string;
  /** The S3 (proxy) port; a free one by default. The other four are always free ones. */
  port?: number;
  /** The secret key of `test:tester`; 'testing' by default. */
  secret?: string;
}

export interface S3Ports {
  proxy: number;
  account: number;
  container: number;
  object: number;
  memcached: number;
}

/** One client-facing S3 request, from the proxy's access log. */
export interface S3Request {
  method: string;
  /** Path as the client sent it, percent-decoded: `/bucket/key` (path style); `/bucket/` for bucket requests. */
  path: string;
  /** Query string as the client sent it (still encoded), without '?': `partNumber=2&uploadId=...&x-id=UploadPart`, or ''. */
  query: string;
  /** The same, parsed: `params.get('partNumber')`. */
  params: URLSearchParams;
  status: number;
  /** First path segment, or '' for service-level requests (ListBuckets). */
  bucket: string;
  /** The rest of the path after the bucket, or ''. */
  key: string;
  bytesReceived: number;
  bytesSent: number;
  /** Swift's transaction id, also in the x-amz-request-id response header. */
  transactionId: string;
}

/**
 * Python launcher for a Swift WSGI server. Equivalent to `/usr/bin/swift-X-server CONF -v`,
 * except that (1) swift.conf (hash prefix + storage policy) is read from our etc/ instead of
 * the hard-coded /etc/swift/swift.conf, (2) there is no syslog (no /dev/log here, and Swift
 * would fall back to UDP :514): logs go to stderr only (verbose=True), and (3) with a 4th
 * argument, the proxy's access logger ("proxy-access", used by both proxy-logging instances)
 * also writes its lines, and only them, to that file.
 */
const LAUNCHER = `import logging, sys
import swift.common.utils as u
u.SWIFT_CONF_FILE = sys.argv[1]
class NoSyslog(logging.Handler):
    def __init__(self, *a, **kw): logging.Handler.__init__(self)
    def emit(self, record): pass
u.ThreadSafeSysLogHandler = NoSyslog
if len(sys.argv) > 4:
    # get_logger() only ever removes the handlers it added itself, so this one stays.
    access = logging.FileHandler(sys.argv[4], mode='a', encoding='utf-8')
    access.setFormatter(logging.Formatter('%(message)s'))
    logging.getLogger('proxy-access').addHandler(access)
from swift.common.wsgi import run_wsgi
sys.exit(run_wsgi(sys.argv[2], sys.argv[3], verbose=True))
`;

/**
 * Run once per start(), in one Python process (0.5 s instead of ~4 s for nine swift-ring-builder
 * runs and a probe): (1) checks that the device folder takes user.* xattrs, where Swift stores
 * object metadata (exit 3 if not); (2) with ports, builds the three rings: 1 replica, 1 device
 * "d1", part power 8, the same as `swift-ring-builder X.builder create 8 1 1`, `add
 * r1z1-127.0.0.1:PORT/d1 100`, `rebalance`.
 */
const PREPARE = `import os, sys
device, etc, ports = sys.argv[1], sys.argv[2], sys.argv[3:]
probe = os.path.join(device, '.xattr-probe')
open(probe, 'w').close()
try:
    os.setxattr(probe, 'user.swift.probe', b'1')
except OSError as e:
    sys.stderr.write('%s\\n' % e)
    sys.exit(3)
finally:
    os.remove(probe)
if ports:
    from swift.common.ring import RingBuilder
    for name, port in zip(('account', 'container', 'object'), map(int, ports)):
        b = RingBuilder(8, 1, 1)
        b.add_dev({'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': port,
                   'replication_ip': '127.0.0.1', 'replication_port': port,
                   'device': 'd1', 'weight': 100, 'meta': ''})
        b.rebalance()
        b.save('%s/%s.builder' % (etc, name))
        b.get_ring().save('%s/%s.ring.gz' % (etc, name))
`;

export class TestS3 {
  readonly dir: string;
  readonly port: number;
  readonly ports: Readonly<S3Ports>;
  readonly endpoint: string;
  readonly region = 'us-east-1';
  readonly accessKeyId = `${ACCOUNT}:${USER}`;
  readonly secretAccessKey: string;
  #processes = new Map<Server, ChildProcess>();
  /** Process group ids (= the pids of our direct children, each started in its own session). */
  #groups = new Set<number>();
  #stopping: Promise<void> | null = null;

  private constructor(dir: string, ports: S3Ports, secret: string) {
    this.dir = dir;
    this.ports = ports;
    this.port = ports.proxy;
    this.endpoint = `http://127.0.0.1:${ports.proxy}`;
    this.secretAccessKey = secret;
  }

  /** null when the Debian packages this needs are installed, else what to install. */
  static available(): string | null {
    const missing: string[] = [];
    // Where Debian's package puts it (no Python start-up); else ask Python itself (0.5 s).
    if (!(fs.existsSync(PYTHON) && fs.existsSync(S3API_MODULE))) {
      try {
        execFileSync(PYTHON, ['-c', 'import swift.common.middleware.s3api'], { stdio: 'ignore', timeout: 20_000 });
      } catch {
        missing.push('python3-swift');
      }
    }
    if (!fs.existsSync(MEMCACHED)) missing.push('memcached');
    return missing.length ? `the loopback S3 server needs the Debian package(s) ${missing.join(' and ')} (apt-get install ${missing.join(' ')}; see scripts/test-packages.txt)` : null;
  }

  static async start(options: S3Options): Promise<TestS3> {
    const unavailable = TestS3.available();
    if (unavailable) throw new Error(unavailable);
    // It goes into a paste.deploy config line (ConfigParser interpolation, space-separated groups).
    if (options.secret !== undefined && !/^[\x21-\x24\x26-\x7e]+$/.test(options.secret)) throw new Error('the S3 secret must be printable ASCII without spaces or %');
    fs.mkdirSync(options.dir, { recursive: true });
    // A port picked free can be taken by someone else before Swift binds it (Swift would then
    // retry bind() for 30 s): check right before the start, and pick again if we chose them.
    for (let attempt = 1; ; attempt++) {
      const ports = await pickPorts(options.port);
      const busy = await busyPorts(Object.values(ports));
      if (busy.length) {
        if (options.port !== undefined && busy.includes(options.port)) throw new Error(`S3 port ${options.port} is already in use`);
        if (attempt < 5) continue;
        throw new Error(`could not find free ports for the S3 server (busy: ${busy.join(', ')})`);
      }
      const s3 = new TestS3(options.dir, ports, options.secret ?? 'testing');
      s3.#prepare();
      await s3.startAgain();
      return s3;
    }
  }

  get running(): boolean {
    return this.#processes.size > 0;
  }

  /** Every live process of the servers (parents and their workers), from /proc by process group. */
  get pids(): number[] {
    return processesInGroups([...this.#groups]);
  }

  /** Everything the servers wrote to stderr so far (Swift's own log, access lines included), one section each. */
  get log(): string {
    return ALL_SERVERS.map((s) => `==> ${s}.log <==\n${this.logOf(s)}`).join('\n');
  }

  logOf(server: Server): string {
    const file = this.#logFile(server);
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  }

  get accessLogFile(): string {
    return path.join(this.dir, 'log', 'access.log');
  }

  /**
   * The client-facing S3 requests the proxy served so far (across restarts), oldest first.
   *
   * Parsed from log/access.log, which holds only the "proxy-access" logger's lines. The
   * pipeline has two proxy-logging instances, around s3api; the left one (before s3api)
   * marks the WSGI environ as logged (swift.proxy_access_log_made), and s3api's backend
   * requests are made on copies of that environ, so each S3 request is logged once, by the
   * left instance, with the S3 path and query as the client sent them (path_qs, quoted once
   * more: `%3F` is the '?', `%2520` a space the client sent as `%20`), e.g. an UploadPart:
   *   127.0.0.1 127.0.0.1 06/Dec/2026/06/31/05 PUT /bkt/v.mp4%3FpartNumber%3D1%26uploadId%3DMTU3...%26x-id%3DUploadPart HTTP/1.0 200 - aws-sdk-js/3.1177.0%20ua/2.1%20... - 5242880 - - txa4bf...-006b150129 - 0.0403 - - 1796538665.741874695 1796538665.782179356 0
   * and, from the right instance, a subrequest of the CompleteMultipartUpload (source SLO):
   *   - - 06/Dec/2026/06/31/05 HEAD /v1/AUTH_test/bkt%252Bsegments/v.mp4/MTU3.../2 HTTP/1.0 200 - aws-sdk-js/...%20SLO%20MultipartPUT - - - - tx554d... - 0.0024 SLO - 1796538665.837673426 1796538665.840108633 0
   * Fields (Swift's default log_msg_template, each URL-quoted so that a space splits them):
   *   client_ip remote_addr datetime method path protocol status referer user_agent
   *   auth_token bytes_recvd bytes_sent client_etag transaction_id headers request_time
   *   source log_info start_time end_time policy_index
   * Lines whose `source` is set are subrequests that middlewares (s3api's multipart work on
   * `<bucket>+segments`, slo, copy...) made with a fresh environ: the right instance logs
   * those with their Swift path (/v1/AUTH_test/...). They are left out here.
   */
  requests(): S3Request[] {
    if (!fs.existsSync(this.accessLogFile)) return [];
    const out: S3Request[] = [];
    for (const line of fs.readFileSync(this.accessLogFile, 'utf8').split('\n')) {
      const f = line.split(' ');
      if (f.length < 21) continue;
      const [method, rawPath, status, bytesReceived, bytesSent, transactionId, source] = [f[3]!, f[4]!, f[6]!, f[10]!, f[11]!, f[13]!, f[16]!];
      if (source !== '-') continue;
      // The logged path is req.path_qs (already percent-encoded) quoted once more by the log formatter.
      const pathQs = safeDecode(rawPath);
      const q = pathQs.indexOf('?');
      const p = safeDecode(q < 0 ? pathQs : pathQs.slice(0, q));
      const [, bucket = '', ...rest] = p.split('/');
      out.push({
        method,
        path: p,
        query: q < 0 ? '' : pathQs.slice(q + 1),
        params: new URLSearchParams(q < 0 ? '' : pathQs.slice(q + 1)),
        status: Number(status),
        bucket,
        key: rest.join('/'),
        bytesReceived: bytesReceived === '-' ? 0 : Number(bytesReceived),
        bytesSent: bytesSent === '-' ? 0 : Number(bytesSent),
        transactionId,
      });
    }
    return out;
  }

  /**
   * Waits until at least `count` requests match (their log line is written once the proxy has
   * sent the whole response, so it can in theory trail the client's await by a moment), and
   * returns the matching ones.
   */
  async waitForRequests(match: (r: S3Request) => boolean, count = 1, timeoutMs = 5_000): Promise<S3Request[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.requests().filter(match);
      if (found.length >= count) return found;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${count} matching S3 request(s); ${found.length} so far`);
      await sleep(25);
    }
  }

  /**
   * An AWS SDK v3 client for this server, with the settings Swift 2.30's s3api needs: path
   * style; no flexible checksums (SDK >= 3.729 would send aws-chunked bodies, refused with 501);
   * Content-MD5 on DeleteObjects (required by s3api; the SDK sends a CRC32 instead).
   */
  client(overrides: Partial<S3ClientConfig> & { secretAccessKey?: string } = {}): S3Client {
    const { secretAccessKey = this.secretAccessKey, ...config } = overrides;
    const client = new S3Client({
      endpoint: this.endpoint,
      region: this.region,
      forcePathStyle: true,
      credentials: { accessKeyId: this.accessKeyId, secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...config,
    });
    addMd5ForDeleteObjects(client);
    return client;
  }

  async createBucket(name: string): Promise<void> {
    const client = this.client();
    try {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    } finally {
      client.destroy();
    }
  }

  /** (Re)starts every server on the same ports and data (after stop(): the end of an outage). */
  async startAgain(): Promise<void> {
    if (this.#stopping) await this.#stopping;
    if (this.#processes.size === ALL_SERVERS.length) return;
    if (this.#groups.size) await this.stop(); // some server died alone: start all afresh
    const started = Date.now();
    // Fail fast (Swift would retry bind() for 30 s) if someone took one of our ports meanwhile.
    for (let busy = await busyPorts(Object.values(this.ports)); busy.length; busy = await busyPorts(busy)) {
      if (Date.now() - started > 5_000) throw new Error(`port(s) ${busy.join(', ')} of the S3 test server are in use by another process`);
      await sleep(100);
    }
    const etc = path.join(this.dir, 'etc');
    const user = currentUser();
    this.#spawn('memcached', MEMCACHED, ['-l', '127.0.0.1', '-p', String(this.ports.memcached), '-U', '0', '-m', '64', '-c', '1024', '-u', user]);
    for (const s of SWIFT_SERVERS) {
      const args = [path.join(etc, 'launch.py'), path.join(etc, 'swift.conf'), path.join(etc, `${s}-server.conf`), `${s}-server`];
      if (s === 'proxy') args.push(this.accessLogFile);
      this.#spawn(s, PYTHON, args);
    }
    try {
      for (;;) {
        const dead = ALL_SERVERS.find((s) => !this.#processes.has(s));
        if (dead) throw new Error(`the S3 test server's ${dead} died at start-up; the end of its log (${this.#logFile(dead)}):\n${tail(this.logOf(dead), 30)}`);
        if (await this.#ready()) return;
        if (Date.now() - started > READY_TIMEOUT_MS) {
          throw new Error(`the S3 test server was not ready after ${READY_TIMEOUT_MS / 1000} s; the end of its logs:\n${ALL_SERVERS.map((s) => `==> ${s} <==\n${tail(this.logOf(s), 10)}`).join('\n')}`);
        }
        await sleep(100);
      }
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  /**
   * Stops every server, as when the S3 service goes away: SIGTERM to all at once (each Swift
   * parent then kills its workers), up to 10 s for their process groups to empty, then SIGKILL
   * to what is left of each group. Data stays; idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop().finally(() => (this.#stopping = null));
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const children = [...this.#processes.values()];
    // Every group started since the last stop, also of a server that died alone (its workers may live on).
    const groups = [...this.#groups];
    for (const pgid of groups) signalGroup(pgid, 'SIGTERM');
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (processesInGroups(groups).length && Date.now() < deadline) await sleep(25);
    if (processesInGroups(groups).length) {
      for (const pgid of groups) signalGroup(pgid, 'SIGKILL');
      while (processesInGroups(groups).length && Date.now() < deadline + 5_000) await sleep(25);
    }
    // Our direct children: wait until node has reaped them, so that `running` is exact.
    await Promise.all(children.filter((c) => c.pid).map((c) => (c.exitCode !== null || c.signalCode !== null ? null : new Promise((r) => c.once('exit', r)))));
    this.#processes.clear();
    this.#groups.clear();
  }

  #logFile(server: Server): string {
    return path.join(this.dir, 'log', `${server}.log`);
  }

  #spawn(server: Server, command: string, args: string[]): void {
    const fd = fs.openSync(this.#logFile(server), 'a');
    try {
      // detached: its own session and process group (the Swift server's setsid() then fails
      // harmlessly), so that stop() can signal the server and its workers together.
      const child = spawn(command, args, { stdio: ['ignore', fd, fd], detached: true });
      const gone = () => {
        if (this.#processes.get(server) === child && !this.#stopping) this.#processes.delete(server);
      };
      child.on('error', (e) => {
        fs.appendFileSync(this.#logFile(server), `spawn ${command}: ${e.message}\n`);
        if (!child.pid) gone();
      });
      child.on('exit', gone);
      this.#processes.set(server, child);
      if (child.pid) this.#groups.add(child.pid);
    } finally {
      fs.closeSync(fd);
    }
  }

  async #ready(): Promise<boolean> {
    const swift = SWIFT_SERVERS.map(async (s) => {
      try {
        const res = await fetch(`http://127.0.0.1:${this.ports[s]}/healthcheck`, { signal: AbortSignal.timeout(1_000) });
        await res.arrayBuffer();
        return res.ok;
      } catch {
        return false;
      }
    });
    const results = await Promise.all([...swift, accepts(this.ports.memcached)]);
    return results.every(Boolean);
  }

  /** Folders, xattr check, configs and rings. Idempotent; rings only rebuilt when the ports change. */
  #prepare(): void {
    const etc = path.join(this.dir, 'etc');
    const devices = path.join(this.dir, 'srv');
    for (const d of [etc, path.join(devices, 'd1'), path.join(this.dir, 'log')]) fs.mkdirSync(d, { recursive: true });
    const user = currentUser();
    const { ports } = this;
    const write = (name: string, lines: string[]) => fs.writeFileSync(path.join(etc, name), `${lines.join('\n')}\n`);
    write('launch.py', [LAUNCHER]);
    write('swift.conf', [
      '[swift-hash]',
      'swift_hash_path_prefix = s3test-prefix',
      'swift_hash_path_suffix = s3test-suffix',
      '[storage-policy:0]',
      'name = Policy-0',
      'default = yes',
      '[swift-constraints]',
      '# S3 single PUT limit is 5 GiB; Swift default max_file_size is the same',
      'max_file_size = 5368709122',
    ]);
    const common = (port: number) => [
      '[DEFAULT]',
      'bind_ip = 127.0.0.1',
      `bind_port = ${port}`,
      // one worker process per server (the parent forks it); 0 would serve in the parent
      'workers = 1',
      `user = ${user}`,
      `swift_dir = ${etc}`,
      'log_level = INFO',
    ];
    for (const s of ['account', 'container', 'object'] as const) {
      write(`${s}-server.conf`, [
        ...common(ports[s]),
        `devices = ${devices}`,
        'mount_check = false',
        '',
        '[pipeline:main]',
        `pipeline = healthcheck ${s}-server`,
        '',
        `[app:${s}-server]`,
        `use = egg:swift#${s}`,
        // object server: wait up to 10 s (default 1 s) for the container listing update, so that
        // a LIST right after a PUT sees the object even on a loaded CI box (no object-updater
        // daemon runs here to retry failed updates)
        ...(s === 'object' ? ['container_update_timeout = 10'] : []),
        '',
        '[filter:healthcheck]',
        'use = egg:swift#healthcheck',
      ]);
    }
    // s3api BEFORE tempauth (Swift's docs for s3api + tempauth), slo after them: multipart
    // uploads are stored as SLO manifests with their parts in "<bucket>+segments".
    // healthcheck sits before the first proxy-logging, so health checks are not in the access log.
    write('proxy-server.conf', [
      ...common(ports.proxy),
      '',
      '[pipeline:main]',
      'pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo versioned_writes symlink proxy-logging proxy-server',
      '',
      '[app:proxy-server]',
      'use = egg:swift#proxy',
      'account_autocreate = true',
      '',
      '[filter:s3api]',
      'use = egg:swift#s3api',
      `location = ${this.region}`,
      '# AWS allows 10000 parts; Swift default is 1000 (must match slo below)',
      'max_upload_part_num = 10000',
      '',
      '[filter:tempauth]',
      'use = egg:swift#tempauth',
      `user_${ACCOUNT}_${USER} = ${this.secretAccessKey} .admin`,
      '',
      '[filter:cache]',
      'use = egg:swift#memcache',
      `memcache_servers = 127.0.0.1:${ports.memcached}`,
      '',
      '[filter:slo]',
      'use = egg:swift#slo',
      'max_manifest_segments = 10000',
      '',
      ...['catch_errors', 'gatekeeper', 'healthcheck', 'listing_formats', 'copy', 'dlo', 'versioned_writes', 'symlink'].flatMap((f) => [`[filter:${f}]`, `use = egg:swift#${f}`]),
      '[filter:proxy-logging]',
      'use = egg:swift#proxy_logging',
    ]);
    // Rings hold the backend ports: rebuilt only when these change (never by startAgain()).
    const stampFile = path.join(etc, 'rings.stamp');
    const stamp = `${ports.account} ${ports.container} ${ports.object}`;
    const rings = !fs.existsSync(stampFile) || fs.readFileSync(stampFile, 'utf8').trim() !== stamp;
    try {
      execFileSync(PYTHON, ['-c', PREPARE, path.join(devices, 'd1'), etc, ...(rings ? stamp.split(' ') : [])], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      const { status, stderr } = e as { status?: number; stderr?: Buffer };
      const why = stderr?.toString().trim() || String(e);
      if (status === 3) throw new Error(`the filesystem of ${devices} does not support user xattrs, which Swift needs (${why}); give the S3 test server a folder on ext4, xfs or btrfs`);
      throw new Error(`preparing the S3 test server in ${this.dir} failed: ${why}`);
    }
    if (rings) fs.writeFileSync(stampFile, `${stamp}\n`);
  }
}

/** Swift 2.30's s3api requires Content-MD5 on DeleteObjects; SDK >= 3.729 sends a CRC32 checksum instead (400 InvalidRequest). */
export function addMd5ForDeleteObjects(client: S3Client): S3Client {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown } | undefined;
      if (context.commandName === 'DeleteObjectsCommand' && request?.headers && (typeof request.body === 'string' || request.body instanceof Uint8Array)) {
        request.headers['content-md5'] = crypto.createHash('md5').update(request.body).digest('base64');
      }
      return next(args);
    },
    { step: 'build', name: 'md5ForDeleteObjects' },
  );
  return client;
}

async function pickPorts(proxy: number | undefined): Promise<S3Ports> {
  const taken = new Set<number>(proxy === undefined ? [] : [proxy]);
  const next = async () => {
    for (;;) {
      const p = await freePort();
      if (!taken.has(p)) {
        taken.add(p);
        return p;
      }
    }
  };
  return { proxy: proxy ?? (await next()), account: await next(), container: await next(), object: await next(), memcached: await next() };
}

/** The ports among `ports` that cannot be bound on 127.0.0.1 right now. */
async function busyPorts(ports: number[]): Promise<number[]> {
  const results = await Promise.all(
    ports.map(
      (port) =>
        new Promise<number | null>((resolve) => {
          const server = net.createServer();
          server.once('error', () => resolve(port));
          server.listen(port, '127.0.0.1', () => server.close(() => resolve(null)));
        }),
    ),
  );
  return results.filter((p): p is number => p !== null);
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // group already gone
  }
}

/** Live (not zombie) processes whose process group is one of `groups`, from /proc. */
function processesInGroups(groups: number[]): number[] {
  const wanted = new Set(groups);
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      // after "(comm) ": state ppid pgrp ...
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state !== 'Z' && state !== 'X' && wanted.has(Number(pgrp))) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function currentUser(): string {
  return execFileSync('id', ['-un']).toString().trim();
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
