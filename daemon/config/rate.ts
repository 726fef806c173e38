/**
 * Transfer rates in the configuration: `500KB/s`, `2MB/s` (bytes), `800kbit/s`,
 * `4Mbit/s` (bits, as mobile plans count). Decimal units: 1 KB = 1000 bytes.
 */
const RATE = /^(\d+(?:\.\d+)?)\s*([kKmM]?)(B|bit)\/s$/;
const PREFIX: Record<string, number> = { '': 1, k: 1_000, m: 1_000_000 };

/** Bytes per second, or null when the text is not a rate. */
export function parseRate(text: string): number | null {
  const m = typeof text === 'string' ? RATE.exec(text.trim()) : null;
  if (!m) return null;
  const bytes = Math.floor((Number(m[1]) * PREFIX[m[2]!.toLowerCase()]!) / (m[3] === 'bit' ? 8 : 1));
  return bytes > 0 && Number.isSafeInteger(bytes) ? bytes : null;
}

export function formatRate(bytesPerSecond: number): string {
  if (bytesPerSecond >= 1_000_000) return `${+(bytesPerSecond / 1_000_000).toFixed(2)}MB/s`;
  if (bytesPerSecond >= 1_000) return `${+(bytesPerSecond / 1_000).toFixed(2)}KB/s`;
  return `${bytesPerSecond}B/s`;
}
