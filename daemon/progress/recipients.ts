/**
 * Who a source's progress e-mails go to (pure): the addresses of `to`, and the members of
 * `group` who have an e-mail address, each address once whatever its case.
 */
import type { ProgressConfig } from '../config/schema';

export interface GroupMember {
  username: string;
  email: string | null;
}

export interface Recipients {
  addresses: string[];
  /** Members of the group without an address: they get nothing until a maintainer gives them one. */
  withoutAddress: string[];
  /** Why nobody (or not everyone expected) gets the e-mails, for the System page; null when all is well. */
  problem: string | null;
}

/** `members(group)` answers null when there is no such group. */
export function recipientsOf(progress: Pick<ProgressConfig, 'to' | 'group'>, members: (group: string) => GroupMember[] | null): Recipients {
  const addresses: string[] = [];
  const seen = new Set<string>();
  const add = (address: string) => {
    const key = address.trim().toLowerCase();
    if (seen.has(key)) return;
    seen.add(key);
    addresses.push(address.trim());
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
        else add(member.email);
      }
      if (list.length === 0) problem = `group "${progress.group}" has no members`;
    }
  }
  if (addresses.length === 0) problem ??= `nobody to send to: the members of group "${progress.group}" have no e-mail address (lapsebox users email NAME ADDRESS, or the Users page)`;
  return { addresses, withoutAddress, problem };
}
