// Who is logged in and what they may do, from GET /api/me. The UI only hides what
// the profile may not do; the server checks every request anyway. A visitor of a
// share link has the profile `visitor`, one source, and `share` says what the link opens.
import { atLeast } from './dom.js';

export const session = {
  me: null,
  appliance: null,
  levelOf(sourceId) {
    const entry = this.me && this.me.sources.find((s) => s.id === sourceId);
    return entry ? entry.level : null;
  },
  can(sourceId, wanted) {
    return atLeast(this.levelOf(sourceId), wanted);
  },
  get profile() {
    return this.me ? this.me.profile : null;
  },
  get isMaintainer() {
    return this.profile === 'maintainer';
  },
  get isDirector() {
    return this.profile === 'director' || this.profile === 'maintainer';
  },
  /** A visitor of a share link (no account): what the link opens, else null. */
  get share() {
    return this.profile === 'visitor' && this.me.share ? this.me.share : null;
  },
  /** The share link's scope in share mode (gallery, latest, picture, video, compare), else null. */
  get shareScope() {
    return this.share ? this.share.scope : null;
  },
  /** Who may make share links of a source: directors and maintainers, a customer with download on it (SPEC §4). */
  canShare(sourceId) {
    if (this.isDirector) return true;
    return this.profile === 'customer' && this.can(sourceId, 'download');
  },
  /** Whether the Shares page is for this user: they may share at least one source. */
  get sharesAnything() {
    if (this.isDirector) return true;
    return this.profile === 'customer' && !!this.me && this.me.sources.some((s) => atLeast(s.level, 'download'));
  },
};
