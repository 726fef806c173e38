import fs from 'node:fs';
import path from 'node:path';
import { GpioRelay, RelayUnavailableError, SimulatedRelay, openRelay, sysfsLine } from '../../daemon/hardware/relay';
import { silentLogger, type Logger } from '../../daemon/logger';
import { tempDir } from '../helpers/env';

describe('power relay', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  const chip = (name: string, label: string, base: number) => {
    fs.mkdirSync(path.join(tmp.dir, name), { recursive: true });
    fs.writeFileSync(path.join(tmp.dir, name, 'label'), `${label}\n`);
    fs.writeFileSync(path.join(tmp.dir, name, 'base'), `${base}\n`);
  };

  it('adds the base of the Pi GPIO chip to the BCM number (Linux 6.6 and later)', () => {
    chip('gpiochip512', 'pinctrl-bcm2711', 512);
    chip('gpiochip570', 'raspberrypi-exp-gpio', 570);
    expect(sysfsLine(17, tmp.dir)).toBe(529);
  });

  it('keeps the BCM number where the chip starts at 0, or there is no sysfs', () => {
    chip('gpiochip0', 'pinctrl-bcm2835', 0);
    expect(sysfsLine(17, tmp.dir)).toBe(17);
    expect(sysfsLine(17, path.join(tmp.dir, 'missing'))).toBe(17);
  });

  it('is simulated when the configuration asks for it, starting at rest', () => {
    const relay = openRelay({ gpio: 17, activeLow: false, simulate: true }, { log: silentLogger(), sysfs: path.join(tmp.dir, 'missing') });
    expect(relay).toBeInstanceOf(SimulatedRelay);
    expect((relay as SimulatedRelay).cameraPower).toBe(true);
    relay.close();
  });

  it('is a fault, not a simulation, when the configured line cannot be opened: a warning naming the line and the fix', () => {
    chip('gpiochip512', 'pinctrl-bcm2711', 512);
    const warnings: string[] = [];
    const log = { warn: (_: unknown, msg: string) => void warnings.push(msg) } as unknown as Logger;

    let thrown: unknown;
    try {
      openRelay({ gpio: 17, activeLow: false }, { log, sysfs: tmp.dir });
    } catch (err) {
      thrown = err;
    }

    expect(thrown).toBeInstanceOf(RelayUnavailableError);
    const message = `relay GPIO 17 (sysfs line 529) cannot be opened: ${tmp.dir}/export does not exist (no sysfs GPIO on this machine); on a Raspberry Pi, check the kernel has sysfs GPIO; elsewhere set recovery.powerCycle.simulate: true`;
    expect((thrown as Error).message).toBe(message);
    expect(warnings).toEqual([message]);
  });

  it('energizes the relay only to cut the power, and goes back to rest and releases the pin on close', async () => {
    const writes: string[] = [];
    const pin = {
      write: (v: 0 | 1) => (writes.push(`write ${v}`), Promise.resolve()),
      writeSync: (v: 0 | 1) => void writes.push(`writeSync ${v}`),
      unexport: () => void writes.push('unexport'),
    };
    const relay = new GpioRelay(17, pin, silentLogger());
    await relay.setCameraPower(false);
    await relay.setCameraPower(true);
    await relay.setCameraPower(false);
    relay.close();
    relay.close();
    expect(writes).toEqual(['write 1', 'write 0', 'write 1', 'writeSync 0', 'unexport']);
    await expect(relay.setCameraPower(false)).rejects.toThrow('relay on GPIO 17 is closed');
  });
});
