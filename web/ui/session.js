// Who is logged in and what they may do, from GET /api/me. The UI only hides what
// the profile may not do; the server checks every request anyway.
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
};
