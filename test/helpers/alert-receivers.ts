/**
 * The far ends of the alert channels, on loopback: an HTTP server standing for
 * the webhook receiver, and a real SMTP server (smtp-server) that keeps the mails.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { AlertMessage } from '../../daemon/domain/alerts';

export interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  status: number | 'hang';
}

export type Answer = { status: number; body?: string; headers?: Record<string, string>; delayMs?: number } | 'hang';

/** An HTTP server on loopback standing for the webhook receiver; `answer` decides each reply (n counts from 1). */
export async function startReceiver(port = 0) {
  const requests: Received[] = [];
  let answer: (n: number, req: http.IncomingMessage) => Answer = () => ({ status: 200, body: 'ok' });
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const a = answer(requests.length + 1, req);
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, status: a === 'hang' ? 'hang' : a.status });
      if (a === 'hang') return;
      setTimeout(() => {
        res.writeHead(a.status, a.headers);
        res.end(a.body ?? '');
      }, a.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: actual } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${actual}/hook`,
    requests,
    answer: (fn: typeof answer) => (answer = fn),
    delivered: () => requests.filter((r) => r.status === 200).map((r) => (JSON.parse(r.body) as AlertMessage).topic),
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface Mail {
  from: string;
  to: string[];
  headers: Map<string, string>;
  body: string;
  /** The message as received, for the MIME parts (parseMime). */
  raw: string;
}

/** An SMTP server on loopback without TLS; with `users`, a login is required and checked. `port` 0: any free one. */
export async function startSmtp(users?: Record<string, string>, port = 0) {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: users === undefined,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, callback) {
      if (users && auth.username !== undefined && users[auth.username] === auth.password) callback(null, { user: auth.username });
      else callback(new Error('Invalid username or password'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const { mailFrom, rcptTo } = session.envelope;
        const raw = Buffer.concat(chunks).toString('utf8');
        mails.push({ from: mailFrom ? mailFrom.address : '', to: rcptTo.map((a) => a.address), ...parseMail(raw), raw });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  const { port: actual } = server.server.address() as AddressInfo;
  return { port: actual, mails, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Headers (unfolded, names in lower case) and the text body (quoted-printable decoded). */
export function parseMail(raw: string): { headers: Map<string, string>; body: string } {
  const split = raw.indexOf('\r\n\r\n');
  const headers = new Map<string, string>();
  for (const line of raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  let body = raw.slice(split + 4);
  if (headers.get('content-transfer-encoding') === 'quoted-printable') {
    const bytes = body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    body = Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return { headers, body: body.replace(/\r\n/g, '\n') };
}


/** One part of a MIME message: its headers (names in lower case), its decoded body, and the parts inside a multipart. */
export interface MimePart {
  headers: Map<string, string>;
  /** `text/html`, `multipart/related`... */
  type: string;
  params: Record<string, string>;
  body: Buffer;
  parts: MimePart[];
}

/** A MIME message read back as a tree (multipart bodies split on their boundary; base64 and quoted-printable decoded). */
export function parseMime(raw: string): MimePart {
  const split = raw.indexOf('\r\n\r\n');
  const head = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? '' : raw.slice(split + 4);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const [type = 'text/plain', ...rest] = (headers.get('content-type') ?? 'text/plain').split(';').map((s) => s.trim());
  const params: Record<string, string> = {};
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq > 0) params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  if (type.startsWith('multipart/') && params['boundary']) {
    const marker = `--${params['boundary']}`;
    const chunks = body.split(`\r\n${marker}`);
    // The first chunk is the preamble (it may start with the marker itself); the last ends with "--".
    const first = chunks[0]!.startsWith(marker) ? [chunks[0]!.slice(marker.length)] : [];
    const parts = [...first, ...chunks.slice(1)].filter((c) => !c.startsWith('--')).map((c) => parseMime(c.replace(/^\r\n/, '')));
    return { headers, type: type.toLowerCase(), params, body: Buffer.alloc(0), parts };
  }
  const encoding = (headers.get('content-transfer-encoding') ?? '').toLowerCase();
  const decoded =
    encoding === 'base64'
      ? Buffer.from(body.replace(/\s+/g, ''), 'base64')
      : encoding === 'quoted-printable'
        ? Buffer.from(body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1')
        : Buffer.from(body, 'utf8');
  return { headers, type: type.toLowerCase(), params, body: decoded, parts: [] };
}

/** The parts of a MIME tree that are not multiparts, in order. */
export function mimeLeaves(part: MimePart): MimePart[] {
  return part.parts.length === 0 ? [part] : part.parts.flatMap(mimeLeaves);
}
