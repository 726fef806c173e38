/**
 * The box on its fleet's MQTT broker (SPEC §8): availability, the box's state and each
 * source's, alerts as events, Home Assistant discovery and, when allowed, commands.
 *
 * Nothing here can hold capture, storage or sync back: states are read once a second
 * from what the status already reports and published when they changed (or at the
 * interval); messages wait in a bounded queue (the newest version of each state, the
 * last 200 events) while the broker is slow or gone; at most 16 are in flight.
 */
import type { Config, MqttConfig } from '../config/schema';
import type { Logger } from '../logger';
import type { Service } from '../lifecycle';
import type { AlertMessage } from '../domain/alerts';
import type { ActiveAlert } from '../health/alerts';
import type { SourceStatus, SystemStatus } from '../status.service';
import type { MqttRetainedRepository } from '../store/mqtt-retained.repository';
import type { AuditRepository } from '../store/audit.repository';
import type { CaptureOutcome } from '../capture/capture.service';
import { packageVersion } from '../package-info';
import { messageOf } from '../error-causes';
import { settledWithin } from '../settled';
import type { MqttStatus } from '../domain/mqtt';
import { AVAILABLE, NOT_AVAILABLE, boxTopics, parseCommandTopic, type BoxTopics, type Command } from './topics';
import { boxState, significant, sourceState } from './payloads';
import { discoveryMessages, statusTopic } from './discovery';
import { Outgoing, type OutgoingMessage } from './outgoing';
import { BrokerLink, brokerName, type BrokerError, type LinkHandlers, type Message } from './broker';

/** How often states are looked at; a change is published within this. */
const TICK_MS = 1_000;
/** Messages handed to the broker and not yet acknowledged, at most. */
const MAX_IN_FLIGHT = 16;
/** Commands waiting their turn, at most; more are refused (one at a time, in order). */
const MAX_COMMANDS = 10;
/** A command payload larger than this is not read. */
const MAX_COMMAND_BYTES = 1024;

/** What the commands do, exactly as the UI does it. */
export interface CommandActions {
  capture(sourceId: string): Promise<CaptureOutcome>;
  /** Writes `enabled` into the config file and makes it live, audited with the actor given. */
  setEnabled(sourceId: string, enabled: boolean, who: { actor: string; address: string }): Promise<void>;
}

export interface MqttServiceDeps {
  config: () => Config;
  status: { system(): Promise<SystemStatus>; sources(): SourceStatus[] };
  /** Pictures of a source taken today, in the appliance's time zone. */
  picturesToday: (sourceId: string) => number;
  alerts: () => ActiveAlert[];
  retained: MqttRetainedRepository;
  audit: AuditRepository;
  actions: CommandActions | null;
  log: Logger;
  now?: () => number;
}

interface Published {
  /** The significant part last sent (payloads.ts `significant`), and when. */
  key: string;
  at: number;
}

export class MqttService implements Service {
  readonly name = 'mqtt';
  readonly #deps: MqttServiceDeps;
  readonly #now: () => number;
  readonly #startedAt: number;
  /** What waits for the broker; a new one with each new link (what waited was for the old broker or topics). */
  #outgoing = new Outgoing();
  #link: BrokerLink | null = null;
  /** The topic filters the link holds. */
  #filtersHeld: string[] = [];
  /** The mqtt section and box the link was made for: a change of either makes a new link. */
  #linkedWith: string | null = null;
  #topics: BoxTopics | null = null;
  #timer: NodeJS.Timeout | null = null;
  #ticking = false;
  #onlineSince: number | null = null;
  /** What was last published per state topic. */
  #published = new Map<string, Published>();
  /** The discovery set last published (its JSON), so a change republishes it. */
  #discoveryKey: string | null = null;
  /** Retained topics the broker holds from us, mirrored from the database. */
  #retained: Set<string> | null = null;
  readonly #inFlight = new Set<OutgoingMessage>();
  #sent = 0;
  #lastSentAt: number | null = null;
  #refused: { topic: string; at: number; message: string } | null = null;
  /** Topics the broker refused on this connection. */
  readonly #refusedNow = new Set<string>();
  #commands: Promise<void> = Promise.resolve();
  #commandsWaiting = 0;
  #stopped = true;

  constructor(deps: MqttServiceDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#startedAt = this.#now();
  }

  start(): void {
    this.#stopped = false;
    this.#retained ??= new Set(this.#deps.retained.topics());
    this.reconfigure();
    this.#timer = setInterval(() => void this.#tick(), TICK_MS);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#closeLink();
  }

  /**
   * After a configuration change: a new connection when the broker settings or the box's
   * topics changed (the old topics say offline first), none when the section is gone.
   */
  reconfigure(): void {
    if (this.#stopped) return;
    const config = this.#deps.config();
    const mqtt = config.mqtt;
    const key = mqtt ? JSON.stringify({ ...mqtt, homeAssistant: undefined, commands: undefined, interval: undefined, box: config.appliance.id }) : null;
    if (key !== this.#linkedWith) {
      const old = this.#link;
      const oldTopics = this.#topics;
      this.#link = null;
      // Without an mqtt section the box leaves the fleet: what it left on the broker is cleared, so no one sees it offline for ever.
      if (old && !mqtt) void this.#leave(old);
      else if (old) void old.stop(oldTopics ? { topic: oldTopics.availability, payload: NOT_AVAILABLE, retain: true } : undefined);
      this.#linkedWith = key;
      this.#topics = mqtt ? boxTopics(mqtt.topicPrefix, config.appliance.id) : null;
      this.#outgoing = new Outgoing();
      this.#inFlight.clear();
      this.#published.clear();
      this.#filtersHeld = [];
      if (mqtt) this.#link = this.#makeLink(mqtt);
    }
    if (!mqtt || !this.#link) return;
    const wanted = this.#filters(mqtt);
    this.#link.unsubscribe(this.#filtersHeld.filter((f) => !wanted.includes(f)));
    this.#link.subscribe(wanted);
    this.#filtersHeld = wanted;
    this.#link.start();
    this.#discoveryKey = null;
  }

  /** An alert message, as the webhook gets it: on the events topic (QoS 1, not retained). */
  event(message: AlertMessage): void {
    if (!this.#topics || this.#stopped) return;
    this.#outgoing.event({ topic: this.#topics.events, payload: JSON.stringify(message) });
    this.#pump();
  }

  status(): MqttStatus | null {
    const mqtt = this.#deps.config().mqtt;
    if (!mqtt || !this.#link || !this.#topics) return null;
    const link = this.#link.status();
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      broker: brokerName(mqtt),
      clientId: this.#clientId(),
      topic: this.#topics.base,
      activity: link.activity,
      since: link.since > 0 ? iso(link.since) : null,
      lastError: link.lastError?.message ?? null,
      nextAttemptAt: iso(link.nextAttemptAt),
      queued: this.#outgoing.size + this.#inFlight.size,
      dropped: this.#outgoing.dropped,
      published: this.#sent,
      lastPublishedAt: iso(this.#lastSentAt),
      refused: this.#refused && { topic: this.#refused.topic, at: iso(this.#refused.at)!, message: this.#refused.message },
      homeAssistant: mqtt.homeAssistant.enabled,
      commands: mqtt.commands,
    };
  }

  #clientId(): string {
    return `lapsebox-${this.#deps.config().appliance.id}`;
  }

  #filters(mqtt: MqttConfig): string[] {
    return [...(mqtt.homeAssistant.enabled ? [statusTopic(mqtt.homeAssistant.discoveryPrefix)] : []), ...(mqtt.commands ? this.#topics!.commandFilters : [])];
  }

  #makeLink(mqtt: MqttConfig): BrokerLink {
    const topics = this.#topics!;
    const config = () => this.#deps.config().mqtt ?? mqtt;
    const handlers: LinkHandlers = {
      connected: () => this.#connected(),
      disconnected: (error) => this.#disconnected(error),
      message: (message) => this.#message(message),
    };
    return new BrokerLink({
      config,
      clientId: this.#clientId(),
      will: { topic: topics.availability, payload: NOT_AVAILABLE, retain: true },
      handlers,
      log: this.#deps.log,
      now: this.#now,
    });
  }

  /** Clears every retained message the box left on the broker (at most 2 s), then disconnects. */
  async #leave(link: BrokerLink): Promise<void> {
    const topics = [...(this.#retained ?? [])];
    const cleared = topics.map((topic) => link.publish(topic, '', { qos: 1, retain: true }).then(() => this.#untrack(topic)));
    await settledWithin(Promise.allSettled(cleared), 2_000);
    this.#deps.log.info({ topics: topics.length }, 'the mqtt section is gone: the box left the broker and cleared its retained messages');
    await link.stop();
  }

  async #closeLink(): Promise<void> {
    const link = this.#link;
    const topics = this.#topics;
    this.#link = null;
    this.#linkedWith = null;
    await link?.stop(topics ? { topic: topics.availability, payload: NOT_AVAILABLE, retain: true } : undefined);
  }

  #connected(): void {
    const topics = this.#topics!;
    this.#onlineSince = this.#now();
    this.#refusedNow.clear();
    this.#deps.log.info({ broker: brokerName(this.#deps.config().mqtt!), topic: topics.base }, `connected to the MQTT broker ${brokerName(this.#deps.config().mqtt!)}`);
    // Everything again: the broker may have lost its retained messages, or never had them.
    this.#published.clear();
    this.#discoveryKey = null;
    this.#outgoing.stateFirst(topics.availability, AVAILABLE);
    this.#track(topics.availability);
    void this.#tick();
  }

  #disconnected(_error: BrokerError): void {
    this.#onlineSince = null;
    // What was in flight went with the connection: it waits again (a state unless a newer one waits).
    for (const message of [...this.#inFlight].reverse()) this.#outgoing.putBack(message);
    this.#inFlight.clear();
  }

  /** Reads the states and queues those that changed, or all of them at the interval. */
  async #tick(): Promise<void> {
    const link = this.#link;
    const mqtt = this.#deps.config().mqtt;
    if (this.#ticking || !link?.connected || !mqtt || !this.#topics) return;
    this.#ticking = true;
    try {
      const topics = this.#topics;
      const config = this.#deps.config();
      const now = this.#now();
      const publicUrl = config.web.publicUrl ?? null;
      const alerts = this.#deps.alerts();
      const wanted = new Set<string>([topics.availability, topics.state]);
      const system = await this.#deps.status.system();
      const box = boxState({
        system,
        now,
        onlineSince: this.#onlineSince,
        startedAt: this.#startedAt,
        intervalMs: mqtt.interval,
        publicUrl,
        sources: config.sources.map((s) => s.id),
      });
      if (!this.#link?.connected || this.#topics !== topics) return;
      this.#offer(topics.state, box, significant(box), mqtt.interval, now);
      for (const status of this.#deps.status.sources()) {
        const topic = topics.sourceState(status.id);
        wanted.add(topic);
        // The box's public switch off: no source has a public picture to point at (the route answers 404).
        const state = sourceState({ status, picturesToday: this.#deps.picturesToday(status.id), alerts, publicUrl: system.public.enabled ? publicUrl : null, now });
        this.#offer(topic, state, significant(state), mqtt.interval, now);
      }
      if (mqtt.homeAssistant.enabled) {
        const discovery = discoveryMessages({
          discoveryPrefix: mqtt.homeAssistant.discoveryPrefix,
          topics,
          box: { id: config.appliance.id, name: config.appliance.name ?? config.appliance.id, version: packageVersion(), url: publicUrl },
          sources: config.sources.map((s) => ({ id: s.id, name: s.name ?? s.id, hasPublicUrl: s.public.enabled && publicUrl !== null })),
          commands: mqtt.commands && this.#deps.actions !== null,
        });
        for (const d of discovery) wanted.add(d.topic);
        const key = JSON.stringify(discovery);
        if (key !== this.#discoveryKey) {
          this.#discoveryKey = key;
          for (const d of discovery) this.#queueRetained(d.topic, JSON.stringify(d.config));
        }
      }
      // Retained messages of sources that left, of discovery turned off, of an older prefix: removed.
      for (const topic of this.#retained ?? []) {
        if (!wanted.has(topic) && !this.#outgoing.hasState(topic) && ![...this.#inFlight].some((m) => m.topic === topic)) this.#outgoing.state(topic, '');
      }
    } catch (err) {
      this.#deps.log.warn({ err: messageOf(err) }, 'the MQTT state could not be read');
    } finally {
      this.#ticking = false;
    }
    this.#pump();
  }

  /** Queues a state when its significant part changed or the interval passed since it was sent. */
  #offer(topic: string, state: object, key: string, intervalMs: number, now: number): void {
    const last = this.#published.get(topic);
    if (last && last.key === key && now - last.at < intervalMs) return;
    this.#published.set(topic, { key, at: now });
    this.#queueRetained(topic, JSON.stringify(state));
  }

  #queueRetained(topic: string, payload: string): void {
    this.#outgoing.state(topic, payload);
  }

  /** Hands waiting messages to the broker, up to MAX_IN_FLIGHT at once. */
  #pump(): void {
    const link = this.#link;
    while (link?.connected && this.#inFlight.size < MAX_IN_FLIGHT) {
      const message = this.#outgoing.take();
      if (!message) return;
      this.#inFlight.add(message);
      link
        .publish(message.topic, message.payload, { qos: message.qos, retain: message.retain, ...(message.correlationData ? { correlationData: message.correlationData } : {}) })
        .then(
          () => this.#sentOk(message),
          (err: BrokerError) => this.#sendFailed(message, err),
        )
        .finally(() => {
          this.#inFlight.delete(message);
          this.#pump();
        });
    }
  }

  #sentOk(message: OutgoingMessage): void {
    if (!this.#inFlight.has(message)) return;
    this.#sent++;
    this.#lastSentAt = this.#now();
    if (!message.retain) return;
    if (message.payload === '') this.#untrack(message.topic);
    else this.#track(message.topic);
  }

  #sendFailed(message: OutgoingMessage, err: BrokerError): void {
    if (!this.#inFlight.has(message)) return;
    if (err.kind === 'not-authorized' || err.kind === 'protocol') {
      // Sending it again would be refused again: dropped, and said once per connection (the others at debug).
      if (this.#refusedNow.size === 0) this.#deps.log.warn({ topic: message.topic }, err.message);
      else if (!this.#refusedNow.has(message.topic)) this.#deps.log.debug({ topic: message.topic }, err.message);
      this.#refusedNow.add(message.topic);
      // A state keeps its record: it is tried again when it changes or at the interval, not at every look.
      // A removal the broker refuses is given up (it would be tried at every look).
      this.#refused = { topic: message.topic, at: this.#now(), message: err.message };
      if (message.retain && message.payload === '') this.#untrack(message.topic);
      return;
    }
    this.#outgoing.putBack(message);
  }

  #track(topic: string): void {
    if (this.#retained?.has(topic)) return;
    this.#retained?.add(topic);
    this.#deps.retained.add(topic, this.#now());
  }

  #untrack(topic: string): void {
    if (!this.#retained?.delete(topic)) return;
    this.#deps.retained.remove(topic);
  }

  #message(message: Message): void {
    const mqtt = this.#deps.config().mqtt;
    const topics = this.#topics;
    if (!mqtt || !topics) return;
    if (mqtt.homeAssistant.enabled && message.topic === statusTopic(mqtt.homeAssistant.discoveryPrefix)) {
      if (message.payload.toString('utf8').trim() === 'online') {
        this.#deps.log.info('Home Assistant is online: discovery and states published again');
        this.#discoveryKey = null;
        this.#published.clear();
        void this.#tick();
      }
      return;
    }
    const command = mqtt.commands ? parseCommandTopic(topics.base, message.topic) : null;
    if (!command) {
      this.#deps.log.warn({ topic: message.topic }, `ignored a message on ${message.topic}: not a command of this box`);
      return;
    }
    if (message.retain) {
      this.#deps.log.warn({ topic: message.topic }, `ignored a retained command on ${message.topic}: a command acts once, when it is sent (clear it with an empty retained message)`);
      return;
    }
    if (this.#commandsWaiting >= MAX_COMMANDS) {
      this.#deps.log.warn({ topic: message.topic }, `ignored a command on ${message.topic}: ${MAX_COMMANDS} commands wait already`);
      return;
    }
    this.#commandsWaiting++;
    const run = this.#commands.then(() => this.#command(command, message));
    this.#commands = run.catch(() => undefined).finally(() => this.#commandsWaiting--);
  }

  /** Runs one command as the UI would, and answers on the reply topic (or the MQTT 5 response topic). */
  async #command(command: Command, message: Message): Promise<void> {
    const topics = this.#topics!;
    const config = this.#deps.config();
    const source = config.sources.find((s) => s.id === command.sourceId);
    const verb = command.kind === 'capture' ? 'capture' : 'enabled/set';
    const text = message.payload.length > MAX_COMMAND_BYTES ? null : message.payload.toString('utf8').trim();
    // An empty payload is what clears a retained message: never a command.
    if (text === '') {
      this.#deps.log.info({ topic: message.topic }, `ignored an empty message on ${message.topic} (it clears a retained command; send PRESS to capture)`);
      return;
    }
    const request = command.kind === 'capture' && text !== null ? captureRequest(text) : null;
    const requestId = request?.requestId ?? null;
    // Answers go under the box's own topics: a response topic elsewhere is not ours to write.
    const replyTo = message.responseTopic !== null && message.responseTopic.startsWith(`${topics.base}/`) ? message.responseTopic : topics.reply(message.topic);
    const answer = (body: Record<string, unknown>) => {
      const reply = { command: verb, source: command.sourceId, ...(requestId !== null ? { requestId } : {}), at: new Date(this.#now()).toISOString(), ...body };
      this.#outgoing.event({ topic: replyTo, payload: JSON.stringify(reply), ...(message.correlationData ? { correlationData: message.correlationData } : {}) });
      this.#pump();
    };
    const refuse = (why: string) => {
      this.#deps.log.warn({ topic: message.topic }, `ignored the command on ${message.topic}: ${why}`);
      answer({ ok: false, error: why });
    };
    if (message.responseTopic !== null && replyTo !== message.responseTopic) this.#deps.log.warn({ topic: message.topic, responseTopic: message.responseTopic }, `the answer goes to ${replyTo}: the response topic ${message.responseTopic} is not under ${topics.base}/`);
    const actions = this.#deps.actions;
    if (!actions) return refuse('this box takes no commands now');
    if (text === null) return refuse(`the payload is larger than ${MAX_COMMAND_BYTES} bytes`);
    if (!source) return refuse(`no source "${command.sourceId}" on this box`);
    const who = { actor: 'mqtt', address: brokerName(config.mqtt!) };
    if (command.kind === 'capture') {
      if (request === null) return refuse('expected PRESS, or a JSON object such as {"requestId": "..."}');
      if (!source.enabled) return refuse(`source "${source.id}" is disabled`);
      const outcome = await actions.capture(source.id);
      if (outcome.status === 'captured') {
        this.#deps.audit.record({ at: this.#now(), actor: who.actor, address: who.address, action: 'source.capture', target: source.id, newValue: { pictureId: outcome.picture.id } });
        this.#deps.log.info({ source: source.id, pictureId: outcome.picture.id }, `captured "${source.id}" on an MQTT command`);
        return answer({ ok: true, pictureId: outcome.picture.id, takenAt: new Date(outcome.picture.takenAt).toISOString(), durationMs: outcome.durationMs });
      }
      const why = outcome.status === 'skipped' ? outcome.reason : outcome.error.message;
      this.#deps.audit.record({ at: this.#now(), actor: who.actor, address: who.address, action: 'source.capture', target: source.id, newValue: { failed: why } });
      return answer({ ok: false, error: why });
    }
    if (text !== 'ON' && text !== 'OFF') return refuse('expected ON or OFF');
    try {
      await actions.setEnabled(source.id, text === 'ON', who);
      this.#deps.log.info({ source: source.id, enabled: text === 'ON' }, `source "${source.id}" ${text === 'ON' ? 'enabled' : 'disabled'} by an MQTT command`);
      answer({ ok: true, enabled: text === 'ON' });
    } catch (err) {
      refuse(messageOf(err));
    }
    void this.#tick();
  }
}

/** A capture command's payload: Home Assistant's PRESS, or a JSON object with an optional requestId. */
function captureRequest(text: string): { requestId: string | null } | null {
  if (text === 'PRESS') return { requestId: null };
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
    const id = (value as Record<string, unknown>)['requestId'];
    if (id === undefined) return { requestId: null };
    return typeof id === 'string' && id.length <= 200 ? { requestId: id } : null;
  } catch {
    return null;
  }
}
