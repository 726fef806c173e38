import type { Db } from './database';

/**
 * The retained topics this box has published on its MQTT broker (source states, Home
 * Assistant discovery configs). A retained message stays on the broker until it is
 * replaced by an empty one: the box removes the topics it no longer publishes (a source
 * that left the configuration, discovery turned off), after a restart too.
 */
export class MqttRetainedRepository {
  readonly #all;
  readonly #add;
  readonly #remove;

  constructor(db: Db) {
    this.#all = db.prepare<[], { topic: string }>('SELECT topic FROM mqtt_retained ORDER BY topic');
    this.#add = db.prepare<[string, number]>('INSERT INTO mqtt_retained (topic, published_at) VALUES (?, ?) ON CONFLICT (topic) DO UPDATE SET published_at = excluded.published_at');
    this.#remove = db.prepare<[string]>('DELETE FROM mqtt_retained WHERE topic = ?');
  }

  topics(): string[] {
    return this.#all.all().map((r) => r.topic);
  }

  add(topic: string, now: number): void {
    this.#add.run(topic, now);
  }

  remove(topic: string): void {
    this.#remove.run(topic);
  }
}
