/**
 * The Raspberry Pi firmware's power and temperature flags, as `vcgencmd get_throttled`
 * prints them (`throttled=0x50005`). Pure: the probe runs the tool, this reads its answer.
 *
 * Bits 0-3 say what holds now; bits 16-19 are sticky, set once it happened since boot.
 * A Pi on a weak supply or a thin USB cable shows under-voltage long before it fails,
 * and half-written pictures or a corrupted SD card are what follows; this is why the
 * box reports them in words.
 */

export interface PowerState {
  /** The whole bit field, for logs and support. */
  raw: number;
  underVoltage: boolean;
  frequencyCapped: boolean;
  throttled: boolean;
  softTempLimit: boolean;
  underVoltageOccurred: boolean;
  frequencyCappedOccurred: boolean;
  throttledOccurred: boolean;
  softTempLimitOccurred: boolean;
}

const NOW = { underVoltage: 0, frequencyCapped: 1, throttled: 2, softTempLimit: 3 } as const;
const SINCE_BOOT = 16;

/** `throttled=0x50005` (hexadecimal, as every firmware prints it); null for anything else. */
export function parseThrottled(text: string): PowerState | null {
  const match = /^\s*throttled=0x([0-9a-f]{1,8})\s*$/i.exec(text);
  if (!match) return null;
  const raw = Number.parseInt(match[1]!, 16);
  const bit = (n: number) => (raw & (1 << n)) !== 0;
  return {
    raw,
    underVoltage: bit(NOW.underVoltage),
    frequencyCapped: bit(NOW.frequencyCapped),
    throttled: bit(NOW.throttled),
    softTempLimit: bit(NOW.softTempLimit),
    underVoltageOccurred: bit(SINCE_BOOT + NOW.underVoltage),
    frequencyCappedOccurred: bit(SINCE_BOOT + NOW.frequencyCapped),
    throttledOccurred: bit(SINCE_BOOT + NOW.throttled),
    softTempLimitOccurred: bit(SINCE_BOOT + NOW.softTempLimit),
  };
}

/**
 * One plain sentence per condition, what holds now first; nothing when all is well.
 * A condition that holds now is not repeated as "since boot".
 */
export function describePower(state: PowerState): string[] {
  const lines: string[] = [];
  if (state.underVoltage) lines.push('under-voltage now: check the power supply and cable');
  if (state.frequencyCapped) lines.push('CPU frequency capped now: the supply voltage or the temperature is at its limit');
  if (state.throttled) lines.push('CPU throttled now: it is too hot or the power is too weak; give the box shade, air or a heatsink');
  if (state.softTempLimit) lines.push('soft temperature limit reached now: the CPU runs slower to cool down');
  if (state.underVoltageOccurred && !state.underVoltage) lines.push('under-voltage happened since boot: the power supply or cable is marginal');
  if (state.frequencyCappedOccurred && !state.frequencyCapped) lines.push('CPU frequency was capped since boot');
  if (state.throttledOccurred && !state.throttled) lines.push('CPU was throttled since boot: it got too hot or the power too weak');
  if (state.softTempLimitOccurred && !state.softTempLimit) lines.push('soft temperature limit was reached since boot');
  return lines;
}
