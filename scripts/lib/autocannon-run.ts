/**
 * autocannon (programmatic API) in a child process of its own: the load generator
 * must not share the event loop of the server it measures, or every figure is
 * half the client's. The parent calls `runLoad`; this same file, forked, runs one
 * load and sends the summary back over IPC.
 *
 * Response bodies are dropped unread: autocannon 9 appends every body chunk to a
 * string (`req.body += data`, mcollina/autocannon#485 and #362, open), and
 * decoding binary bodies as UTF-8 caps it near 300 req/s on a 190 KB JPEG, where
 * Node's own client does ten times that: the figures would be the client's.
 */
import { fork } from 'node:child_process';
import autocannon from 'autocannon';

export interface LoadOptions {
  url: string;
  connections: number;
  durationSeconds: number;
  headers?: Record<string, string>;
}

export interface LoadResult {
  requestsPerSecond: number;
  /** Latency percentiles in ms, as autocannon measures them (per response). */
  p50Ms: number;
  p99Ms: number;
  responses: { '2xx': number; '3xx': number; '4xx': number; '5xx': number };
  errors: number;
  timeouts: number;
  /** Response bytes per second, headers included. */
  bytesPerSecond: number;
}

/** One autocannon run against `url`, from a child process. */
export function runLoad(options: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: LoadResult | undefined;
    child.once('message', (message) => {
      result = message as LoadResult;
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (result) resolve(result);
      else reject(new Error(`the autocannon child exited with code ${String(code)} and no result`));
    });
    child.send(options);
  });
}

async function load(options: LoadOptions): Promise<LoadResult> {
  const r = await autocannon({
    url: options.url,
    // Runs right after the client made its queue: bodies are not kept (byte counts still are).
    setupClient: (client) => {
      (client as unknown as { pipelinedRequests: { addBody: (data: Buffer) => void } }).pipelinedRequests.addBody = () => undefined;
    },
    connections: options.connections,
    duration: options.durationSeconds,
    ...(options.headers ? { headers: options.headers } : {}),
  });
  return {
    requestsPerSecond: r.requests.average,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    responses: { '2xx': r['2xx'], '3xx': r['3xx'], '4xx': r['4xx'], '5xx': r['5xx'] },
    errors: r.errors,
    timeouts: r.timeouts,
    bytesPerSecond: r.throughput.average,
  };
}

if (require.main === module) {
  process.once('message', (options) => {
    load(options as LoadOptions).then(
      (result) => process.send!(result, () => process.exit(0)),
      (err: unknown) => {
        process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
        process.exit(1);
      },
    );
  });
}
