/**
 * Reading an OpenAPI document and comparing it with the routes an express app
 * serves: the (method, path) pairs both ways, and the access rule each route
 * declares. Also the document's schemas compiled with ajv (JSON Schema 2020-12,
 * strict), to check real answers against them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import YAML from 'yaml';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

const ROOT = path.join(__dirname, '..', '..');
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** The parts of an OpenAPI 3.1 document these checks read. */
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, PathItem>;
  components?: {
    schemas?: Record<string, unknown>;
    parameters?: Record<string, Parameter>;
    responses?: Record<string, Response>;
  };
  security?: Record<string, string[]>[];
  [key: string]: unknown;
}
export type PathItem = Partial<Record<(typeof METHODS)[number], Operation>> & { parameters?: (Parameter | Ref)[] };
export interface Operation {
  operationId?: string;
  parameters?: (Parameter | Ref)[];
  responses: Record<string, Response | Ref>;
  security?: Record<string, string[]>[];
  'x-lapsebox-access'?: unknown;
  [key: string]: unknown;
}
export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: unknown;
}
export interface Response {
  description: string;
  content?: Record<string, { schema?: unknown }>;
}
interface Ref {
  $ref: string;
}

/** One documented operation, `GET /api/sources/{id}`, with what the checks need. */
export interface DocumentedOperation {
  key: string;
  method: string;
  path: string;
  operation: Operation;
  /** Path-level and operation-level parameters, references resolved. */
  parameters: Parameter[];
  /** The operation's own security, else the document's. */
  security: Record<string, string[]>[];
}

/** A route as the app declares it (web/routes.ts `DeclaredRoute`, or one found by walking a router). */
export interface ServedRoute {
  method: string;
  path: string;
  rule?: unknown;
}

export function loadOpenApi(file: string): OpenApiDocument {
  return YAML.parse(fs.readFileSync(file, 'utf8')) as OpenApiDocument;
}

/**
 * An express 5 path as an OpenAPI path template: `:id` and the wildcard `*file`
 * become `{id}` and `{file}`. Any other syntax (optional `{...}` parts, regular
 * expressions) throws, rather than comparing a path that cannot match.
 */
export function openApiPath(expressPath: string): string {
  const out = expressPath.replace(/[:*]([A-Za-z_$][A-Za-z0-9_$]*)/g, '{$1}');
  const rest = out.replace(/\{[A-Za-z_$][A-Za-z0-9_$]*\}/g, '');
  if (/[:*?(){}\[\]+]/.test(rest)) throw new Error(`cannot write the express path ${expressPath} as an OpenAPI path`);
  return out;
}

function resolve<T>(doc: OpenApiDocument, value: T | Ref): T {
  if (value && typeof value === 'object' && '$ref' in value) {
    const parts = value.$ref.replace(/^#\//, '').split('/');
    let node: unknown = doc;
    for (const part of parts) node = (node as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    if (node === undefined) throw new Error(`unresolved reference ${value.$ref}`);
    return resolve(doc, node as T | Ref);
  }
  return value as T;
}

export function documentedOperations(doc: OpenApiDocument): DocumentedOperation[] {
  return Object.entries(doc.paths ?? {}).flatMap(([p, item]) =>
    METHODS.flatMap((m) => {
      const operation = item[m];
      if (!operation) return [];
      const byKey = new Map<string, Parameter>();
      for (const raw of [...(item.parameters ?? []), ...(operation.parameters ?? [])]) {
        const parameter = resolve<Parameter>(doc, raw);
        byKey.set(`${parameter.in}:${parameter.name}`, parameter);
      }
      return [{ key: `${m.toUpperCase()} ${p}`, method: m.toUpperCase(), path: p, operation, parameters: [...byKey.values()], security: operation.security ?? doc.security ?? [] }];
    }),
  );
}

/** `served but not documented: ...` and `documented but not served: ...`, one line per route. */
export function routeDifferences(served: readonly ServedRoute[], doc: OpenApiDocument): string[] {
  const servedKeys = new Set(served.map((r) => `${r.method} ${openApiPath(r.path)}`));
  const documentedKeys = new Set(documentedOperations(doc).map((o) => o.key));
  return [
    ...[...servedKeys].filter((k) => !documentedKeys.has(k)).map((k) => `served but not documented: ${k}`),
    ...[...documentedKeys].filter((k) => !servedKeys.has(k)).map((k) => `documented but not served: ${k}`),
  ];
}

/** Each documented route whose `x-lapsebox-access` is not the rule the route declares. */
export function accessDifferences(served: readonly ServedRoute[], doc: OpenApiDocument): string[] {
  const documented = new Map(documentedOperations(doc).map((o) => [o.key, o.operation['x-lapsebox-access']]));
  return served.flatMap((r) => {
    const key = `${r.method} ${openApiPath(r.path)}`;
    if (!documented.has(key)) return [];
    const access = documented.get(key);
    return canonical(access) === canonical(r.rule) ? [] : [`${key}: declared ${JSON.stringify(r.rule)}, documented x-lapsebox-access ${JSON.stringify(access)}`];
  });
}

/** JSON with the keys of objects sorted: equal for equal values, whatever the order of keys or the realm objects come from. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v));
}

/** Each path template parameter without a required `in: path` parameter, and each path parameter not in the template. */
export function pathParameterDifferences(doc: OpenApiDocument): string[] {
  return documentedOperations(doc).flatMap((o) => {
    const inTemplate = [...o.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    const declared = o.parameters.filter((p) => p.in === 'path');
    return [
      ...inTemplate.filter((n) => !declared.some((p) => p.name === n && p.required === true)).map((n) => `${o.key}: no required path parameter "${n}"`),
      ...declared.filter((p) => !inTemplate.includes(p.name)).map((p) => `${o.key}: path parameter "${p.name}" is not in the path`),
    ];
  });
}

/**
 * Validates an OpenAPI file with @seriousme/openapi-schema-validator (the OpenAPI
 * Initiative's JSON schemas for 2.0 to 3.2, and a check that every `$ref`
 * resolves). The package is ESM only, which Jest's CommonJS runtime cannot
 * import, so it runs in a child node.
 */
export function validateOpenApiFile(file: string): { version: string | null; valid: boolean; errors?: unknown } {
  const script = [
    "import { Validator } from '@seriousme/openapi-schema-validator';",
    'const validator = new Validator();',
    'const result = await validator.validate(process.argv[1]);',
    'console.log(JSON.stringify({ version: validator.version ?? null, ...result }));',
  ].join('\n');
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script, path.resolve(file)], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(out) as { version: string | null; valid: boolean; errors?: unknown };
}

const SCHEMA_BASE = 'https://lapsebox.invalid/openapi/schemas/';

/** A deep copy with `#/components/schemas/X` references pointing at the schemas added to ajv. */
function withAjvRefs(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withAjvRefs);
  if (schema && typeof schema === 'object') {
    return Object.fromEntries(
      Object.entries(schema).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/') ? `${SCHEMA_BASE}${v.slice('#/components/schemas/'.length)}` : withAjvRefs(v)]),
    );
  }
  return schema;
}

/**
 * The document's schemas in ajv, strict: an unknown keyword (a typo such as
 * `requried`) or a contradiction fails to compile. OpenAPI's own schema keywords
 * are allowed.
 */
export class OpenApiSchemas {
  readonly #doc: OpenApiDocument;
  readonly #ajv: Ajv2020;
  readonly #compiled = new Map<unknown, ValidateFunction>();

  constructor(doc: OpenApiDocument) {
    this.#doc = doc;
    this.#ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
    addFormats(this.#ajv);
    this.#ajv.addVocabulary(['discriminator', 'xml', 'externalDocs', 'example']);
    for (const [name, schema] of Object.entries(doc.components?.schemas ?? {})) {
      this.#ajv.addSchema(withAjvRefs(schema) as object, `${SCHEMA_BASE}${name}`);
    }
  }

  /** Compiles every component schema and every schema of a parameter, request body or response; throws on the first bad one. */
  compileAll(): number {
    let count = 0;
    for (const name of Object.keys(this.#doc.components?.schemas ?? {})) {
      if (!this.#ajv.getSchema(`${SCHEMA_BASE}${name}`)) throw new Error(`schema ${name} did not compile`);
      count++;
    }
    for (const o of documentedOperations(this.#doc)) {
      const schemas: [string, unknown][] = [
        ...o.parameters.filter((p) => p.schema).map((p): [string, unknown] => [`parameter ${p.name}`, p.schema]),
        ...Object.entries(resolve<{ content?: Record<string, { schema?: unknown }> }>(this.#doc, (o.operation['requestBody'] as Ref | undefined) ?? {}).content ?? {}).map(
          ([type, media]): [string, unknown] => [`request body ${type}`, media.schema],
        ),
        ...Object.entries(o.operation.responses).flatMap(([status, r]) =>
          Object.entries(resolve<Response>(this.#doc, r).content ?? {}).map(([type, media]): [string, unknown] => [`${status} ${type}`, media.schema]),
        ),
      ];
      for (const [where, schema] of schemas) {
        if (schema === undefined) continue;
        try {
          this.#compile(schema);
        } catch (err) {
          throw new Error(`${o.key}, ${where}: ${(err as Error).message}`);
        }
        count++;
      }
    }
    return count;
  }

  #compile(schema: unknown): ValidateFunction {
    let fn = this.#compiled.get(schema);
    if (!fn) {
      fn = this.#ajv.compile(withAjvRefs(schema) as object);
      this.#compiled.set(schema, fn);
    }
    return fn;
  }

  /** What is wrong with `value` as an instance of the component schema `name` (`VideoJob`). */
  problemsOf(name: string, value: unknown, where = name): string[] {
    const validate = this.#ajv.getSchema(`${SCHEMA_BASE}${name}`);
    if (!validate) return [`no schema ${name}`];
    return validate(value) ? [] : (validate.errors ?? []).map((e) => `${where}: ${e.instancePath || '(value)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
  }

  /**
   * What is wrong with an answer of a documented operation: a status it does not
   * document, a media type it does not list, or a JSON body its schema refuses.
   */
  problems(operation: DocumentedOperation, status: number, contentType: string | null, body: unknown): string[] {
    const raw = operation.operation.responses[String(status)];
    if (!raw) return [`${operation.key} answered ${status}, which it does not document (documented: ${Object.keys(operation.operation.responses).join(', ')})`];
    const response = resolve<Response>(this.#doc, raw);
    const types = Object.keys(response.content ?? {});
    if (types.length === 0 || contentType === null) {
      return types.length === 0 && contentType === null ? [] : [`${operation.key} ${status}: content type ${contentType ?? 'none'}, documented ${types.join(', ') || 'none'}`];
    }
    const base = contentType.split(';')[0]!.trim().toLowerCase();
    const media = response.content![base];
    if (!media) return [`${operation.key} ${status}: content type ${base} is not among the documented ${types.join(', ')}`];
    if (base !== 'application/json' || media.schema === undefined) return [];
    const validate = this.#compile(media.schema);
    return validate(body) ? [] : (validate.errors ?? []).map((e) => `${operation.key} ${status}: ${e.instancePath || '(body)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
  }
}

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  rawPath?: string;
  slash?: boolean;
}

/** Every route an express 5 app serves, walked from its router stack (for apps that do not declare them, such as the control socket). */
export function walkRoutes(app: unknown): ServedRoute[] {
  const walk = (stack: Layer[], prefix: string): ServedRoute[] =>
    stack.flatMap((layer) => {
      if (layer.route) {
        return Object.keys(layer.route.methods)
          .filter((m) => layer.route!.methods[m] && m !== '_all')
          .map((m) => ({ method: m.toUpperCase(), path: `${prefix}${layer.route!.path}` }));
      }
      if (layer.handle?.stack) return walk(layer.handle.stack, layer.slash || layer.rawPath === undefined ? prefix : `${prefix}${layer.rawPath}`);
      return [];
    });
  return walk((app as { router: { stack: Layer[] } }).router.stack, '');
}
