/**
 * The box's topics on the broker (SPEC §8), and how a command topic reads. Pure: the
 * service, the doctor and `lapsebox fleet` all name topics through here.
 */

/** Where one box publishes: `<topicPrefix>/<appliance.id>`. */
export interface BoxTopics {
  /** `<prefix>/<box>` */
  base: string;
  /** Retained `online`; `offline` as the last will and on a clean stop. */
  availability: string;
  /** Retained JSON: the box as a whole. */
  state: string;
  /** Alerts raised and cleared, QoS 1, not retained. */
  events: string;
  /** A topic the doctor publishes on and reads back, never retained. */
  doctor: string;
  /** Retained JSON of one source. */
  sourceState(sourceId: string): string;
  /** The command topics, and the topic a command is answered on. */
  capture(sourceId: string): string;
  enabledSet(sourceId: string): string;
  reply(commandTopic: string): string;
  /** What the box subscribes to when commands are on. */
  commandFilters: string[];
}

export const AVAILABLE = 'online';
export const NOT_AVAILABLE = 'offline';

export function boxTopics(prefix: string, boxId: string): BoxTopics {
  const base = `${prefix}/${boxId}`;
  return {
    base,
    availability: `${base}/availability`,
    state: `${base}/state`,
    events: `${base}/events`,
    doctor: `${base}/doctor`,
    sourceState: (id) => `${base}/${id}/state`,
    capture: (id) => `${base}/${id}/capture`,
    enabledSet: (id) => `${base}/${id}/enabled/set`,
    reply: (topic) => `${topic}/reply`,
    commandFilters: [`${base}/+/capture`, `${base}/+/enabled/set`],
  };
}

export type Command = { kind: 'capture'; sourceId: string } | { kind: 'enabled'; sourceId: string };

/** The command a topic under `base` names, or null for any other topic. */
export function parseCommandTopic(base: string, topic: string): Command | null {
  if (!topic.startsWith(`${base}/`)) return null;
  const levels = topic.slice(base.length + 1).split('/');
  const sourceId = levels[0] ?? '';
  if (sourceId === '') return null;
  if (levels.length === 2 && levels[1] === 'capture') return { kind: 'capture', sourceId };
  if (levels.length === 3 && levels[1] === 'enabled' && levels[2] === 'set') return { kind: 'enabled', sourceId };
  return null;
}

/** What a fleet reader subscribes to under a prefix: every box's availability and states. */
export function fleetFilters(prefix: string): string[] {
  return [`${prefix}/+/availability`, `${prefix}/+/state`, `${prefix}/+/+/state`];
}

/** Which box (and source) a topic read by the fleet belongs to, and what it is. */
export function parseFleetTopic(
  prefix: string,
  topic: string,
): { box: string; kind: 'availability' | 'state' } | { box: string; kind: 'source'; sourceId: string } | null {
  if (!topic.startsWith(`${prefix}/`)) return null;
  const levels = topic.slice(prefix.length + 1).split('/');
  if (levels.length === 2 && levels[1] === 'availability') return { box: levels[0]!, kind: 'availability' };
  if (levels.length === 2 && levels[1] === 'state') return { box: levels[0]!, kind: 'state' };
  if (levels.length === 3 && levels[2] === 'state') return { box: levels[0]!, kind: 'source', sourceId: levels[1]! };
  return null;
}
