import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { stringify } from 'yaml';

export const ROOT = path.join(__dirname, '..', '..');
export const CLI = path.join(ROOT, 'dist', 'daemon', 'main.js');

/** A fresh temporary folder, removed by the returned function. */
export function tempDir(prefix = 'lapsebox-test-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export { freePort } from '../../scripts/lib/net';

export interface TestConfigOptions {
  dir: string;
  port: number;
  sources?: Record<string, unknown>[];
  extra?: Record<string, unknown>;
}

/** Writes a config file into `dir` and returns its path. */
export function writeConfig(options: TestConfigOptions): string {
  const config = {
    appliance: { id: 'test-box', name: 'Test box', timezone: 'Europe/Paris', location: { latitude: 48.85, longitude: 2.35 } },
    storage: { dataDir: 'data' },
    web: { host: '127.0.0.1', port: options.port },
    sources: options.sources ?? [
      { id: 'cam', name: 'Test camera', camera: { driver: 'testpattern', width: 320, height: 240, timeout: '10s' }, schedule: { every: '1s' }, public: { enabled: true } },
    ],
    ...options.extra,
  };
  const file = path.join(options.dir, 'lapsebox.yaml');
  fs.writeFileSync(file, stringify(config));
  return file;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The unprivileged user for tests that check what a user without rights is told (the tests run as root). */
export const NOBODY = { uid: 65534, gid: 65534 };

/** Runs the compiled `lapsebox` command (as another user with `uid` and `gid`). */
export function cli(args: string[], options: { input?: string; env?: NodeJS.ProcessEnv; uid?: number; gid?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const as = options.uid === undefined ? {} : { uid: options.uid, gid: options.gid ?? options.uid };
    const child = spawn(process.execPath, [CLI, ...args], { ...as, env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** Polls until `check` returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
