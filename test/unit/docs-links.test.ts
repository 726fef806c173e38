/**
 * The documentation's relative links: every link in README.md and docs/*.md that
 * points into the repository names a file that exists and, when it has one, an
 * anchor that one of that file's headings makes (GitHub's rule: lowercase,
 * punctuation dropped, spaces to "-", "-1", "-2" for repeated headings).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers/env';

/** GitHub's anchor for a heading's text. */
function slug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link in a heading keeps its text
    .replace(/<[^>]+>/g, '') // inline HTML
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The lines of a Markdown text outside fenced code blocks. */
function proseLines(text: string): string[] {
  const lines: string[] = [];
  let fence: string | null = null;
  for (const line of text.split('\n')) {
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence !== null) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker) fence = null;
      continue;
    }
    if (marker) {
      fence = marker;
      continue;
    }
    lines.push(line);
  }
  return lines;
}

/** The anchors a Markdown file offers: its headings' slugs, and explicit ids and names. */
function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of proseLines(text)) {
    const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading !== undefined) {
      const base = slug(heading);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      anchors.add(count === 0 ? base : `${base}-${count}`);
    }
    for (const m of line.matchAll(/<a\s[^>]*(?:id|name)="([^"]+)"/g)) anchors.add(m[1]!);
  }
  return anchors;
}

/** Link targets in a Markdown file (inline links, images and reference definitions), code excluded. */
function linksOf(text: string): string[] {
  const targets: string[] = [];
  for (const raw of proseLines(text)) {
    const line = raw.replace(/`[^`]*`/g, '``');
    for (const m of line.matchAll(/!?\[[^\]]*\]\(\s*(<[^>]*>|[^\s)]+)(?:\s+"[^"]*")?\s*\)/g)) targets.push(m[1]!.replace(/^<|>$/g, ''));
    const definition = /^\s{0,3}\[[^\]]+\]:\s*(\S+)/.exec(line);
    if (definition) targets.push(definition[1]!);
  }
  return targets;
}

const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//');

function docFiles(): string[] {
  const docs = fs.existsSync(path.join(ROOT, 'docs')) ? fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`) : [];
  return ['README.md', ...docs.sort()];
}

/** Every relative link of FILE (relative to ROOT) that leads nowhere, with why. */
function deadLinks(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const dead: string[] = [];
  for (const target of linksOf(text)) {
    if (isExternal(target)) continue;
    const hash = target.indexOf('#');
    const pathPart = decodeURI(hash < 0 ? target : target.slice(0, hash));
    const anchor = hash < 0 ? null : decodeURIComponent(target.slice(hash + 1));
    const resolved = pathPart === '' ? path.join(ROOT, file) : path.resolve(path.dirname(path.join(ROOT, file)), pathPart);
    const relative = path.relative(ROOT, resolved).split(path.sep).join('/');
    if (!fs.existsSync(resolved)) {
      dead.push(`${file}: ${target}: no such file ${relative}`);
      continue;
    }
    if (anchor === null || anchor === '') continue;
    if (!resolved.endsWith('.md') || fs.statSync(resolved).isDirectory()) {
      dead.push(`${file}: ${target}: an anchor into ${relative}, which is not a Markdown file`);
      continue;
    }
    if (!anchorsOf(fs.readFileSync(resolved, 'utf8')).has(anchor)) dead.push(`${file}: ${target}: ${relative} has no heading for #${anchor}`);
  }
  return dead;
}

describe('the documentation links', () => {
  it('makes anchors as GitHub does', () => {
    expect(slug('Storage: retention and a full disk')).toBe('storage-retention-and-a-full-disk');
    expect(slug('`sources[].camera`')).toBe('sourcescamera');
    expect(slug('Prepare an SD card, or install without network')).toBe('prepare-an-sd-card-or-install-without-network');
    expect(slug('gphoto2: DSLRs and other PTP cameras')).toBe('gphoto2-dslrs-and-other-ptp-cameras');
    expect(slug('The [HTTP API](http-api.md)')).toBe('the-http-api');
    expect([...anchorsOf('# A\n## Tests\n```\n# not a heading\n```\n## Tests\n')]).toEqual(['a', 'tests', 'tests-1']);
  });

  it('finds links outside code only', () => {
    expect(linksOf('[a](x.md#y) and `[b](code.md)`\n```\n[c](fenced.md)\n```\n![d](<e f.png> "t")\n[ref]: g.md\n')).toEqual(['x.md#y', 'e f.png', 'g.md']);
  });

  it('has a README and a docs/ index', () => {
    expect(docFiles()).toEqual(expect.arrayContaining(['README.md', 'docs/README.md']));
  });

  it.each(docFiles())('%s: every relative link names a file and an anchor that exist', (file) => {
    expect(deadLinks(file)).toEqual([]);
  });

  it('keeps the two quick-start lines in the README (.ci/run runs the second)', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('\nnpm ci && npm start\n');
    expect(readme).toContain('\nbash scripts/test.sh\n');
  });
});
