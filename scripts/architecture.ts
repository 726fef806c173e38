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
  lines: Map<string, number>;
  functions: FunctionSize[];
}

const ROOTS = ['daemon', 'web'];

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
  const lines = new Map<string, number>();
  const functions: FunctionSize[] = [];
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
    lines.set(file, text.split('\n').length);
    const targets = new Set<string>();
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
        const target = resolveImport(root, file, specifier, known);
        if (target && target !== file) targets.add(target);
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
  }
  return { files, imports, lines, functions };
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
  console.log('\nlargest files:');
  for (const [file, n] of [...graph.lines].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`  ${String(n).padStart(5)}  ${file}`);
  console.log('\nlargest functions:');
  for (const f of [...graph.functions].sort((a, b) => b.lines - a.lines).slice(0, 12)) {
    console.log(`  ${String(f.lines).padStart(5)}  ${f.file}:${f.line} ${f.name}`);
  }
  const app = graph.functions.filter((f) => f.file === 'daemon/app.ts').sort((a, b) => b.lines - a.lines)[0];
  if (app) console.log(`\nlongest function in the composition root: ${app.name} (${app.lines} lines)`);
}

if (require.main === module) main();
