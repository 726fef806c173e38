import { execFileSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { createLogger, setLogLevels } from '../../daemon/logger';

/** A destination that keeps the lines written to it. */
function sink() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { stream, lines, parsed: () => lines.map((l) => JSON.parse(l.replace(/^<\d>/, '')) as Record<string, unknown>) };
}

describe('logger', () => {
  const saved = process.env['LAPSEBOX_LOG_LEVEL'];
  beforeEach(() => delete process.env['LAPSEBOX_LOG_LEVEL']);
  afterAll(() => {
    if (saved !== undefined) process.env['LAPSEBOX_LOG_LEVEL'] = saved;
  });

  it('writes one JSON line per event with its module and source, and a level per module', () => {
    const out = sink();
    const root = createLogger({ levels: { level: 'info', modules: { sync: 'debug' } }, destination: out.stream, journal: false });
    const sync = root.child({ module: 'sync' });
    const target = sync.child({ target: 'hq' });
    const capture = root.child({ module: 'capture' });
    target.debug({ file: 'a.jpg' }, 'sent');
    capture.debug({ source: 'north' }, 'not shown');
    capture.info({ source: 'north' }, 'picture captured');
    expect(out.parsed().map((l) => [l['level'], l['module'], l['target'] ?? l['source'], l['msg']])).toEqual([
      ['debug', 'sync', 'hq', 'sent'],
      ['info', 'capture', 'north', 'picture captured'],
    ]);
    expect(out.lines.every((l) => l.startsWith('{"level":'))).toBe(true);
  });

  it('changes the level of loggers already made when the levels change (a reload)', () => {
    const out = sink();
    const root = createLogger({ levels: { level: 'info' }, destination: out.stream, journal: false });
    const sync = root.child({ module: 'sync' }).child({ target: 'hq' });
    const web = root.child({ module: 'web' });
    sync.debug('before');
    setLogLevels(root, { level: 'warn', modules: { sync: 'debug' } });
    sync.debug('after');
    web.info('hidden now');
    web.warn('still shown');
    root.info('hidden too');
    expect(out.parsed().map((l) => l['msg'])).toEqual(['after', 'still shown']);
    expect(sync.isLevelEnabled('debug')).toBe(true);
    expect(web.isLevelEnabled('info')).toBe(false);
  });

  it('lets LAPSEBOX_LOG_LEVEL win over the file', () => {
    process.env['LAPSEBOX_LOG_LEVEL'] = 'debug';
    const out = sink();
    const root = createLogger({ levels: { level: 'warn', modules: { web: 'error' } }, destination: out.stream, journal: false });
    root.child({ module: 'web' }).debug('shown');
    expect(out.parsed().map((l) => l['msg'])).toEqual(['shown']);
  });

  it('prefixes lines with their syslog priority for journald, so journalctl -p err finds errors', () => {
    const out = sink();
    const root = createLogger({ levels: { level: 'debug' }, destination: out.stream, journal: true });
    root.error('e');
    root.warn('w');
    root.info('i');
    root.debug('d');
    expect(out.lines.map((l) => l.slice(0, 3))).toEqual(['<3>', '<4>', '<6>', '<7>']);
    expect(out.parsed().map((l) => l['msg'])).toEqual(['e', 'w', 'i', 'd']);
  });

  it('never writes a password, whatever the module', () => {
    const out = sink();
    const root = createLogger({ levels: { level: 'info' }, destination: out.stream, journal: false });
    root.child({ module: 'sync' }).info({ target: { password: 'hunter2' }, password: 'hunter2' }, 'connecting');
    expect(out.lines.join('\n')).not.toContain('hunter2');
  });
  it('masks the secrets of URLs in every line, whatever holds them: message, error, binding, field; journal lines too', () => {
    for (const journal of [false, true]) {
      const out = sink();
      const log = createLogger({ levels: { level: 'info' }, destination: out.stream, journal }).child({ module: 'capture', camera: 'rtsp://viewer:rtsp-pass@192.0.2.3/stream' });
      log.error(new Error('cannot open http://admin:hunter2@192.0.2.4/snap.jpg?pwd=letmein&size=2'));
      log.warn({ url: 'https://hooks.example/x?token=t0ken-value' }, 'camera rtsp://u:p4ssw0rd@192.0.2.5:554/a did not answer');
      const text = out.lines.join('\n');
      expect(text).not.toMatch(/rtsp-pass|hunter2|letmein|t0ken-value|p4ssw0rd/);
      expect(text).toContain('rtsp://viewer:***@192.0.2.3/stream');
      expect(text).toContain('http://admin:***@192.0.2.4/snap.jpg?pwd=***&size=2');
      expect(text).toContain('camera rtsp://u:***@192.0.2.5:554/a did not answer');
      expect(out.parsed()).toHaveLength(2);
    }
  });
});

describe('logger on stdout', () => {
  // The compiled logger in a child process, so its stdout is a real pipe or a real terminal.
  const program = `const { createLogger } = require(${JSON.stringify(require.resolve('../../dist/daemon/logger'))});
    createLogger().child({ module: 'capture' }).warn({ camera: 'rtsp://admin:hunter2@10.0.0.9/live' }, 'camera slow');`;
  const env = { ...process.env, LAPSEBOX_LOG_FORMAT: '', JOURNAL_STREAM: '' };

  it('writes JSON lines into a pipe (journald, a file, jq)', () => {
    const out = execFileSync(process.execPath, ['-e', program], { env, encoding: 'utf8' });
    expect(JSON.parse(out.trim())).toMatchObject({ level: 'warn', module: 'capture', msg: 'camera slow', camera: 'rtsp://admin:***@10.0.0.9/live' });
  });

  it('writes readable lines to a terminal, secrets masked all the same', () => {
    // util-linux's script(1) gives the child a real pseudo-terminal as stdout.
    const out = execFileSync('script', ['-qec', `${process.execPath} -e "$LB_PROGRAM"`, '/dev/null'], { env: { ...env, LB_PROGRAM: program }, encoding: 'utf8' });
    const plain = out.replace(/\u001b\[[0-9;]*m/g, '').trim();
    expect(plain).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: \[capture\] camera slow \{"camera":"rtsp:\/\/admin:\*\*\*@10\.0\.0\.9\/live"\}$/);
    expect(out).not.toContain('hunter2');
  });

  it('can be told either way with LAPSEBOX_LOG_FORMAT', () => {
    const out = execFileSync(process.execPath, ['-e', program], { env: { ...env, LAPSEBOX_LOG_FORMAT: 'pretty' }, encoding: 'utf8' });
    expect(out).toMatch(/WARN: \[capture\] camera slow/);
    expect(out).not.toContain('hunter2');
  });
});
