// A source's settings for directors: a form over the file-form settings; only what
// changed is sent, as a JSON merge patch (objects merge, arrays replace, null removes).
import { api, seg } from '../api.js';
import { h, fill, spinner, labelled, button, flash, copyText } from '../dom.js';
import { loadSource, sourceHeader } from './common.js';
import { fieldErrors, clearFieldErrors } from './forms.js';

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const POSITIONS = ['top-left', 'top', 'top-right', 'center', 'bottom-left', 'bottom', 'bottom-right'];

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** The merge patch that turns `a` into `b`; undefined when they are the same. */
export function mergePatch(a, b) {
  if (!isObject(a) || !isObject(b)) return same(a, b) ? undefined : b === undefined ? null : b;
  const out = {};
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (b[key] === undefined) {
      if (a[key] !== undefined) out[key] = null;
    } else if (a[key] === undefined) out[key] = b[key];
    else {
      const d = mergePatch(a[key], b[key]);
      if (d !== undefined) out[key] = d;
    }
  }
  return Object.keys(out).length ? out : undefined;
}

function getPath(obj, path) {
  return path.split('.').reduce((o, k) => (o === undefined || o === null ? undefined : o[k]), obj);
}

function setPath(obj, path, value) {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (!isObject(o[k])) o[k] = {};
    o = o[k];
  }
  const last = keys[keys.length - 1];
  if (value === undefined) delete o[last];
  else o[last] = value;
}

/** Drops objects a patch emptied ({legend: {}} after the text was cleared). */
function prune(obj) {
  for (const [k, v] of Object.entries(obj)) {
    if (isObject(v)) {
      prune(v);
      if (Object.keys(v).length === 0) delete obj[k];
    }
  }
  return obj;
}

export async function settingsView(root, ctx, id) {
  fill(root, spinner());
  const [source, answer] = await Promise.all([loadSource(id, ctx.signal), api.get(`/api/sources/${seg(id)}/settings`, ctx.signal)]);
  const body = h('div');
  fill(root, sourceHeader(source, 'settings'), body);
  renderForm(body, id, answer.settings, answer.editable || []);
}

function renderForm(container, id, original, editable) {
  // `editable` is the server's table of key paths this user may change (the one the PATCH
  // checks): a field or section is shown only when its path, or one under it, is in it.
  const may = (path) => editable.some((key) => path === key || path.startsWith(`${key}.`) || path.startsWith(`${key}[`) || key.startsWith(`${path}.`));
  /** A labelled field, or nothing when the field is not editable. */
  const field = (label, control, hint) => (control ? labelled(label, control, hint) : null);
  /** Simple fields: [element, path, read(el) -> form value, parse(value) -> settings value]. */
  const fields = [];
  const text = (path, props = {}) => {
    if (!may(path)) return null;
    const el = h('input', { type: 'text', value: getPath(original, path) ?? '', dataset: { path }, name: path, ...props });
    fields.push({ el, path, read: () => el.value.trim(), parse: (v) => (v === '' ? undefined : v) });
    return el;
  };
  const number = (path, props = {}) => {
    if (!may(path)) return null;
    const el = h('input', { type: 'number', inputmode: 'numeric', value: getPath(original, path) ?? '', dataset: { path }, name: path, ...props });
    fields.push({ el, path, read: () => el.value.trim(), parse: (v) => (v === '' ? undefined : Number.isFinite(Number(v)) ? Number(v) : v) });
    return el;
  };
  /** A list of whole numbers typed as "640, 1920"; what is not a number goes as typed, for the server to name. */
  const numbers = (path, props = {}) => {
    if (!may(path)) return null;
    const el = h('input', { type: 'text', inputmode: 'numeric', value: (getPath(original, path) ?? []).join(', '), dataset: { path }, name: path, ...props });
    const parse = (v) => (v === '' ? undefined : v.split(/[\s,]+/).filter(Boolean).map((x) => (/^\d+$/.test(x) ? Number(x) : x)));
    fields.push({ el, path, read: () => el.value.trim(), parse });
    return el;
  };
  const check = (path, fallback) => {
    if (!may(path)) return null;
    const value = getPath(original, path);
    const el = h('input', { type: 'checkbox', checked: value === undefined ? fallback : Boolean(value), dataset: { path }, name: path });
    fields.push({ el, path, read: () => el.checked, parse: (v) => v });
    return el;
  };
  const select = (path, options, fallback, parse = (v) => v) => {
    if (!may(path)) return null;
    const current = String(getPath(original, path) ?? fallback);
    const el = h('select', { dataset: { path }, name: path }, options.map((o) => h('option', { value: String(o), selected: String(o) === current, text: String(o) })));
    fields.push({ el, path, read: () => el.value, parse });
    return el;
  };

  // Lists: capture windows and privacy masks, redrawn on add/remove so that their paths stay right.
  let windows = (getPath(original, 'schedule.windows') || []).map((w) => ({ days: [...(w.days || WEEKDAYS)], from: w.from || '', to: w.to || '' }));
  let masks = (getPath(original, 'image.privacyMasks') || []).map((m) => ({ ...m }));
  const windowsBox = h('div', { class: 'list', dataset: { path: 'schedule.windows' } });
  const masksBox = h('div', { class: 'list', dataset: { path: 'image.privacyMasks' } });
  const initialWindows = JSON.stringify(windows);
  const initialMasks = JSON.stringify(masks);

  const drawWindows = () => {
    fill(
      windowsBox,
      windows.length === 0 ? h('p', { class: 'hint', text: 'No window: captures all day, every day.' }) : null,
      windows.map((w, i) => {
        const base = `schedule.windows[${i}]`;
        const days = h(
          'fieldset',
          { class: 'days', dataset: { path: `${base}.days` } },
          h('legend', { text: 'Days' }),
          WEEKDAYS.map((d) =>
            h('label', { class: 'day-check' }, h('input', { type: 'checkbox', checked: w.days.includes(d), onchange: (e) => {
              w.days = WEEKDAYS.filter((x) => (x === d ? e.target.checked : w.days.includes(x)));
            } }), d),
          ),
        );
        const from = h('input', { type: 'text', value: w.from, placeholder: '07:00 or sunrise-30m', dataset: { path: `${base}.from` }, oninput: (e) => (w.from = e.target.value.trim()) });
        const to = h('input', { type: 'text', value: w.to, placeholder: '19:00 or sunset+30m', dataset: { path: `${base}.to` }, oninput: (e) => (w.to = e.target.value.trim()) });
        return h('div', { class: 'window', dataset: { path: base } }, days, h('div', { class: 'row' }, labelled('From', from), labelled('To', to), button('Remove', () => {
          windows = windows.filter((x) => x !== w);
          drawWindows();
        }, { class: 'small danger' })));
      }),
      button('Add a window', () => {
        windows.push({ days: WEEKDAYS.slice(0, 5), from: '07:00', to: '19:00' });
        drawWindows();
      }, { class: 'small' }),
    );
  };
  const drawMasks = () => {
    fill(
      masksBox,
      masks.map((m, i) => {
        const base = `image.privacyMasks[${i}]`;
        const num = (key) => h('input', { type: 'number', inputmode: 'numeric', min: key === 'width' || key === 'height' ? 1 : 0, value: m[key] ?? '', dataset: { path: `${base}.${key}` }, oninput: (e) => (m[key] = e.target.value === '' ? undefined : Number(e.target.value)) });
        return h('div', { class: 'mask row', dataset: { path: base } }, labelled('Left', num('left')), labelled('Top', num('top')), labelled('Width', num('width')), labelled('Height', num('height')), button('Remove', () => {
          masks = masks.filter((x) => x !== m);
          drawMasks();
        }, { class: 'small danger' }));
      }),
      button('Add a mask', () => {
        masks.push({ left: 0, top: 0, width: 100, height: 100 });
        drawMasks();
      }, { class: 'small' }),
    );
  };
  drawWindows();
  drawMasks();

  const section = (key, title, ...content) => (may(key) ? h('fieldset', { class: 'panel', dataset: { path: key } }, h('legend', { text: title }), ...content) : null);
  const checkField = (path, fallback, label) => (may(path) ? h('label', { class: 'check' }, check(path, fallback), label) : null);
  const general = h('fieldset', { class: 'panel' }, h('legend', { text: 'Source' }), field('Name', text('name', { maxlength: 200 })), checkField('enabled', true, ' Enabled (captures on schedule)'));

  const message = h('div', { class: 'form-error', hidden: true });
  const status = h('p', { class: 'flash', hidden: true, role: 'status' });
  const save = h('button', { type: 'submit', class: 'primary', text: 'Save changes' });

  const form = h(
    'form',
    { class: 'settings', novalidate: true },
    general,
    section(
      'schedule',
      'Schedule',
      field('Capture every', text('schedule.every', { placeholder: '5m', size: 6 }), 'A duration such as 10s, 5m, 2h; slots are aligned to the clock.'),
      may('schedule.windows') ? [h('h3', { text: 'Windows' }), windowsBox] : null,
    ),
    section(
      'image',
      'Image',
      h('div', { class: 'row' }, field('Rotate', select('image.rotate', [0, 90, 180, 270], 0, Number)), field('Legend position', select('image.legend.position', POSITIONS, 'bottom-left'))),
      field('Legend text', text('image.legend.text', { placeholder: 'empty: no legend', value: getPath(original, 'image.legend') ? getPath(original, 'image.legend.text') ?? '{source} {date} {time}' : '' }), 'Placeholders: {source} {date} {time}. Empty: no legend.'),
      may('image.privacyMasks') ? [h('h3', { text: 'Privacy masks' }), h('p', { class: 'hint', text: 'Black rectangles, in pixels of the rotated picture.' }), masksBox] : null,
    ),
    section(
      'timelapse',
      'Daily video',
      checkField('timelapse.daily.enabled', true, ' Build a video of each day'),
      h('div', { class: 'row' }, field('At', text('timelapse.daily.at', { placeholder: '00:30', size: 5 })), field('FPS', number('timelapse.daily.fps', { min: 1, max: 120, placeholder: '25' })), field('Width', number('timelapse.daily.width', { min: 16, step: 2, placeholder: '1920' }))),
    ),
    section(
      'public',
      'Public picture',
      checkField('public.enabled', false, ' Publish the latest picture (no login)'),
      h('div', { class: 'row' }, field('Width', number('public.width', { min: 16, placeholder: '1280' })), field('Delay', text('public.delay', { placeholder: '0s', size: 6 }))),
      field('Other widths', numbers('public.sizes', { placeholder: '640, 1920' }), ' Each served as latest-<width>.jpg, for websites that want several sizes.'),
      getPath(original, 'public.enabled') ? embed(id) : null,
    ),
    message,
    h('div', { class: 'form-actions' }, save, status),
  );
  const initial = new Map(fields.map((f) => [f, f.read()]));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFieldErrors(form, message);
    status.hidden = true;
    const edited = structuredClone(original);
    for (const f of fields) {
      const v = f.read();
      if (v !== initial.get(f)) setPath(edited, f.path, f.parse(v));
    }
    // A cleared legend text removes the legend; its position alone means nothing.
    const legendText = fields.find((f) => f.path === 'image.legend.text');
    if (legendText && legendText.read() === '') setPath(edited, 'image.legend', undefined);
    if (JSON.stringify(windows) !== initialWindows) setPath(edited, 'schedule.windows', windows.length || getPath(original, 'schedule.windows') ? windows : undefined);
    if (JSON.stringify(masks) !== initialMasks) setPath(edited, 'image.privacyMasks', masks.length || getPath(original, 'image.privacyMasks') ? masks : undefined);
    const patch = mergePatch(original, prune(edited));
    if (!patch) return flash(status, 'Nothing changed.', 'muted');
    save.disabled = true;
    try {
      const answer = await api.patch(`/api/sources/${seg(id)}`, patch);
      const next = answer.settings || edited;
      renderForm(container, id, next, editable);
      const again = container.querySelector('.form-actions .flash');
      if (again) flash(again, `Saved: ${Object.keys(patch).join(', ')}. It applies now.`);
    } catch (err) {
      fieldErrors(form, message, err);
    } finally {
      save.disabled = false;
    }
  });
  container.replaceChildren(form);
}

function embed(id) {
  // As wide as the page's column and never wider (a fixed 640 px would widen a phone's page); the
  // embed page letterboxes pictures of another shape.
  const code = `<iframe src="${location.origin}/public/${id}" title="Live picture" loading="lazy" style="display:block;width:100%;max-width:1280px;aspect-ratio:16/9;border:0"></iframe>`;
  const area = h('textarea', { readonly: true, rows: 3, class: 'code', value: code, 'aria-label': 'Embed code', dataset: { embed: id } });
  const done = h('span', { class: 'flash', hidden: true });
  return h(
    'div',
    { class: 'embed' },
    h('h3', { text: 'Embed on a website' }),
    area,
    h('div', { class: 'row' }, button('Copy', async () => flash(done, (await copyText(code, area)) ? 'Copied.' : 'Select the text and copy it.'), { class: 'small', 'data-action': 'copy-embed' }), h('a', { href: `/public/${id}`, target: '_blank', rel: 'noopener', text: 'Open the public page' }), done),
  );
}

