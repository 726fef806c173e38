/**
 * The Raspberry Pi firmware's power and temperature flags, as `vcgencmd get_throttled`
 * prints them (`throttled=0x50005`). Pure: the probe runs the tool, this reads its answer.
 *
 * Bits 0-3 say what holds now; bits 16-19 are sticky, set once it happened since boot.
 * A Pi on a weak supply or a thin USB cable shows under-voltage long before it fails,
 * and half-written pictures or a corrupted SD card are what follows; this is why the
 * box reports them in words.
 */
import { BASE_LANGUAGE, defaultCatalogs, type Translate } from '../i18n/catalogs';

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
 * A condition that holds now is not repeated as "since boot". In English (the CLI,
 * the log) unless told another language's words (alert e-mails, the System page).
 */
export function describePower(state: PowerState, t: Translate = defaultCatalogs().translator(BASE_LANGUAGE)): string[] {
  const lines: string[] = [];
  if (state.underVoltage) lines.push(t('mail.alert.powerUnderVoltage'));
  if (state.frequencyCapped) lines.push(t('mail.alert.powerFrequencyCapped'));
  if (state.throttled) lines.push(t('mail.alert.powerThrottled'));
  if (state.softTempLimit) lines.push(t('mail.alert.powerSoftTempLimit'));
  if (state.underVoltageOccurred && !state.underVoltage) lines.push(t('mail.alert.powerUnderVoltageOccurred'));
  if (state.frequencyCappedOccurred && !state.frequencyCapped) lines.push(t('mail.alert.powerFrequencyCappedOccurred'));
  if (state.throttledOccurred && !state.throttled) lines.push(t('mail.alert.powerThrottledOccurred'));
  if (state.softTempLimitOccurred && !state.softTempLimit) lines.push(t('mail.alert.powerSoftTempLimitOccurred'));
  return lines;
}
