/**
 * Who a source's progress e-mails go to (pure): the addresses of `to`, and the members of
 * `group` who have an e-mail address, each address once whatever its case, each in the
 * language it reads the e-mail in (the member's own, else the box's `appliance.locale`).
 */
import type { ProgressConfig } from '../config/schema';

export interface GroupMember {
  username: string;
  email: string | null;
  /** The language the user chose (users' `language`); null or absent: the box's. */
  language?: string | null;
}

export interface Recipients {
  addresses: string[];
  /** The language of each address (same order as `addresses`): a member's own choice; null for the box's (`appliance.locale`). */
  languages: (string | null)[];
  /** Members of the group without an address: they get nothing until a maintainer gives them one. */
  withoutAddress: string[];
  /** Why nobody (or not everyone expected) gets the e-mails, for the System page; null when all is well. */
  problem: string | null;
}

/** `members(group)` answers null when there is no such group. */
export function recipientsOf(progress: Pick<ProgressConfig, 'to' | 'group'>, members: (group: string) => GroupMember[] | null): Recipients {
  const addresses: string[] = [];
  const languages: (string | null)[] = [];
  const seen = new Map<string, number>();
  const add = (address: string, language: string | null = null) => {
    const key = address.trim().toLowerCase();
    const at = seen.get(key);
    // An address also typed in `to` reads in its member's language, if the member chose one.
    if (at !== undefined) {
      languages[at] ??= language;
      return;
    }
    seen.set(key, addresses.length);
    addresses.push(address.trim());
    languages.push(language);
  };
  for (const address of progress.to) add(address);
  let problem: string | null = null;
  const withoutAddress: string[] = [];
  if (progress.group !== undefined) {
    const list = members(progress.group);
    if (list === null) problem = `there is no group "${progress.group}" (lapsebox groups list; a maintainer adds it on the Users page)`;
    else {
      for (const member of list) {
        if (member.email === null) withoutAddress.push(member.username);
        else add(member.email, member.language ?? null);
      }
      if (list.length === 0) problem = `group "${progress.group}" has no members`;
    }
  }
  if (addresses.length === 0) problem ??= `nobody to send to: the members of group "${progress.group}" have no e-mail address (lapsebox users email NAME ADDRESS, or the Users page)`;
  return { addresses, languages, withoutAddress, problem };
}

/**
 * The addresses by the language they read the e-mail in, one e-mail per language, in
 * the order of their first address: a member's own language when the box has a catalog
 * for it (`known`), else `fallback` (`appliance.locale`).
 */
export function byLanguage(recipients: Pick<Recipients, 'addresses' | 'languages'>, fallback: string, known: (code: string) => boolean): { lang: string; addresses: string[] }[] {
  const groups = new Map<string, string[]>();
  recipients.addresses.forEach((address, i) => {
    const own = recipients.languages[i];
    const lang = own && known(own) ? own : fallback;
    const list = groups.get(lang);
    if (list) list.push(address);
    else groups.set(lang, [address]);
  });
  return [...groups].map(([lang, addresses]) => ({ lang, addresses }));
}
