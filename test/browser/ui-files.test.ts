/**
 * The UI's files keep to what the Content-Security-Policy and the no-HTML-from-data
 * rule demand, checked on the sources: no inline script or style, no style=""
 * attributes, no HTML parsing of strings, no eval; and index.html preloads every
 * module the app imports (one round trip on a slow link).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers/env';

const UI = path.join(ROOT, 'web', 'ui');

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

describe('UI files', () => {
  const all = files(UI);
  const scripts = all.filter((f) => f.endsWith('.js'));
  const html = fs.readFileSync(path.join(UI, 'index.html'), 'utf8');

  it('has no inline script or style and no style attribute', () => {
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/<style/i);
    expect(html).toMatch(/<script type="module" src="\/ui\/app\.js"><\/script>/);
    expect(html).toMatch(/<link rel="stylesheet" href="\/ui\/style\.css">/);
    // The embed snippet (a line building an <iframe> for other websites' pages, shown as text) is not markup of ours.
    const ours = (file: string) => fs.readFileSync(file, 'utf8').split('\n').filter((line) => !/const code = `<iframe /.test(line)).join('\n');
    for (const file of all.filter((f) => /\.(html|js)$/.test(f))) expect([file, /\sstyle=/.test(ours(file))]).toEqual([file, false]);
  });

  it('never parses strings as HTML or code', () => {
    for (const file of scripts) {
      const text = fs.readFileSync(file, 'utf8');
      expect([file, text.match(/\b(innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\s*\(|new Function|setAttribute\(\s*['"]on)/g)]).toEqual([file, null]);
    }
  });

  it('preloads every module from index.html', () => {
    const preloaded = [...html.matchAll(/<link rel="modulepreload" href="\/ui\/([^"]+)">/g)].map((m) => m[1]).sort();
    // app.js and boot.js have their own script tags; the message formatter comes from its package (web/ui.routes.ts serves it).
    const modules = [...scripts.map((f) => path.relative(UI, f).split(path.sep).join('/')).filter((f) => f !== 'app.js' && f !== 'boot.js'), 'vendor/intl-messageformat.js'].sort();
    expect(preloaded).toEqual(modules);
  });
});
