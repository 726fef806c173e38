/**
 * The shape of the house, measured: which product file imports which, the folder
 * pairs that import each other, the circles between files, and the largest files and
 * functions. `npm run architecture` prints the report; test/unit/architecture.test.ts
 * holds the rules (no folder pair importing each other, no circle) against it.
 *
 * Reads the sources with the TypeScript compiler's parser only (no type check), so it
 * takes about a second on the whole tree.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

export interface FunctionSize { file: string; name: string; line: number; lines: number }

export interface ImportGraph {
  /** Product files relative to the project root, with '/' separators. */
  files: string[];
  /** file -> the product files it imports (values, types and re-exports alike). */
  imports: Map<string, Set<string>>;
  /** file -> the packages and node: modules it imports. */
  external: Map<string, Set<string>>;
  lines: Map<string, number>;
  functions: FunctionSize[];
}

const ROOTS = ['daemon', 'web'];

/** The files that build the services (compose/), list them in start order (app.ts) and run that order (lifecycle.ts). */
export const COMPOSITION_ROOT = ['daemon/app.ts', 'daemon/compose/services.ts', 'daemon/compose/stacks.ts', 'daemon/lifecycle.ts'];

function listTs(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listTs(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

function toKey(root: string, path: string): string {
  return relative(root, path).split(sep).join('/');
}

function resolveImport(root: string, fromFile: string, specifier: string, known: Set<string>): string | null {
  if (!specifier.startsWith('.')) return null;
  const base = resolve(dirname(join(root, fromFile)), specifier).replace(/\.js$/, '');
  for (const candidate of [`${base}.ts`, join(base, 'index.ts')]) {
    const key = toKey(root, candidate);
    if (known.has(key)) return key;
  }
  return null;
}

function functionName(node: ts.Node, source: ts.SourceFile): string {
  const named = node as ts.Node & { name?: ts.Node };
  if (named.name) return named.name.getText(source);
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent)) return parent.name.getText(source);
  if (parent && ts.isPropertyAssignment(parent)) return parent.name.getText(source);
  return '(anonymous)';
}

/** Reads every product file under daemon/ and web/ (tests and scripts are not product code). */
export function readImportGraph(root: string): ImportGraph {
  const paths = ROOTS.flatMap((dir) => listTs(join(root, dir)));
  const files = paths.map((p) => toKey(root, p)).sort();
  const known = new Set(files);
  const imports = new Map<string, Set<string>>();
  const external = new Map<string, Set<string>>();
  const lines = new Map<string, number>();
  const functions: FunctionSize[] = [];
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
    lines.set(file, text.split('\n').length);
    const targets = new Set<string>();
    const outside = new Set<string>();
    const visit = (node: ts.Node): void => {
      let specifier: string | null = null;
      if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
        specifier = node.moduleSpecifier.text;
      } else if (ts.isCallExpression(node) && node.arguments.length === 1 && ts.isStringLiteral(node.arguments[0])
        && (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))) {
        specifier = node.arguments[0].text;
      } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
        specifier = node.argument.literal.text;
      }
      if (specifier) {
        if (specifier.startsWith('.')) {
          const target = resolveImport(root, file, specifier, known);
          if (target && target !== file) targets.add(target);
        } else {
          outside.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.startsWith('node:') ? specifier : specifier.split('/')[0]);
        }
      }
      if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) || ts.isArrowFunction(node)
        || ts.isFunctionExpression(node) || ts.isConstructorDeclaration(node)) && node.body) {
        const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
        const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
        functions.push({ file, name: functionName(node, source), line: start + 1, lines: end - start + 1 });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
    imports.set(file, targets);
    external.set(file, outside);
  }
  return { files, imports, external, lines, functions };
}

/**
 * The unit a file belongs to when floors are compared: `daemon/<folder>` for files in a
 * daemon folder, `web` for the web app, and the file itself for files at daemon/'s top
 * (app.ts, main.ts).
 */
export function unitOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] === 'web') return 'web';
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : file;
}

/**
 * The floors of the house, bottom first. A unit (a daemon folder, a file at daemon/'s
 * top, or web) imports only units on its own floor or below; a new unit must be
 * given a floor here. The flow of a picture reads upwards: the schedule drives the
 * capture, which runs the pipeline and commits into storage; videos, sync, health
 * and the faces (web, control socket, doctor, backup) read what storage holds; the
 * composition root and the CLI build it all.
 */
export const FLOORS: ReadonlyArray<{ name: string; units: readonly string[] }> = [
  {
    name: 'vocabulary and plumbing',
    units: ['daemon/domain', 'daemon/errors.ts', 'daemon/error-causes.ts', 'daemon/secrets.ts', 'daemon/logger.ts', 'daemon/limiter.ts', 'daemon/doorbell.ts', 'daemon/settled.ts', 'daemon/package-info.ts', 'daemon/markup.ts', 'daemon/process.ts', 'daemon/lifecycle.ts', 'daemon/allocator.ts', 'daemon/i18n'],
  },
  { name: 'configuration, data folder, hardware', units: ['daemon/config', 'daemon/files', 'daemon/hardware'] },
  { name: 'database', units: ['daemon/store'] },
  { name: 'picture processing', units: ['daemon/pipeline'] },
  { name: 'pictures on disk', units: ['daemon/storage'] },
  // Share links check their maker's level through auth, and are made by progress e-mails above.
  { name: 'users, settings, share links and sync', units: ['daemon/auth', 'daemon/settings', 'daemon/shares', 'daemon/sync'] },
  { name: 'cameras', units: ['daemon/capture'] },
  { name: 'schedule', units: ['daemon/schedule'] },
  // Progress e-mails send through health's SMTP transport and are shown by the box's state.
  { name: 'videos and health', units: ['daemon/timelapse', 'daemon/health', 'daemon/progress'] },
  { name: "the box's state", units: ['daemon/status.service.ts'] },
  { name: 'the fleet', units: ['daemon/mqtt'] },
  { name: 'faces', units: ['web', 'daemon/control', 'daemon/doctor', 'daemon/backup'] },
  { name: 'composition and entry', units: ['daemon/app.ts', 'daemon/compose', 'daemon/cli', 'daemon/main.ts', 'daemon/service-manager.ts'] },
];

/** Which libraries (and Node modules that reach outside) only their adapters may import. */
export const ADAPTERS: ReadonlyArray<{ module: string; allowed: readonly string[] }> = [
  { module: 'sharp', allowed: ['daemon/pipeline/'] },
  { module: 'better-sqlite3', allowed: ['daemon/store/'] },
  { module: 'ssh2-sftp-client', allowed: ['daemon/sync/sftp.transport.ts'] },
  { module: '@aws-sdk/client-s3', allowed: ['daemon/sync/s3.transport.ts'] },
  { module: '@smithy/types', allowed: ['daemon/sync/s3.transport.ts'] },
  { module: 'onoff', allowed: ['daemon/hardware/'] },
  { module: 'systeminformation', allowed: ['daemon/health/system-probe.ts'] },
  { module: 'fluent-ffmpeg', allowed: ['daemon/timelapse/ffmpeg.runner.ts'] },
  // Every other program runs through the one runner: own process group, TERM then KILL, capped output.
  { module: 'node:child_process', allowed: ['daemon/process.ts'] },
  { module: 'child_process', allowed: ['daemon/process.ts'] },
  { module: 'nodemailer', allowed: ['daemon/health/channels.ts'] },
  { module: 'mqtt', allowed: ['daemon/mqtt/broker.ts'] },
  { module: 'unix-dgram', allowed: ['daemon/service-manager.ts'] },
  { module: 'express', allowed: ['web/', 'daemon/control/server.ts'] },
  // The QR code of a share link, made where the link is given out.
  { module: 'qrcode', allowed: ['web/shares.routes.ts'] },
  // People's words: the catalogs format them, and pick the reader's language.
  { module: 'intl-messageformat', allowed: ['daemon/i18n/catalogs.ts'] },
  { module: 'negotiator', allowed: ['daemon/i18n/catalogs.ts'] },
];

/** Imports that go up a floor, and units with no floor. */
export function floorViolations(graph: ImportGraph): string[] {
  const floorOf = new Map<string, number>();
  FLOORS.forEach((floor, i) => floor.units.forEach((unit) => floorOf.set(unit, i)));
  const problems = new Set<string>();
  for (const [file, targets] of graph.imports) {
    const from = unitOf(file);
    if (!floorOf.has(from)) problems.add(`${from} has no floor in FLOORS (scripts/architecture.ts)`);
    for (const target of targets) {
      const to = unitOf(target);
      if (from === to || !floorOf.has(from) || !floorOf.has(to)) continue;
      if (floorOf.get(to)! > floorOf.get(from)!) {
        problems.add(`${file} imports ${target}: "${FLOORS[floorOf.get(to)!].name}" stands above "${FLOORS[floorOf.get(from)!].name}"`);
      }
    }
  }
  return [...problems].sort();
}

/** Files importing an outside library that only its adapter may import. */
export function adapterViolations(graph: ImportGraph): string[] {
  const problems: string[] = [];
  for (const [file, modules] of graph.external) {
    for (const rule of ADAPTERS) {
      if (modules.has(rule.module) && !rule.allowed.some((a) => (a.endsWith('/') ? file.startsWith(a) : file === a))) {
        problems.push(`${file} imports ${rule.module}, which only ${rule.allowed.join(', ')} may import`);
      }
    }
  }
  return problems.sort();
}

/** Pairs of units that import each other, each pair once, sorted. */
export function mutualPairs(graph: ImportGraph): string[] {
  const edges = new Set<string>();
  for (const [file, targets] of graph.imports) {
    for (const target of targets) {
      const a = unitOf(file);
      const b = unitOf(target);
      if (a !== b) edges.add(`${a} -> ${b}`);
    }
  }
  const pairs = new Set<string>();
  for (const edge of edges) {
    const [a, b] = edge.split(' -> ');
    if (edges.has(`${b} -> ${a}`)) pairs.add([a, b].sort().join(' <-> '));
  }
  return [...pairs].sort();
}

/** Which files of unit `from` import which files of unit `to` (to find what makes a pair). */
export function edgesBetween(graph: ImportGraph, from: string, to: string): string[] {
  const out: string[] = [];
  for (const [file, targets] of graph.imports) {
    if (unitOf(file) !== from) continue;
    for (const target of targets) if (unitOf(target) === to) out.push(`${file} -> ${target}`);
  }
  return out.sort();
}

/** Groups of files that reach each other through imports (Tarjan's strongly connected components of size > 1). */
export function fileCircles(graph: ImportGraph): string[][] {
  let index = 0;
  const stack: string[] = [];
  const onStack = new Set<string>();
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const circles: string[][] = [];
  const connect = (v: string): void => {
    indexOf.set(v, index);
    low.set(v, index);
    index += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.imports.get(v) ?? []) {
      if (!indexOf.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, indexOf.get(w)!));
      }
    }
    if (low.get(v) === indexOf.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) circles.push(group.sort());
    }
  };
  for (const file of graph.files) if (!indexOf.has(file)) connect(file);
  return circles.sort((a, b) => b.length - a.length);
}

function main(): void {
  const root = resolve(process.argv[2] ?? process.cwd());
  const graph = readImportGraph(root);
  const total = [...graph.lines.values()].reduce((a, b) => a + b, 0);
  console.log(`product files: ${graph.files.length}, lines: ${total}`);
  const pairs = mutualPairs(graph);
  console.log(`\nfolder pairs importing each other: ${pairs.length}`);
  for (const pair of pairs) {
    const [a, b] = pair.split(' <-> ');
    console.log(`  ${pair}`);
    for (const edge of [...edgesBetween(graph, a, b), ...edgesBetween(graph, b, a)]) console.log(`      ${edge}`);
  }
  const circles = fileCircles(graph);
  console.log(`\nfile circles: ${circles.length}`);
  for (const circle of circles) console.log(`  (${circle.length}) ${circle.join(', ')}`);
  const floors = floorViolations(graph);
  console.log(`\nimports against the floors: ${floors.length}`);
  for (const problem of floors) console.log(`  ${problem}`);
  const adapters = adapterViolations(graph);
  console.log(`\nlibraries outside their adapters: ${adapters.length}`);
  for (const problem of adapters) console.log(`  ${problem}`);
  console.log('\nlargest files:');
  for (const [file, n] of [...graph.lines].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`  ${String(n).padStart(5)}  ${file}`);
  console.log('\nlargest functions:');
  for (const f of [...graph.functions].sort((a, b) => b.lines - a.lines).slice(0, 12)) {
    console.log(`  ${String(f.lines).padStart(5)}  ${f.file}:${f.line} ${f.name}`);
  }
  const app = graph.functions.filter((f) => COMPOSITION_ROOT.includes(f.file)).sort((a, b) => b.lines - a.lines)[0];
  if (app) console.log(`\nlongest function in the composition root (${COMPOSITION_ROOT.join(', ')}): ${app.file}:${app.line} ${app.name} (${app.lines} lines)`);
}

if (require.main === module) main();
