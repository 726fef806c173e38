/**
 * The shape of the house (docs/architecture.md) held as rules on the real import
 * graph of daemon/ and web/: no folder pair importing each other, no circle between
 * files, every import on its own floor or below, each outside library only in its
 * adapter, and short functions in the composition root. Each rule is also shown to
 * fail on a small graph that breaks it.
 */
import path from 'node:path';
import {
  type ImportGraph,
  COMPOSITION_ROOT,
  adapterViolations,
  fileCircles,
  floorViolations,
  mutualPairs,
  readImportGraph,
} from '../../scripts/architecture';

const ROOT = path.resolve(__dirname, '..', '..');
const LONGEST_FUNCTION = 80;

function graphOf(imports: Record<string, string[]>, external: Record<string, string[]> = {}): ImportGraph {
  const files = Object.keys(imports).sort();
  return {
    files,
    imports: new Map(files.map((f) => [f, new Set(imports[f])])),
    external: new Map(files.map((f) => [f, new Set(external[f] ?? [])])),
    lines: new Map(files.map((f) => [f, 1])),
    functions: [],
  };
}

describe('architecture', () => {
  const sut = readImportGraph(ROOT);

  it('reads the whole product code', () => {
    expect(sut.files.length).toBeGreaterThan(100);
    expect(sut.files).toContain('daemon/app.ts');
    expect(sut.imports.get('daemon/app.ts')!.size).toBeGreaterThan(5);
  });

  it('has no folder pair importing each other', () => {
    expect(mutualPairs(sut)).toEqual([]);
  });

  it('has no circle between files', () => {
    expect(fileCircles(sut)).toEqual([]);
  });

  it('imports only on the same floor or below, and every folder has a floor', () => {
    expect(floorViolations(sut)).toEqual([]);
  });

  it('keeps each outside library inside its adapter', () => {
    expect(adapterViolations(sut)).toEqual([]);
  });

  it(`has no function over ${LONGEST_FUNCTION} lines in the composition root`, () => {
    const long = sut.functions
      .filter((f) => COMPOSITION_ROOT.includes(f.file) && f.lines > LONGEST_FUNCTION)
      .map((f) => `${f.file}:${f.line} ${f.name} (${f.lines} lines)`);
    expect(long).toEqual([]);
  });

  describe('the checks fail on a graph that breaks them', () => {
    it('names a folder pair importing each other', () => {
      const broken = graphOf({ 'daemon/files/a.ts': ['daemon/sync/b.ts'], 'daemon/sync/b.ts': ['daemon/files/c.ts'], 'daemon/files/c.ts': [] });
      expect(mutualPairs(broken)).toEqual(['daemon/files <-> daemon/sync']);
    });

    it('names the files of a circle', () => {
      const broken = graphOf({ 'web/app.ts': ['web/a.routes.ts'], 'web/a.routes.ts': ['web/deps.ts'], 'web/deps.ts': ['web/app.ts'], 'web/x.ts': [] });
      expect(fileCircles(broken)).toEqual([['web/a.routes.ts', 'web/app.ts', 'web/deps.ts']]);
    });

    it('names an import going up a floor, and a folder without a floor', () => {
      const broken = graphOf({ 'daemon/store/a.repository.ts': ['daemon/pipeline/plan.ts'], 'daemon/pipeline/plan.ts': [], 'daemon/zigbee/client.ts': [] });
      expect(floorViolations(broken)).toEqual([
        'daemon/store/a.repository.ts imports daemon/pipeline/plan.ts: "picture processing" stands above "database"',
        'daemon/zigbee has no floor in FLOORS (scripts/architecture.ts)',
      ]);
    });

    it('puts the fleet above the box\'s state and below the faces', () => {
      const broken = graphOf({
        'daemon/health/alerts.ts': ['daemon/mqtt/topics.ts'],
        'daemon/mqtt/topics.ts': [],
        'daemon/mqtt/payloads.ts': ['daemon/status.service.ts'],
        'daemon/status.service.ts': [],
        'daemon/doctor/mqtt.ts': ['daemon/mqtt/topics.ts'],
      });
      expect(floorViolations(broken)).toEqual(['daemon/health/alerts.ts imports daemon/mqtt/topics.ts: "the fleet" stands above "videos and health"']);
    });

    it('names a library used outside its adapter', () => {
      const broken = graphOf({ 'daemon/capture/x.camera.ts': [], 'daemon/pipeline/p.ts': [] }, { 'daemon/capture/x.camera.ts': ['sharp'], 'daemon/pipeline/p.ts': ['sharp'] });
      expect(adapterViolations(broken)).toEqual(['daemon/capture/x.camera.ts imports sharp, which only daemon/pipeline/ may import']);
    });

    it('allows MQTT.js in the broker file only, not in the rest of its folder', () => {
      const broken = graphOf({ 'daemon/mqtt/broker.ts': [], 'daemon/mqtt/mqtt.service.ts': [] }, { 'daemon/mqtt/broker.ts': ['mqtt'], 'daemon/mqtt/mqtt.service.ts': ['mqtt'] });
      expect(adapterViolations(broken)).toEqual(['daemon/mqtt/mqtt.service.ts imports mqtt, which only daemon/mqtt/broker.ts may import']);
    });
  });
});
