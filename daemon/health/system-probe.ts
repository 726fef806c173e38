/**
 * The box's vital signs, read from the system: the one place that talks to
 * systeminformation and runs vcgencmd, timedatectl and chronyc. The rest of the
 * daemon sees a `SystemSample`.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import * as si from 'systeminformation';
import { CommandNotFoundError, runCommand } from '../process';
import { parseThrottled, type PowerState } from './throttling';

export interface SystemSample {
  /** When the sample was taken (ms since the epoch, from the probe's clock). */
  at: number;
  /** The file system of the data folder. */
  disk: { path: string; totalBytes: number; freeBytes: number; freePercent: number };
  /** The CPU's temperature; null where the system does not say (VMs, containers). */
  cpuTempC: number | null;
  /** Load averages over 1, 5 and 15 minutes; compare with `cpus`. */
  load: [number, number, number];
  cpus: number;
  memory: { totalBytes: number; availableBytes: number; processRssBytes: number };
  uptimeSeconds: number;
  processUptimeSeconds: number;
  /** Byte counters since the interface came up, loopback left out. */
  network: { iface: string; rxBytes: number; txBytes: number; up: boolean }[];
  /** The Pi firmware's power and temperature flags; null off a Pi (no vcgencmd) or when it fails. */
  power: PowerState | null;
  /**
   * Whether the clock is set by NTP. A Pi has no real-time clock: until it is
   * synchronized, picture times and schedules may be off by hours.
   */
  clock: { synchronized: boolean | null; via: 'timedatectl' | 'chronyc' | null };
}

export interface SystemProbe {
  /**
   * Reads everything once. Each part is read on its own: a part that cannot be read
   * is null or empty, never a rejection; only the disk is required (its failure
   * rejects, since the data folder is then unusable anyway).
   */
  sample(): Promise<SystemSample>;
}

export interface SystemProbeOptions {
  /** The data folder, whose file system is measured. */
  dataDir: string;
  now?: () => number;
  /** Environment of the tools; its PATH finds vcgencmd, timedatectl and chronyc (tests put fakes first). */
  env?: NodeJS.ProcessEnv;
  /** Time each tool may take before its process group is killed. Default 5 s. */
  timeoutMs?: number;
}

/** A tool found missing is looked for again after this long (a package installed meanwhile). */
const MISSING_RETRY_MS = 60 * 60_000;

export function createSystemProbe(options: SystemProbeOptions): SystemProbe {
  return new HostProbe(options.dataDir, options.now ?? Date.now, options.env ?? process.env, options.timeoutMs ?? 5000);
}

class HostProbe implements SystemProbe {
  readonly #dataDir: string;
  readonly #now: () => number;
  readonly #env: NodeJS.ProcessEnv;
  readonly #timeoutMs: number;
  /** Tools that were not installed, with when to look again. */
  readonly #missingUntil = new Map<string, number>();

  constructor(dataDir: string, now: () => number, env: NodeJS.ProcessEnv, timeoutMs: number) {
    this.#dataDir = dataDir;
    this.#now = now;
    this.#env = env;
    this.#timeoutMs = timeoutMs;
  }

  async sample(): Promise<SystemSample> {
    const at = this.#now();
    const [disk, cpuTempC, memory, network, power, clock] = await Promise.all([
      this.#disk(),
      this.#cpuTemp(),
      this.#memory(),
      this.#network(),
      this.#power(),
      this.#clock(),
    ]);
    const [load1, load5, load15] = os.loadavg();
    return {
      at,
      disk,
      cpuTempC,
      load: [load1 ?? 0, load5 ?? 0, load15 ?? 0],
      cpus: os.cpus().length,
      memory,
      uptimeSeconds: os.uptime(),
      processUptimeSeconds: process.uptime(),
      network,
      power,
      clock,
    };
  }

  async #disk(): Promise<SystemSample['disk']> {
    const s = await fs.statfs(this.#dataDir);
    const total = s.blocks * s.bsize;
    // bavail, not bfree: the blocks reserved for root are not ours to fill.
    const free = s.bavail * s.bsize;
    return { path: this.#dataDir, totalBytes: total, freeBytes: free, freePercent: total > 0 ? Math.round((free / total) * 1000) / 10 : 0 };
  }

  async #cpuTemp(): Promise<number | null> {
    try {
      const { main } = await si.cpuTemperature();
      // VMs and containers answer null, or -1 on some versions.
      return typeof main === 'number' && Number.isFinite(main) && main !== -1 ? main : null;
    } catch {
      return null;
    }
  }

  async #memory(): Promise<SystemSample['memory']> {
    const processRssBytes = process.memoryUsage().rss;
    try {
      const m = await si.mem();
      return { totalBytes: m.total, availableBytes: m.available, processRssBytes };
    } catch {
      // os.freemem() is MemAvailable on Linux too; only less detailed elsewhere.
      return { totalBytes: os.totalmem(), availableBytes: os.freemem(), processRssBytes };
    }
  }

  async #network(): Promise<SystemSample['network']> {
    try {
      const stats = await si.networkStats('*');
      const internal = new Set(['lo']);
      for (const [name, addresses] of Object.entries(os.networkInterfaces())) {
        if (addresses?.some((a) => a.internal)) internal.add(name);
      }
      return stats
        .filter((s) => !internal.has(s.iface))
        .map((s) => ({
          iface: s.iface,
          rxBytes: s.rx_bytes,
          txBytes: s.tx_bytes,
          // Tunnels and PPP links report "unknown" while they carry traffic.
          up: s.operstate === 'up' || s.operstate === 'unknown',
        }));
    } catch {
      return [];
    }
  }

  async #power(): Promise<PowerState | null> {
    // Null off a Pi (no vcgencmd), and on a Pi whose daemon user is not in the video group.
    const out = await this.#run('vcgencmd', ['get_throttled']);
    return out === null ? null : parseThrottled(out);
  }

  #clock(): Promise<SystemSample['clock']> {
    return readClock((program, args) => this.#run(program, args));
  }

  /**
   * Runs a tool (argv, no shell, its own process group killed at the timeout);
   * its output when it exits 0, else null. A tool that is not installed is not
   * looked for again for an hour: a sample each minute should not keep failing to exec it.
   */
  async #run(program: string, args: string[]): Promise<string | null> {
    const until = this.#missingUntil.get(program);
    if (until !== undefined && this.#now() < until) return null;
    try {
      const result = await runCommand(program, args, {
        env: this.#env,
        signal: AbortSignal.timeout(this.#timeoutMs),
        killGraceMs: 1000,
        maxOutputBytes: 64 * 1024,
      });
      this.#missingUntil.delete(program);
      return result.code === 0 && !result.aborted ? result.stdout : null;
    } catch (err) {
      if (err instanceof CommandNotFoundError) this.#missingUntil.set(program, this.#now() + MISSING_RETRY_MS);
      return null;
    }
  }
}

/**
 * Whether the clock is synchronised: timedatectl, else chronyc. `run` gives a
 * tool's output when it exits 0, else null. Also used by `lapsebox doctor`.
 */
export async function readClock(run: (program: string, args: string[]) => Promise<string | null>): Promise<SystemSample['clock']> {
  const answer = (await run('timedatectl', ['show', '-p', 'NTPSynchronized', '--value']))?.trim();
  if (answer === 'yes') return { synchronized: true, via: 'timedatectl' };
  if (answer === 'no') return { synchronized: false, via: 'timedatectl' };
  // No systemd (containers), or timesyncd replaced by chrony: ask chrony itself.
  const tracking = await run('chronyc', ['-n', 'tracking']);
  const leap = tracking === null ? undefined : /^Leap status\s*:\s*(.+?)\s*$/m.exec(tracking)?.[1];
  if (leap === 'Not synchronised') return { synchronized: false, via: 'chronyc' };
  if (leap === 'Normal' || leap === 'Insert second' || leap === 'Delete second') return { synchronized: true, via: 'chronyc' };
  return { synchronized: null, via: null };
}
