/**
 * Home Assistant MQTT discovery (SPEC §8): the retained config messages that make one
 * device per box, with its sensors, and per source its sensors, its public picture and,
 * with commands on, a button and a switch. Pure: the service publishes what this gives
 * and removes the configs it no longer gives (a source gone, commands turned off).
 *
 * Topics: `<discoveryPrefix>/<component>/<box>/<object>/config` for the box's own
 * entities and `<discoveryPrefix>/<component>/<box>_<source>/<object>/config` for a
 * source's ("_" is in neither kind of id, so the node id reads back unambiguously).
 */
import type { BoxTopics } from './topics';
import { AVAILABLE, NOT_AVAILABLE } from './topics';
import { CAMERA_STATES } from './payloads';

export interface DiscoveryInput {
  discoveryPrefix: string;
  topics: BoxTopics;
  box: { id: string; name: string; version: string; url: string | null };
  sources: { id: string; name: string; hasPublicUrl: boolean }[];
  commands: boolean;
}

export interface DiscoveryMessage {
  topic: string;
  config: Record<string, unknown>;
}

export function discoveryMessages(input: DiscoveryInput): DiscoveryMessage[] {
  const { topics, box } = input;
  const device: Record<string, unknown> = {
    identifiers: [box.id],
    name: box.name,
    manufacturer: 'lapsebox',
    model: 'Timelapse box',
    sw_version: box.version,
    ...(box.url ? { configuration_url: box.url } : {}),
  };
  const common = {
    availability_topic: topics.availability,
    payload_available: AVAILABLE,
    payload_not_available: NOT_AVAILABLE,
    device,
    origin: { name: 'lapsebox', sw_version: box.version },
  };
  const out: DiscoveryMessage[] = [];
  const add = (component: string, node: string, object: string, config: Record<string, unknown>) => {
    out.push({
      topic: `${input.discoveryPrefix}/${component}/${node}/${object}/config`,
      config: { ...config, unique_id: `lapsebox_${node}_${object}`, ...common },
    });
  };

  add('sensor', box.id, 'disk_free', {
    name: 'Disk free',
    state_topic: topics.state,
    value_template: '{{ (value_json.disk.freeBytes / 1000000000) | round(2) }}',
    unit_of_measurement: 'GB',
    device_class: 'data_size',
    state_class: 'measurement',
    entity_category: 'diagnostic',
  });
  add('sensor', box.id, 'temperature', {
    name: 'CPU temperature',
    state_topic: topics.state,
    value_template: '{{ value_json.temperatureC }}',
    unit_of_measurement: '°C',
    device_class: 'temperature',
    state_class: 'measurement',
    entity_category: 'diagnostic',
  });
  add('sensor', box.id, 'sync_backlog', {
    name: 'Sync backlog',
    state_topic: topics.state,
    value_template: '{{ value_json.sync.files }}',
    unit_of_measurement: 'files',
    state_class: 'measurement',
    icon: 'mdi:cloud-upload',
    json_attributes_topic: topics.state,
    json_attributes_template: '{{ {"bytes": value_json.sync.bytes, "oldest": value_json.sync.oldest, "targets": value_json.sync.targets} | tojson }}',
  });
  add('binary_sensor', box.id, 'problem', {
    name: 'Problem',
    state_topic: topics.state,
    value_template: "{{ 'ON' if value_json.problem else 'OFF' }}",
    device_class: 'problem',
    json_attributes_topic: topics.state,
    json_attributes_template: '{{ {"alerts": value_json.alerts.list | map(attribute="message") | list} | tojson }}',
  });

  for (const source of input.sources) {
    const node = `${box.id}_${source.id}`;
    const state = topics.sourceState(source.id);
    add('sensor', node, 'last_capture', {
      name: `${source.name} last capture`,
      state_topic: state,
      value_template: '{{ value_json.lastCapture }}',
      device_class: 'timestamp',
      icon: 'mdi:camera-timer',
    });
    add('sensor', node, 'camera', {
      name: `${source.name} camera`,
      state_topic: state,
      value_template: '{{ value_json.camera }}',
      device_class: 'enum',
      options: [...CAMERA_STATES],
      icon: 'mdi:camera',
      json_attributes_topic: state,
      json_attributes_template: '{{ {"last_error": value_json.lastError.message if value_json.lastError else none, "next_slot": value_json.nextSlot} | tojson }}',
    });
    add('sensor', node, 'failures', {
      name: `${source.name} failures in a row`,
      state_topic: state,
      value_template: '{{ value_json.failuresInRow }}',
      state_class: 'measurement',
      icon: 'mdi:alert-circle-outline',
      entity_category: 'diagnostic',
    });
    add('sensor', node, 'pictures_today', {
      name: `${source.name} pictures today`,
      state_topic: state,
      value_template: '{{ value_json.picturesToday }}',
      unit_of_measurement: 'pictures',
      state_class: 'total_increasing',
      icon: 'mdi:image-multiple',
    });
    if (source.hasPublicUrl) {
      add('image', node, 'latest', {
        name: `${source.name} latest picture`,
        url_topic: state,
        // Home Assistant refuses content_type with url_topic: it reads the type from the answer.
        url_template: '{{ value_json.publicUrl }}',
      });
    }
    if (input.commands) {
      add('button', node, 'capture', {
        name: `${source.name} capture now`,
        command_topic: topics.capture(source.id),
        payload_press: 'PRESS',
        icon: 'mdi:camera-iris',
      });
      add('switch', node, 'enabled', {
        name: `${source.name} enabled`,
        command_topic: topics.enabledSet(source.id),
        state_topic: state,
        value_template: "{{ 'ON' if value_json.enabled else 'OFF' }}",
        payload_on: 'ON',
        payload_off: 'OFF',
        state_on: 'ON',
        state_off: 'OFF',
        icon: 'mdi:camera-off',
      });
    }
  }
  return out;
}

/** Home Assistant's birth and last-will topic: `online` there asks every device to publish its configs again. */
export function statusTopic(discoveryPrefix: string): string {
  return `${discoveryPrefix}/status`;
}
