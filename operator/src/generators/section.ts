// A hand-written page with one machine-written section between two marker comments.

/**
 * `page` with the text between `begin` and `end` replaced by `section` (a blank line either side),
 * or null when the page does not have both markers in that order.
 */
export function replaceBetween(page: string, begin: string, end: string, section: string): string | null {
  const i = page.indexOf(begin);
  const j = page.indexOf(end);
  if (i < 0 || j < i) return null;
  return `${page.slice(0, i + begin.length)}\n\n${section.trim()}\n\n${page.slice(j)}`;
}
