/**
 * What every notification channel sends: one message about an alert (raised,
 * reminded, recovered), a notice, or a daily report. Made once, stored until
 * delivered, sent as it is (webhook) or as mail text.
 */
export type AlertStatus = 'raised' | 'reminder' | 'recovered' | 'notice' | 'report';
export type AlertSeverity = 'info' | 'warning' | 'error';

export interface AlertMessage {
  type: 'alert' | 'report';
  appliance: { id: string; name: string };
  /** The alert key (`picture-late:north`, `disk-low`) or `report:<local date>`. */
  topic: string;
  /** picture-late, camera-down, disk-low, ..., daily-report */
  kind: string;
  status: AlertStatus;
  severity: AlertSeverity;
  sourceId: string | null;
  targetId: string | null;
  /** One line, e.g. "picture late: north (North tower)". */
  title: string;
  /** Plain-text body, several lines. */
  text: string;
  /**
   * The language `title` and `text` are written in: the code of a catalog (`en`, `fr`),
   * `appliance.locale` when the message was made. Missing in messages stored before
   * there was a choice: English.
   */
  lang?: string;
  /** ISO time the message was made (it may be delivered much later). */
  at: string;
  /** ISO start of the episode, for raised, reminder and recovered. */
  since: string | null;
  /** Figures, such as the report's counts. */
  details?: Record<string, unknown>;
}
