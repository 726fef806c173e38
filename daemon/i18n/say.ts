/**
 * A message for people by its catalog key (SPEC §9), made where something goes wrong
 * and rendered where it is shown, in the language of whoever reads it: an error the UI
 * shows in French to one user and in English to another, and in English in the log and
 * the CLI. Pure words: no catalog here, so the core can say things without knowing
 * who will read them.
 */
import type { MessageValues } from './catalog-files';

export interface Say {
  key: string;
  values?: MessageValues;
}

/** `say('apiError.user.exists', { name })`: the key is a literal here, where the catalog test finds it. */
export function say(key: string, values?: MessageValues): Say {
  return values === undefined ? { key } : { key, values };
}

/** An error's message and details as catalog messages, beside its English text (several for a detail: joined by "; "). */
export interface Said {
  message?: Say;
  details?: Record<string, Say | Say[]>;
}
