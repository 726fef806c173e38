/**
 * Text placed inside markup: the embed page's HTML, the legend's Pango markup and
 * the test pattern's SVG. One escaper for all three, so it suits the strictest of
 * them (XML): the five special characters become entities that HTML, XML and
 * Pango all read back as the character, and the control characters XML 1.0 cannot
 * hold at all (not even as references) are dropped; tab, line feed and carriage
 * return stay.
 */
const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeMarkup(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
}
