/**
 * A real OpenSSH server on a loopback port, for the sync tests and the sync benchmark:
 * its own host key, client key and authorized_keys in a temporary folder. As root
 * the session runs as "nobody", so folder permissions on the server are real
 * (root would write anywhere); otherwise as the current user.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './net';
import { fingerprint } from '../../daemon/sync/sftp.transport';

export const SSHD = ['/usr/sbin/sshd', '/usr/bin/sshd'].find((p) => fs.existsSync(p)) ?? 'sshd';

export interface SshdOptions {
  port?: number;
  /** Folder of keys and config; a new temporary one by default. */
  dir: string;
  /**
   * Niceness of the server and its sessions (they inherit it). A benchmark of the box
   * sets one: a box's server is elsewhere, its work is not the box's.
   */
  niceness?: number;
}

export class TestSshd {
  readonly dir: string;
  readonly port: number;
  /** The user the client logs in as, and who owns `root`. */
  readonly username: string;
  /** Where uploads go: the target's remoteDir. */
  readonly root: string;
  readonly clientKey: string;
  #process: ChildProcess | null = null;
  readonly #niceness: number;

  private constructor(dir: string, port: number, niceness = 0) {
    this.dir = dir;
    this.port = port;
    this.#niceness = niceness;
    this.username = process.getuid?.() === 0 ? 'nobody' : os.userInfo().username;
    this.root = path.join(dir, 'remote');
    this.clientKey = path.join(dir, 'client_ed25519');
  }

  static async start(options: SshdOptions): Promise<TestSshd> {
    const sshd = new TestSshd(options.dir, options.port ?? (await freePort()), options.niceness);
    sshd.#prepare();
    await sshd.startAgain();
    return sshd;
  }

  get hostKeyFile(): string {
    return path.join(this.dir, 'host_ed25519');
  }

  /** The host key's fingerprint as `ssh-keygen -lf` prints it. */
  get hostKey(): string {
    return fingerprintOf(`${this.hostKeyFile}.pub`);
  }

  /** Everything sshd (and the SFTP sessions, at VERBOSE) logged so far. */
  get log(): string {
    return fs.existsSync(this.#logFile) ? fs.readFileSync(this.#logFile, 'utf8') : '';
  }

  get #logFile(): string {
    return path.join(this.dir, 'sshd.log');
  }

  get running(): boolean {
    return this.#process !== null;
  }

  /** The sync target of a config for this server. */
  target(id = 'hq', extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { id, type: 'sftp', host: '127.0.0.1', port: this.port, username: this.username, privateKey: this.clientKey, hostKey: this.hostKey, remoteDir: this.root, ...extra };
  }

  /** A new host key, as after a reinstall of the server; takes effect at the next start. */
  replaceHostKey(): void {
    fs.rmSync(this.hostKeyFile, { force: true });
    fs.rmSync(`${this.hostKeyFile}.pub`, { force: true });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', this.hostKeyFile]);
  }

  async startAgain(): Promise<void> {
    if (this.#process) return;
    // -E: every sshd process, the SFTP sessions included, appends to one log file.
    const before = this.log.length;
    const child = spawn(SSHD, ['-D', '-E', this.#logFile, '-f', path.join(this.dir, 'sshd_config')], { stdio: 'ignore', detached: true });
    this.#process = child;
    if (this.#niceness !== 0 && child.pid !== undefined) os.setPriority(child.pid, this.#niceness);
    child.on('exit', () => {
      if (this.#process === child) this.#process = null;
    });
    const started = Date.now();
    while (!/Server listening/.test(this.log.slice(before))) {
      if (this.#process === null || Date.now() - started > 10_000) throw new Error(`sshd did not start:\n${this.log}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Stops the server and every session it had open, as when the server goes away. */
  async stop(): Promise<void> {
    const child = this.#process;
    if (!child?.pid) return;
    const pids = [...descendants(child.pid), child.pid];
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await new Promise<void>((resolve) => (this.#process === null ? resolve() : child.once('exit', () => resolve())));
    this.#process = null;
  }

  /** Files under the remote root, relative, with their sizes; temporary names included. */
  files(): Map<string, number> {
    const out = new Map<string, number>();
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else out.set(path.relative(this.root, full), fs.statSync(full).size);
      }
    };
    if (fs.existsSync(this.root)) walk(this.root);
    return out;
  }

  /**
   * Creates remote folders (owned by the session user) and watches them with
   * inotify: how many times a file was moved into place under each name. Each
   * upload ends in one rename onto its final name, so this counts uploads.
   */
  watch(relativeDirs: readonly string[]): { renamesOnto: (remoteFile: string) => number; close: () => void } {
    const counts = new Map<string, number>();
    const watchers = relativeDirs.map((rel) => {
      const dir = path.join(this.root, rel);
      fs.mkdirSync(dir, { recursive: true });
      if (process.getuid?.() === 0) {
        for (let d = dir; d.startsWith(this.root) && d !== this.root; d = path.dirname(d)) fs.chownSync(d, fs.statSync(this.root).uid, fs.statSync(this.root).gid);
      }
      return fs.watch(dir, (event, name) => {
        if (event !== 'rename' || !name || name.startsWith('.tmp-')) return;
        const file = path.join(dir, name);
        if (fs.existsSync(file)) counts.set(file, (counts.get(file) ?? 0) + 1);
      });
    });
    return { renamesOnto: (file) => counts.get(file) ?? 0, close: () => watchers.forEach((w) => w.close()) };
  }

  #prepare(): void {
    const { dir } = this;
    fs.mkdirSync(this.root, { recursive: true });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', this.hostKeyFile]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', this.clientKey]);
    fs.copyFileSync(`${this.clientKey}.pub`, path.join(dir, 'authorized_keys'));
    if (process.getuid?.() === 0) {
      // sshd's privilege separation needs this folder; the session user must reach the keys and the remote root.
      fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
      for (let d = dir; d !== path.dirname(d); d = path.dirname(d)) fs.chmodSync(d, fs.statSync(d).mode | 0o005);
      fs.chmodSync(path.join(dir, 'authorized_keys'), 0o644);
      const nobody = Number(execFileSync('id', ['-u', 'nobody']).toString().trim());
      const nogroup = Number(execFileSync('id', ['-g', 'nobody']).toString().trim());
      fs.chownSync(this.root, nobody, nogroup);
    }
    const config = [
      `Port ${this.port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${this.hostKeyFile}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      'StrictModes no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'PermitRootLogin prohibit-password',
      `AllowUsers ${this.username}`,
      'PrintMotd no',
      'LogLevel VERBOSE',
      'MaxStartups 50',
      'Subsystem sftp internal-sftp',
    ];
    fs.writeFileSync(path.join(dir, 'sshd_config'), `${config.join('\n')}\n`);
  }
}

export function fingerprintOf(publicKeyFile: string): string {
  const blob = Buffer.from(fs.readFileSync(publicKeyFile, 'utf8').trim().split(/\s+/)[1]!, 'base64');
  return fingerprint(blob);
}

/** Every process below `pid`, from /proc. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

