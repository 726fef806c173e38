/**
 * What waits to go to the broker, bounded whatever the broker does: a retained state
 * waits as its newest version only (one entry per topic), an event or a reply waits in
 * order, and when more than `maxEvents` wait the oldest is dropped (and counted). The
 * daemon never holds more than its topics plus `maxEvents` messages, however long the
 * broker is gone.
 */
export interface OutgoingMessage {
  topic: string;
  payload: string;
  retain: boolean;
  qos: 0 | 1;
  /** MQTT 5 correlation data of a reply. */
  correlationData?: Buffer;
}

export class Outgoing {
  readonly #maxEvents: number;
  /** Insertion order is send order; a state's key is its topic, an event's a sequence number. */
  readonly #items = new Map<string, OutgoingMessage>();
  #events = 0;
  #seq = 0;
  #dropped = 0;

  constructor(maxEvents = 200) {
    this.#maxEvents = maxEvents;
  }

  get size(): number {
    return this.#items.size;
  }

  /** Events dropped because too many waited. */
  get dropped(): number {
    return this.#dropped;
  }

  /** A retained state: replaces any older version still waiting, and goes after what waits already. */
  state(topic: string, payload: string): void {
    this.#items.delete(`s:${topic}`);
    this.#items.set(`s:${topic}`, { topic, payload, retain: true, qos: 1 });
  }

  /** A retained state that goes before everything waiting (the availability of a new connection). */
  stateFirst(topic: string, payload: string): void {
    this.#items.delete(`s:${topic}`);
    const rest = [...this.#items];
    this.#items.clear();
    this.#items.set(`s:${topic}`, { topic, payload, retain: true, qos: 1 });
    for (const [key, m] of rest) this.#items.set(key, m);
  }

  /** True when a version of this retained topic waits. */
  hasState(topic: string): boolean {
    return this.#items.has(`s:${topic}`);
  }

  /** An event or a reply (QoS 1, not retained), in order; the oldest goes when too many wait. */
  event(message: Omit<OutgoingMessage, 'retain' | 'qos'>): void {
    this.#items.set(`e:${++this.#seq}`, { ...message, retain: false, qos: 1 });
    this.#events++;
    while (this.#events > this.#maxEvents) {
      for (const key of this.#items.keys()) {
        if (!key.startsWith('e:')) continue;
        this.#items.delete(key);
        this.#events--;
        this.#dropped++;
        break;
      }
    }
  }

  /** Takes the first message waiting, or null. */
  take(): OutgoingMessage | null {
    for (const [key, message] of this.#items) {
      this.#items.delete(key);
      if (key.startsWith('e:')) this.#events--;
      return message;
    }
    return null;
  }

  /**
   * Puts back a message that could not be sent (the connection went): a state unless a
   * newer version waits, an event at its place in time (before those queued after it).
   */
  putBack(message: OutgoingMessage): void {
    if (message.retain) {
      if (!this.hasState(message.topic)) this.state(message.topic, message.payload);
      return;
    }
    // It is older than every event waiting: when the queue is full, it is the one dropped.
    if (this.#events >= this.#maxEvents) {
      this.#dropped++;
      return;
    }
    const rest = [...this.#items];
    this.#items.clear();
    this.#items.set(`e:${++this.#seq}`, message);
    this.#events++;
    for (const [key, m] of rest) this.#items.set(key, m);
  }
}
