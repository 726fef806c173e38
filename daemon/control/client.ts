/**
 * Talks to a running daemon over its control socket. `null` means no daemon is
 * listening there, and the command works on the data folder directly.
 */
import http from 'node:http';

export interface ControlResponse {
  status: number;
  body: unknown;
}

export function controlRequest(socketPath: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, timeoutMs = 120_000, body?: unknown): Promise<ControlResponse | null> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = { accept: 'application/json' };
    if (payload) Object.assign(headers, { 'content-type': 'application/json', 'content-length': payload.length });
    const req = http.request({ socketPath, method, path, headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as unknown) : null });
        } catch {
          reject(new Error(`the daemon answered ${res.statusCode} with something that is not JSON`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`the daemon did not answer within ${timeoutMs / 1000} s`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') resolve(null);
      else reject(err);
    });
    req.end(payload);
  });
}
