/**
 * Process-wide sharp settings for a small box. libvips' operation cache helps
 * when the same images are processed again; the daemon processes each picture
 * once, so the cache only holds memory (hundreds of MB at 24 MP).
 */
import sharp from 'sharp';

export function configureSharp(): void {
  sharp.cache(false);
}
