/** The people of the box (SPEC §4): each user has one profile; `public` is whoever has none. */
export const PROFILES = ['maintainer', 'director', 'customer'] as const;
export type Profile = (typeof PROFILES)[number];

export interface User {
  id: number;
  username: string;
  profile: Profile;
  /** Where progress e-mails sent to a group reach this user; null when none was given. */
  email: string | null;
  /** The language the user chose for the UI and their e-mails (`fr`); null: their browser's, else the box's. */
  language: string | null;
  createdAt: number;
  updatedAt: number;
}
