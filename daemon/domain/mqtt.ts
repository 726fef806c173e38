/**
 * The box's link to its MQTT broker as `GET /api/system`, `lapsebox status` and the
 * System page show it (SPEC §8).
 */
export interface MqttStatus {
  /** `mqtts://host:8883`, without credentials. */
  broker: string;
  clientId: string;
  /** `<prefix>/<box>`: where the box publishes. */
  topic: string;
  /** connected; connecting; waiting (before the next attempt, after a failure); stopped. */
  activity: 'connecting' | 'connected' | 'waiting' | 'stopped';
  /** Since when the activity has lasted (connected since, waiting since). */
  since: string | null;
  /** Why the last connection failed or ended; null once connected. */
  lastError: string | null;
  /** While waiting: when the next attempt starts. */
  nextAttemptAt: string | null;
  /** Messages waiting for the broker (or sent and not yet acknowledged). */
  queued: number;
  /** Events dropped because too many waited while the broker was away. */
  dropped: number;
  /** Messages the broker acknowledged since the daemon started. */
  published: number;
  lastPublishedAt: string | null;
  /** The last message the broker refused (its ACL, most often), if any. */
  refused: { topic: string; at: string; message: string } | null;
  homeAssistant: boolean;
  commands: boolean;
}
