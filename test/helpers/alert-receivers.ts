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
}

/** An SMTP server on loopback without TLS; with `users`, a login is required and checked. */
export async function startSmtp(users?: Record<string, string>) {
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
        mails.push({ from: mailFrom ? mailFrom.address : '', to: rcptTo.map((a) => a.address), ...parseMail(Buffer.concat(chunks).toString('utf8')) });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.server.address() as AddressInfo;
  return { port, mails, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
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

