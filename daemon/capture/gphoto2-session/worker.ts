/**
 * The gphoto2 session worker: one camera kept open by libgphoto2, through the `gphoto2`
 * binding, in a process of its own (forked by Gphoto2SessionCamera, in its own process
 * group). A USB call that hangs hangs this process, which the daemon kills and replaces;
 * the daemon itself never calls libgphoto2.
 *
 * Keeping the camera open is what makes it fast: the gphoto2 program opens the camera
 * for each shot and then drains its events for 3 s; here a shot is the capture and the
 * download alone.
 *
 * It answers the requests of protocol.ts one at a time, and exits when its channel closes
 * (the daemon went away), so it never outlives it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { EXPOSURE_SETTINGS, RAMP_SETTINGS, type CameraInfo, type Hello, type ListedCamera, type Reply, type Request, type WorkerFailure } from './protocol';

/** The parts of the `gphoto2` binding (0.3) this worker uses. */
interface ConfigNode {
  label?: string;
  type?: string;
  value?: unknown;
  choices?: unknown[];
  children?: Record<string, ConfigNode>;
}
interface BindingCamera {
  model: string;
  port: string;
  getConfig(cb: (err: number | undefined, tree: Record<string, ConfigNode>) => void): void;
  setConfigValue(name: string, value: string | number, cb: (err: number | undefined) => void): void;
  takePicture(options: { targetPath: string; keep?: boolean }, cb: (err: number | undefined, file?: string) => void): void;
}
interface Binding {
  GPhoto2: new () => { list(cb: (cameras: BindingCamera[]) => void): void };
}

class Failure extends Error {
  constructor(
    readonly code: number | null,
    message: string,
  ) {
    super(message);
  }
}

const send = (message: Reply | Hello) => process.send?.(message);

let gphoto2: InstanceType<Binding['GPhoto2']> | null = null;
let camera: BindingCamera | null = null;

function load(): Hello['binding'] {
  try {
    const binding = require('gphoto2') as Binding;
    gphoto2 = new binding.GPhoto2();
    return { ok: true };
  } catch (err) {
    return { ok: false, error: (err instanceof Error ? err.message : String(err)).split('\n')[0]! };
  }
}

function list(): Promise<BindingCamera[]> {
  return new Promise((resolve) => gphoto2!.list((cameras) => resolve(cameras)));
}

function call<T>(what: string, run: (cb: (err: number | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    run((err, value) => {
      if (typeof err === 'number' && err < 0) reject(new Failure(err, `${what} failed`));
      else resolve(value as T);
    });
  });
}

/** Every setting of the tree by its short name (gphoto2's --set-config NAME), section folders flattened. */
function flatten(tree: Record<string, ConfigNode>, into = new Map<string, ConfigNode>()): Map<string, ConfigNode> {
  for (const [name, node] of Object.entries(tree)) {
    if (node.children && (node.type === 'window' || node.type === 'section' || node.value === undefined)) flatten(node.children, into);
    else into.set(name, node);
  }
  return into;
}

async function settings(): Promise<Map<string, ConfigNode>> {
  const tree = await call<Record<string, ConfigNode>>('reading the configuration', (cb) => open().getConfig(cb));
  return flatten(tree);
}

function open(): BindingCamera {
  if (!camera) throw new Failure(null, 'no camera is open');
  return camera;
}

const text = (node: ConfigNode | undefined): string | null => (node === undefined || node.value === undefined || node.value === null ? null : String(node.value));

async function info(): Promise<CameraInfo> {
  const all = await settings();
  const exposure: Record<string, string> = {};
  for (const name of EXPOSURE_SETTINGS) {
    const value = text(all.get(name));
    if (value !== null) exposure[name] = value;
  }
  const choices: Record<string, string[]> = {};
  for (const name of Object.values(RAMP_SETTINGS).flat()) {
    const node = all.get(name);
    if (node && Array.isArray(node.choices) && node.choices.length > 0) choices[name] = node.choices.map(String);
  }
  const { model, port } = open();
  return { model, port, serial: text(all.get('serialnumber')), battery: text(all.get('batterylevel')), exposure, choices };
}

/**
 * Sets each value, then reads them all back: a camera that keeps another value (a
 * choice it does not have, a dial that overrides it) is said by name.
 */
async function configure(wanted: { name: string; value: string }[]): Promise<{ name: string; value: string }[]> {
  const before = await settings();
  for (const { name: given, value } of wanted) {
    // "/main/imgsettings/iso" as --list-config prints it is "iso" here.
    const name = given.split('/').pop()!;
    const node = before.get(name);
    if (!node) throw new Failure(null, `the camera has no setting "${name}" (lapsebox cameras lists what it has)`);
    if (Array.isArray(node.choices) && node.choices.length > 0 && !node.choices.map(String).includes(value)) {
      throw new Failure(null, `"${value}" is not one of the camera's choices for ${name}: ${node.choices.map(String).join(', ')}`);
    }
    const typed = node.type === 'range' || node.type === 'toggle' ? Number(value) : value;
    await call<void>(`setting ${name}`, (cb) => open().setConfigValue(name, typed, cb));
  }
  const after = await settings();
  return wanted.map(({ name }) => ({ name, value: text(after.get(name.split('/').pop()!)) ?? '' }));
}

async function capture(folder: string): Promise<{ file: string }> {
  const file = await call<string>('the capture', (cb) => open().takePicture({ targetPath: path.join(folder, 'shot.XXXXXX') }, cb));
  if (typeof file !== 'string' || !fs.existsSync(file)) throw new Failure(null, 'the capture downloaded no file');
  return { file };
}

async function handle(request: Request): Promise<unknown> {
  switch (request.op) {
    case 'list':
      return (await list()).map(({ model, port }): ListedCamera => ({ model, port }));
    case 'open': {
      const found = (await list()).find((c) => c.port === request.port);
      if (!found) throw new Failure(-52, `no camera at ${request.port}`);
      camera = found;
      return info();
    }
    case 'configure':
      return configure(request.settings);
    case 'capture':
      return capture(request.folder);
    case 'info':
      return info();
  }
}

function failure(err: unknown): WorkerFailure {
  if (err instanceof Failure) return { code: err.code, message: err.message };
  return { code: null, message: err instanceof Error ? err.message : String(err) };
}

// The daemon went away: so does the worker, and the kernel releases the camera. Not by
// process.exit: on the way out node waits for libuv's threads, and one stuck in a USB call
// never returns (an orphaned worker was found an hour after its daemon was killed).
process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
const binding = load();
send({ hello: true, binding });
if (binding.ok) {
  process.on('message', (request: Request) => {
    handle(request).then(
      (value) => send({ id: request.id, ok: true, value }),
      (err: unknown) => send({ id: request.id, ok: false, error: failure(err) }),
    );
  });
}
