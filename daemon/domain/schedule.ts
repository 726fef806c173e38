/** The words of a schedule as the configuration gives them and the slot planner reads them. */
export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';
export type TimeOfDay =
  | { kind: 'clock'; minutes: number } // minutes since local midnight, 0..1440 (1440 = "24:00", only meaningful as an end)
  | { kind: 'sunrise' | 'sunset'; offsetMs: number }; // sunrise-30m => { kind:'sunrise', offsetMs: -1800000 }
