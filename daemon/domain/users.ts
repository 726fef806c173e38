/** The people of the box (SPEC §4): each user has one profile; `public` is whoever has none. */
export const PROFILES = ['maintainer', 'director', 'customer'] as const;
export type Profile = (typeof PROFILES)[number];

export interface User {
  id: number;
  username: string;
  profile: Profile;
  createdAt: number;
  updatedAt: number;
}
