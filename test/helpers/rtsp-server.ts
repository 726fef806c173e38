/**
 * A small RTSP server for tests, standing in for an IP camera on loopback.
 *
 * ffmpeg cannot serve a pulling client itself: its `-rtsp_flags listen` mode only
 * accepts a pushed stream (ANNOUNCE/RECORD) and answers a DESCRIBE with "Unexpected
 * command". So one ffmpeg encodes a real RTP stream from a test source to a loopback
 * UDP port (`RtpSource`), and `RtspServer` speaks the RTSP a camera speaks: OPTIONS,
 * DESCRIBE (the SDP ffmpeg wrote), SETUP (TCP interleaved or UDP), PLAY, TEARDOWN,
 * then relays every RTP packet to the client. Options add the failures a camera has:
 * basic authentication, an unknown path (404), and a server that never answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** One ffmpeg encoding a 10 fps test picture into RTP packets, shared by any number of servers. */
export class RtpSource {
  readonly #ffmpeg: ChildProcess;
  readonly #socket: dgram.Socket;
  readonly #dir: string;
  readonly #listeners = new Set<(packet: Buffer) => void>();

  private constructor(readonly sdp: string, ffmpeg: ChildProcess, socket: dgram.Socket, dir: string) {
    this.#ffmpeg = ffmpeg;
    this.#socket = socket;
    this.#dir = dir;
    socket.on('message', (packet) => this.#listeners.forEach((listener) => listener(packet)));
  }

  static async start(options: { width?: number; height?: number } = {}): Promise<RtpSource> {
    const { width = 640, height = 360 } = options;
    const socket = dgram.createSocket('udp4');
    socket.bind(0, '127.0.0.1');
    await once(socket, 'listening');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lapsebox-rtp-'));
    const sdpFile = path.join(dir, 'stream.sdp');
    const ffmpeg = spawn(
      'ffmpeg',
      [
        '-hide_banner', '-nostdin', '-loglevel', 'error',
        '-re', '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=10`,
        // A key frame every second, so a client that joins late decodes within a second.
        '-c:v', 'mpeg4', '-g', '10', '-q:v', '5',
        // No RTCP: nothing listens on the port after the RTP one.
        '-f', 'rtp', '-rtpflags', 'skip_rtcp', '-sdp_file', sdpFile,
        `rtp://127.0.0.1:${socket.address().port}`,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'], detached: true },
    );
    try {
      return new RtpSource(await waitForSdp(sdpFile, ffmpeg), ffmpeg, socket, dir);
    } catch (err) {
      killGroup(ffmpeg);
      socket.close();
      fs.rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Calls `listener` with every RTP packet until the returned function is called. */
  subscribe(listener: (packet: Buffer) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async stop(): Promise<void> {
    if (this.#ffmpeg.exitCode === null && this.#ffmpeg.signalCode === null) {
      const exited = once(this.#ffmpeg, 'exit');
      killGroup(this.#ffmpeg);
      await exited;
    }
    this.#socket.close();
    fs.rmSync(this.#dir, { recursive: true, force: true });
  }
}

export interface RtspServerOptions {
  /** The stream's path; other paths get 404 Not Found. Default '/live'. */
  path?: string;
  /** Requires HTTP basic authentication with these credentials. */
  credentials?: { username: string; password: string };
  /** Accepts connections and reads requests but never answers. */
  hang?: boolean;
}

export interface RtspRequest {
  method: string;
  uri: string;
  headers: Record<string, string>;
}

export class RtspServer {
  /** Every request received, in order, for assertions on what the client asked. */
  readonly requests: RtspRequest[] = [];
  readonly #server: net.Server;
  /** Sends RTP to clients that asked for UDP; its port is the `server_port` in SETUP replies. */
  readonly #udp: dgram.Socket;
  readonly #source: RtpSource | undefined;
  readonly #options: RtspServerOptions;
  readonly #sockets = new Set<net.Socket>();

  private constructor(readonly port: number, server: net.Server, udp: dgram.Socket, source: RtpSource | undefined, options: RtspServerOptions) {
    this.#server = server;
    this.#udp = udp;
    this.#source = source;
    this.#options = options;
    server.on('connection', (socket) => this.#accept(socket));
  }

  /** Starts a server; `source` may be omitted for a server that hangs. */
  static async start(source: RtpSource | undefined, options: RtspServerOptions = {}): Promise<RtspServer> {
    if (!source && !options.hang) throw new Error('RtspServer: a source is needed unless the server hangs');
    const server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const udp = dgram.createSocket('udp4');
    udp.bind(0, '127.0.0.1');
    await once(udp, 'listening');
    return new RtspServer((server.address() as net.AddressInfo).port, server, udp, source, options);
  }

  get path(): string {
    return this.#options.path ?? '/live';
  }

  /** The URL of the stream, or of another path, with optional credentials. */
  url(options: { path?: string; username?: string; password?: string } = {}): string {
    const auth = options.username !== undefined ? `${encodeURIComponent(options.username)}:${encodeURIComponent(options.password ?? '')}@` : '';
    return `rtsp://${auth}127.0.0.1:${this.port}${options.path ?? this.path}`;
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    this.#udp.close();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: net.Socket): void {
    this.#sockets.add(socket);
    const session = new Session(socket, this.#udp);
    socket.on('close', () => {
      this.#sockets.delete(socket);
      session.stop();
    });
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (let message = nextMessage(buffered); message; message = nextMessage(buffered)) {
        buffered = buffered.subarray(message.length);
        if (message.request) this.#handle(session, message.request);
      }
    });
  }

  #handle(session: Session, request: RtspRequest): void {
    this.requests.push(request);
    if (this.#options.hang) return;
    const reply = (status: string, headers: Record<string, string> = {}, body = ''): void =>
      session.reply(request.headers['cseq'] ?? '0', status, headers, body);

    if (request.method === 'OPTIONS') return reply('200 OK', { Public: 'OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN' });
    if (!this.#authorized(request)) return reply('401 Unauthorized', { 'WWW-Authenticate': 'Basic realm="lapsebox-test"' });
    if (!this.#isStreamUri(request.uri) || !this.#source) return reply('404 Not Found');
    switch (request.method) {
      case 'DESCRIBE':
        return reply('200 OK', { 'Content-Type': 'application/sdp', 'Content-Base': `${stripAuth(request.uri).replace(/\/$/, '')}/` }, describeSdp(this.#source.sdp));
      case 'SETUP': {
        const transport = session.setup(request.headers['transport'] ?? '');
        return transport ? reply('200 OK', { Transport: transport, Session: `${session.id};timeout=60` }) : reply('461 Unsupported Transport');
      }
      case 'PLAY':
        session.play(this.#source);
        return reply('200 OK', { Session: session.id, Range: 'npt=0.000-' });
      case 'TEARDOWN':
        session.stop();
        return reply('200 OK', { Session: session.id });
      default:
        return reply('405 Method Not Allowed');
    }
  }

  #authorized(request: RtspRequest): boolean {
    const credentials = this.#options.credentials;
    if (!credentials) return true;
    const expected = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
    return request.headers['authorization'] === expected;
  }

  /** The stream URI or a track below it (SETUP names `<stream>/trackID=0`). */
  #isStreamUri(uri: string): boolean {
    let pathname: string;
    try {
      pathname = new URL(uri).pathname;
    } catch {
      return false;
    }
    return pathname === this.path || pathname.startsWith(`${this.path}/`);
  }
}

/** One client connection: how it wants RTP delivered, and the relay once it plays. */
class Session {
  readonly id = String(Math.floor(Math.random() * 1e9));
  readonly #socket: net.Socket;
  readonly #udp: dgram.Socket;
  #deliver: ((packet: Buffer) => void) | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(socket: net.Socket, udp: dgram.Socket) {
    this.#socket = socket;
    this.#udp = udp;
  }

  reply(cseq: string, status: string, headers: Record<string, string>, body: string): void {
    const lines = [`RTSP/1.0 ${status}`, `CSeq: ${cseq}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    if (body) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
    this.#socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
  }

  /** Chooses the delivery a Transport header asks for; returns the reply's Transport, or undefined. */
  setup(transport: string): string | undefined {
    if (/RTP\/AVP\/TCP/i.test(transport)) {
      const channel = Number(/interleaved=(\d+)/.exec(transport)?.[1] ?? 0);
      this.#deliver = (packet) => this.#socket.write(interleaved(channel, packet));
      return `RTP/AVP/TCP;unicast;interleaved=${channel}-${channel + 1}`;
    }
    const ports = /client_port=(\d+)-(\d+)/.exec(transport);
    if (!ports) return undefined;
    const clientPort = Number(ports[1]);
    const serverPort = this.#udp.address().port;
    this.#deliver = (packet) => this.#udp.send(packet, clientPort, '127.0.0.1');
    return `RTP/AVP;unicast;client_port=${ports[1]}-${ports[2]};server_port=${serverPort}-${serverPort + 1}`;
  }

  play(source: RtpSource): void {
    const deliver = this.#deliver;
    if (!deliver || this.#unsubscribe) return;
    this.#unsubscribe = source.subscribe((packet) => {
      if (!this.#socket.destroyed) deliver(packet);
    });
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }
}

/**
 * The next complete message in a connection's bytes: a request (headers, and a body by
 * Content-Length), or an interleaved `$` frame the client sends (RTCP receiver reports).
 */
function nextMessage(data: Buffer): { length: number; request?: RtspRequest } | undefined {
  if (data.length === 0) return undefined;
  if (data[0] === 0x24) {
    if (data.length < 4) return undefined;
    const length = 4 + data.readUInt16BE(2);
    return data.length >= length ? { length } : undefined;
  }
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [requestLine = '', ...headerLines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = end + 4 + Number(headers['content-length'] ?? 0);
  if (data.length < length) return undefined;
  const [method = '', uri = ''] = requestLine.split(' ');
  return { length, request: { method, uri, headers } };
}

/** The SDP a camera serves: no address or port (they come with SETUP) and a control URL per track. */
function describeSdp(sdp: string): string {
  const lines = sdp
    .split(/\r?\n/)
    .filter((line) => line !== '')
    .map((line) => (line.startsWith('c=') ? 'c=IN IP4 0.0.0.0' : line.replace(/^m=(\w+) \d+/, 'm=$1 0')));
  const media = lines.findIndex((line) => line.startsWith('m='));
  lines.splice(media + 1, 0, 'a=control:trackID=0');
  lines.splice(media, 0, 'a=control:*');
  return `${lines.join('\r\n')}\r\n`;
}

function interleaved(channel: number, packet: Buffer): Buffer {
  const header = Buffer.from([0x24, channel, 0, 0]);
  header.writeUInt16BE(packet.length, 2);
  return Buffer.concat([header, packet]);
}

function stripAuth(uri: string): string {
  return uri.replace(/^(rtsps?:\/\/)[^@/]*@/, '$1');
}

async function waitForSdp(file: string, ffmpeg: ChildProcess): Promise<string> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (ffmpeg.exitCode !== null) throw new Error(`RtpSource: ffmpeg exited with code ${ffmpeg.exitCode}`);
    const sdp = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (/^m=video /m.test(sdp)) return sdp;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('RtpSource: ffmpeg wrote no SDP within 10 s');
}

function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
