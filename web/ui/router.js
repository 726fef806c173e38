// Hash routing in one page: "#/s/north/2026-11-23?x=1" -> the matching view.
// Each render gets a fresh container and an AbortSignal that fires when the user
// leaves, so listeners and timers end with the view and late answers land nowhere.

export function createRouter(outlet, routes, notFound) {
  let current = null;

  function parse() {
    const raw = location.hash.replace(/^#/, '') || '/';
    const q = raw.indexOf('?');
    return { path: q >= 0 ? raw.slice(0, q) : raw, query: new URLSearchParams(q >= 0 ? raw.slice(q + 1) : '') };
  }

  async function render() {
    if (current) current.abort();
    const controller = new AbortController();
    current = controller;
    const { path, query } = parse();
    const container = document.createElement('div');
    container.className = 'view';
    outlet.replaceChildren(container);
    const ctx = {
      signal: controller.signal,
      query,
      path,
      /** Runs `fn` when the user leaves the view. */
      onLeave: (fn) => controller.signal.addEventListener('abort', fn, { once: true }),
      /** setInterval that stops with the view. */
      every: (ms, fn) => {
        const id = setInterval(fn, ms);
        controller.signal.addEventListener('abort', () => clearInterval(id), { once: true });
      },
    };
    for (const route of routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      try {
        await route.view(container, ctx, ...m.slice(1).map(decodeURIComponent));
      } catch (err) {
        if (err && err.name === 'AbortError') return;
        if (!controller.signal.aborted) notFound(container, ctx, err);
      }
      return;
    }
    notFound(container, ctx, null);
  }

  window.addEventListener('hashchange', () => {
    render();
    outlet.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  });
  return { render };
}

/** Changes the query part of the hash without re-rendering (and without a history entry). */
export function replaceQuery(params) {
  const raw = location.hash.replace(/^#/, '') || '/';
  const path = raw.split('?')[0];
  const q = new URLSearchParams(params).toString();
  history.replaceState(null, '', `#${path}${q ? `?${q}` : ''}`);
}
