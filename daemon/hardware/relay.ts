/**
 * The relay that power-cycles a hung camera, behind one small interface.
 *
 * Wiring: the camera's supply runs through the relay's normally-closed (NC)
 * contact, so a relay at rest means a powered camera. lapsebox energizes the relay
 * only for the `off` period of a power cycle. "At rest" is the safe state: set at
 * start-up, on stop and on process exit (a crash included; after a SIGKILL or a
 * power loss the pin is reset at the next start, and a Pi's pins float back to
 * inputs on reboot, which leaves the relay at rest too).
 *
 * A simulated relay logs what it would do, so the recovery ladder runs and is testable
 * anywhere; only when the configuration asks for one (`simulate: true`). A configured
 * relay that cannot be opened (no access to /sys/class/gpio, a line that does not
 * exist) is a fault: openRelay throws a RelayUnavailableError saying what to fix.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logger';
import { messageOf } from '../error-causes';

export interface RelayConfig {
  /** BCM GPIO number, as on the Raspberry Pi pinout (GPIO17 = pin 11). */
  gpio: number;
  /** The relay board triggers on a low input (most cheap opto-isolated boards). */
  activeLow: boolean;
  /** Asked for in the configuration: log what the relay would do, touch no pin. */
  simulate?: boolean;
}

/** A configured relay that cannot be opened; the message names the line and the fix. */
export class RelayUnavailableError extends Error {
  override readonly name = 'RelayUnavailableError';
  constructor(readonly gpio: number, readonly line: number, readonly reason: string, readonly fix: string, options?: { cause?: unknown }) {
    super(`relay GPIO ${gpio} (sysfs line ${line}) cannot be opened: ${reason}; ${fix}`, options);
  }
}

const GPIO_FIX = 'add the service user to the gpio group (sudo usermod -aG gpio lapsebox) and restart lapsebox';

export interface Relay {
  readonly gpio: number;
  readonly simulated: boolean;
  /** true: the camera gets power (relay at rest); false: power cut (relay energized). */
  setCameraPower(on: boolean): Promise<void>;
  /** Back to the safe state and release the pin. */
  close(): void;
}

export interface RelayEvent {
  at: number;
  gpio: number;
  cameraPower: boolean;
}

/** The parts of onoff's Gpio that lapsebox uses. */
interface OnoffGpio {
  writeSync(value: 0 | 1): void;
  write(value: 0 | 1): Promise<void>;
  unexport(): void;
}
interface OnoffModule {
  Gpio: { new (gpio: number, direction: 'high' | 'low', edge?: 'none', options?: { activeLow?: boolean }): OnoffGpio };
}

/** Live relays, put back to rest by the exit hook whatever ends the process. */
const live = new Set<Relay>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const relay of live) relay.close();
  });
}

export class GpioRelay implements Relay {
  readonly simulated = false;
  readonly #pin: OnoffGpio;
  readonly #log: Logger;
  #closed = false;

  constructor(readonly gpio: number, pin: OnoffGpio, log: Logger) {
    this.#pin = pin;
    this.#log = log;
  }

  async setCameraPower(on: boolean): Promise<void> {
    if (this.#closed) throw new Error(`relay on GPIO ${this.gpio} is closed`);
    this.#log.warn({ gpio: this.gpio }, `relay GPIO ${this.gpio}: camera power ${on ? 'on' : 'off'}`);
    await this.#pin.write(on ? 0 : 1);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    live.delete(this);
    try {
      this.#pin.writeSync(0);
      this.#pin.unexport();
    } catch (err) {
      this.#log.error({ gpio: this.gpio, err }, `relay GPIO ${this.gpio}: could not restore camera power`);
    }
  }
}

export class SimulatedRelay implements Relay {
  readonly simulated = true;
  readonly history: RelayEvent[] = [];
  readonly #log: Logger;
  readonly #now: () => number;
  #cameraPower = true;

  constructor(readonly gpio: number, log: Logger, now: () => number = Date.now) {
    this.#log = log;
    this.#now = now;
    this.#record(true);
  }

  get cameraPower(): boolean {
    return this.#cameraPower;
  }

  setCameraPower(on: boolean): Promise<void> {
    this.#log.warn({ gpio: this.gpio, simulated: true }, `relay GPIO ${this.gpio} (simulated): camera power ${on ? 'on' : 'off'}`);
    this.#record(on);
    return Promise.resolve();
  }

  close(): void {
    live.delete(this);
    if (!this.#cameraPower) this.#record(true);
  }

  #record(on: boolean): void {
    this.#cameraPower = on;
    this.history.push({ at: this.#now(), gpio: this.gpio, cameraPower: on });
  }
}

export interface RelayFactoryOptions {
  log: Logger;
  /** Force the simulation even where GPIO is accessible (tests, dry runs). */
  simulate?: boolean;
  /** For tests: the sysfs GPIO folder. */
  sysfs?: string;
}

/**
 * A relay at rest (camera powered) on the configured pin, or a simulated one when the
 * configuration asks for it. Throws a RelayUnavailableError when the pin cannot be used.
 */
export function openRelay(config: RelayConfig, options: RelayFactoryOptions): Relay {
  installExitHook();
  const log = options.log;
  let relay: Relay;
  if (config.simulate || options.simulate) {
    relay = new SimulatedRelay(config.gpio, log);
    log.info({ gpio: config.gpio }, `relay GPIO ${config.gpio}: simulated (recovery.powerCycle.simulate), power cycles are only logged`);
  } else {
    const sysfs = options.sysfs ?? '/sys/class/gpio';
    const line = sysfsLine(config.gpio, sysfs);
    const unavailable = (reason: string, fix: string, cause?: unknown) => {
      const error = new RelayUnavailableError(config.gpio, line, reason, fix, { cause });
      log.warn({ gpio: config.gpio, line, sysfs }, error.message);
      return error;
    };
    const onoff = loadOnoff();
    if (!onoff) throw unavailable('the onoff module is not installed', 'reinstall lapsebox');
    try {
      // What onoff itself checks, but on the folder used here, with the reason kept.
      fs.accessSync(path.join(sysfs, 'export'), fs.constants.W_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw unavailable(
        code === 'ENOENT' ? `${sysfs}/export does not exist (no sysfs GPIO on this machine)` : `${sysfs}/export is not writable by this user (${code ?? 'error'})`,
        code === 'ENOENT' ? 'on a Raspberry Pi, check the kernel has sysfs GPIO; elsewhere set recovery.powerCycle.simulate: true' : GPIO_FIX,
        err,
      );
    }
    let pin: OnoffGpio;
    try {
      // Exported straight into the rest level, so the camera never sees a glitch.
      pin = new onoff.Gpio(line, config.activeLow ? 'high' : 'low', 'none', { activeLow: config.activeLow });
      pin.writeSync(0);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw unavailable(
        messageOf(err),
        code === 'EACCES' || code === 'EPERM' ? GPIO_FIX : `check recovery.powerCycle.gpio: no line ${line} on the Pi's GPIO chip (${sysfs}/gpiochip*)`,
        err,
      );
    }
    relay = new GpioRelay(config.gpio, pin, log);
    log.info({ gpio: config.gpio, line }, `relay GPIO ${config.gpio}: at rest, camera powered`);
  }
  live.add(relay);
  return relay;
}

function loadOnoff(): OnoffModule | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('onoff') as OnoffModule;
  } catch {
    return null;
  }
}

/**
 * The sysfs line number of a BCM GPIO. Since Linux 6.6 the Raspberry Pi's GPIO
 * chip no longer starts at 0 (GPIO17 is line 529 when the chip's base is 512), so
 * the base of the Pi's pin controller is added when there is one.
 */
export function sysfsLine(gpio: number, sysfs = '/sys/class/gpio'): number {
  let entries: string[];
  try {
    entries = fs.readdirSync(sysfs).filter((e) => e.startsWith('gpiochip'));
  } catch {
    return gpio;
  }
  for (const chip of entries) {
    try {
      const label = fs.readFileSync(path.join(sysfs, chip, 'label'), 'utf8').trim();
      if (/^pinctrl-(bcm2835|bcm2711|bcm2712|rp1)/.test(label)) return Number(fs.readFileSync(path.join(sysfs, chip, 'base'), 'utf8').trim()) + gpio;
    } catch {
      // An unreadable chip is not the one we want.
    }
  }
  return gpio;
}
