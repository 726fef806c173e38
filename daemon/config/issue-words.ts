/**
 * The configuration's errors in people's words (SPEC §9). The CLI, the log and
 * `config check` print the schema's English messages; the settings form shows the
 * same errors in its reader's language, as catalog messages (`Say`). A message of
 * the schema's own says its words where it is written: a custom issue in its
 * `params.say`, a check's message through `worded`; zod's built-in issues get
 * theirs here, from their code and parameters (never from zod's own locales).
 */
import type { z } from 'zod';
import { say, type Say } from '../i18n/say';

/** The words of the schema's own check messages, by the English message (a fixed set: one per check). */
const WORDS = new Map<string, Say>();

/**
 * `message`, as the CLI prints it, whose words in the UI are `words`: for a check's
 * message (`.regex(re, worded(...))`), where zod keeps no parameters of ours.
 */
export function worded(message: string, words: Say): string {
  WORDS.set(message, words);
  return message;
}

/** How a zod issue's `params` may carry its words (custom issues keep their params). */
interface WithWords {
  params?: { say?: Say };
}

/**
 * A zod issue in catalog words: its own (`params.say`, or a worded message), else
 * those of its code (`missing`: the value is not there at all, so "required");
 * undefined for a custom issue that says none.
 */
export function issueWords(issue: z.core.$ZodIssue, missing = false): Say | undefined {
  const own = (issue as WithWords).params?.say ?? WORDS.get(issue.message);
  if (own) return own;
  if (missing && issue.code === 'invalid_type') return say('apiError.config.required');
  switch (issue.code) {
    case 'invalid_type':
      return say('apiError.config.invalidType', { expected: String(issue.expected) });
    case 'too_small':
    case 'too_big':
      return sizeWords(issue);
    case 'invalid_value':
      return issue.values.length === 1 ? say('apiError.config.exactly', { value: String(issue.values[0]) }) : say('apiError.oneOf', { values: issue.values.map(String).join(', ') });
    case 'invalid_format':
      return formatWords(issue);
    case 'unrecognized_keys':
      return say('apiError.config.unknownKey', { key: issue.keys.join(', ') });
    case 'custom':
      return undefined;
    default:
      return say('apiError.config.invalidValue');
  }
}

/** A bound of a number, a text's length or a list's length. */
function sizeWords(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig): Say {
  const small = issue.code === 'too_small';
  const bound = Number(small ? issue.minimum : issue.maximum);
  // zod leaves `inclusive` out for some bounds (a length's), which are inclusive.
  const strict = issue.inclusive === false ? 'yes' : 'no';
  switch (issue.origin) {
    case 'number':
    case 'int':
    case 'bigint':
      return small ? say('apiError.config.numberMin', { min: bound, strict }) : say('apiError.config.numberMax', { max: bound, strict });
    case 'string':
      if (small && bound === 1) return say('apiError.config.notEmpty');
      return small ? say('apiError.config.textMin', { min: bound }) : say('apiError.config.textMax', { max: bound });
    case 'array':
    case 'set':
      return small ? say('apiError.config.listMin', { min: bound }) : say('apiError.config.listMax', { max: bound });
    default:
      return say('apiError.config.invalidValue');
  }
}

function formatWords(issue: z.core.$ZodIssueInvalidStringFormat): Say {
  switch (issue.format) {
    case 'email':
      return say('apiError.config.email');
    case 'url':
      return say('apiError.config.url');
    case 'starts_with':
      return say('apiError.config.startsWith', { prefix: String((issue as { prefix?: unknown }).prefix ?? '') });
    default:
      return say('apiError.config.format');
  }
}
