// A source's settings for directors: a form over the file-form settings; only what
// changed is sent, as a JSON merge patch (objects merge, arrays replace, null removes).
import { api, apiUrl, seg, pictureUrl } from '../api.js';
import { h, fill, spinner, labelled, button, flash, copyText } from '../dom.js';
import * as t from '../time.js';
import { loadSource, sourceHeader } from './common.js';
import { fieldErrors, clearFieldErrors } from './forms.js';

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const PROGRESS_CONTENTS = ['latest', 'compare', 'film'];
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
  // Progress e-mails: their state, and the groups that may receive them (directors cannot list groups otherwise).
  const progress = (answer.editable || []).includes('progress') ? await api.get(`/api/sources/${seg(id)}/progress`, ctx.signal).catch(() => null) : null;
  // The latest picture, to draw the privacy masks on.
  const latestId = source.latest && source.latest.id;
  const latest = latestId ? await api.get(`/api/pictures/${latestId}`, ctx.signal).then((a) => a.picture).catch(() => null) : null;
  const body = h('div');
  fill(root, sourceHeader(source, 'settings'), body);
  renderForm(body, id, answer.settings, answer.editable || [], progress, latest);
}

/** Intervals offered beside "Capture every", each with the pictures a day it gives. */
const INTERVALS = ['10s', '30s', '1m', '2m', '5m', '10m', '15m', '20m', '30m', '1h'];

function renderForm(container, id, original, editable, progress, latest) {
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
  /** Words typed as "a@example.com, b@example.com"; sent as a list. */
  const words = (path, props = {}) => {
    if (!may(path)) return null;
    const el = h('input', { type: 'text', value: (getPath(original, path) ?? []).join(', '), dataset: { path }, name: path, ...props });
    fields.push({ el, path, read: () => el.value.trim(), parse: (v) => (v === '' ? [] : v.split(/[\s,;]+/).filter(Boolean)) });
    return el;
  };

  // Lists: capture windows and privacy masks, redrawn on add/remove so that their paths stay right.
  let windows = (getPath(original, 'schedule.windows') || []).map((w) => ({ days: [...(w.days || WEEKDAYS)], from: w.from || '', to: w.to || '' }));
  let masks = (getPath(original, 'image.privacyMasks') || []).map((m) => ({ ...m }));
  const windowsBox = h('div', { class: 'list', dataset: { path: 'schedule.windows' } });
  const masksBox = h('div', { class: 'list', dataset: { path: 'image.privacyMasks' } });
  masksBox.addEventListener('input', () => maskEditor?.draw());
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
          drawMasksAndCanvas();
        }, { class: 'small danger' }));
      }),
      button('Add a mask', () => {
        masks.push({ left: 0, top: 0, width: 100, height: 100 });
        drawMasksAndCanvas();
      }, { class: 'small' }),
    );
  };
  // Drawn on the latest picture; the number fields stay for precision, and each follows the other.
  const maskEditor = latest && may('image.privacyMasks') ? maskCanvas(latest, original, () => masks, (next) => {
    masks = next;
    drawMasks();
  }) : null;
  const redrawMasks = drawMasks;
  const drawMasksAndCanvas = () => {
    redrawMasks();
    maskEditor?.draw();
  };
  drawWindows();
  drawMasks();
  maskEditor?.draw();

  const section = (key, title, ...content) => (may(key) ? h('fieldset', { class: 'panel', dataset: { path: key } }, h('legend', { text: title }), ...content) : null);
  const checkField = (path, fallback, label) => (may(path) ? h('label', { class: 'check' }, check(path, fallback), label) : null);
  const general = h('fieldset', { class: 'panel' }, h('legend', { text: 'Source' }), field('Name', text('name', { maxlength: 200 })), checkField('enabled', true, ' Enabled (captures on schedule)'));

  const message = h('div', { class: 'form-error', hidden: true });
  const status = h('p', { class: 'flash', hidden: true, role: 'status' });
  const save = h('button', { type: 'submit', class: 'primary', text: 'Save changes' });

  // Interval presets, each with the pictures a day it gives with the windows as they are in the form.
  const everyInput = text('schedule.every', { placeholder: '5m', size: 6 });
  const presetsBox = h('div', { class: 'presets interval-presets', 'aria-label': 'Intervals' });
  let counting = 0;
  const countPresets = async () => {
    if (!everyInput) return;
    const ticket = ++counting;
    try {
      const answer = await api.post(`/api/sources/${seg(id)}/slots`, { every: INTERVALS, windows: windowsForPatch() });
      if (ticket !== counting) return;
      fill(presetsBox, INTERVALS.map((every) => {
        const perDay = answer.counts[every];
        const average = Math.round(perDay.reduce((a, b) => a + b, 0) / perDay.length);
        const spread = Math.min(...perDay) === Math.max(...perDay) ? `${average} a day` : `${Math.min(...perDay)}–${Math.max(...perDay)} a day`;
        return button(`${every} · ${spread}`, () => {
          everyInput.value = every;
          everyInput.dispatchEvent(new Event('input', { bubbles: true }));
        }, { class: 'small', dataset: { every }, 'aria-pressed': String(everyInput.value === every), title: `${answer.days.map((d, i) => `${d}: ${perDay[i]}`).join(', ')}` });
      }));
    } catch {
      if (ticket === counting) fill(presetsBox);
    }
  };
  everyInput?.addEventListener('input', () => {
    for (const b of presetsBox.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.every === everyInput.value.trim()));
  });
  let recount = 0;
  windowsBox.addEventListener('input', () => {
    clearTimeout(recount);
    recount = setTimeout(countPresets, 400);
  });
  windowsBox.addEventListener('click', () => {
    clearTimeout(recount);
    recount = setTimeout(countPresets, 400);
  });

  // A test shot with the form as it is, before saving.
  const previewImg = h('img', { class: 'preview-shot', alt: 'Test shot with these settings', hidden: true });
  const previewNote = h('p', { class: 'hint', role: 'status' });
  const previewButton = button('Preview a test shot', async () => {
    clearFieldErrors(form, message);
    previewButton.disabled = true;
    previewNote.textContent = 'The camera takes a test shot…';
    try {
      const res = await fetch(apiUrl(`/api/sources/${seg(id)}/preview`), { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'image/jpeg' }, body: JSON.stringify(collect().patch || {}), credentials: 'same-origin' });
      if (!res.ok) {
        const problem = await res.json().catch(() => ({ error: res.statusText }));
        throw Object.assign(new Error(problem.error || res.statusText), { status: res.status, details: problem.details });
      }
      const blob = await res.blob();
      if (previewImg.src.startsWith('blob:')) URL.revokeObjectURL(previewImg.src);
      previewImg.src = URL.createObjectURL(blob);
      previewImg.hidden = false;
      previewNote.textContent = `Test shot at ${t.time(new Date().toISOString())}, as the next picture will look with these settings (not kept).`;
    } catch (err) {
      previewNote.textContent = '';
      fieldErrors(form, message, err);
    } finally {
      previewButton.disabled = false;
    }
  }, { class: 'small', 'data-action': 'preview' });
  const previewBox = may('image') ? h('div', { class: 'preview-box' }, h('h3', { text: 'Preview' }), h('div', { class: 'row' }, previewButton), previewNote, previewImg) : null;

  /** The windows as the patch sends them. */
  function windowsForPatch() {
    return windows.map((w) => ({ days: w.days, from: w.from, to: w.to }));
  }

  const form = h(
    'form',
    { class: 'settings', novalidate: true },
    general,
    section(
      'schedule',
      'Schedule',
      field('Capture every', everyInput, 'A duration such as 10s, 5m, 2h; slots are aligned to the clock.'),
      everyInput ? presetsBox : null,
      may('schedule.windows') ? [h('h3', { text: 'Windows' }), windowsBox] : null,
    ),
    section(
      'image',
      'Image',
      h('div', { class: 'row' }, field('Rotate', select('image.rotate', [0, 90, 180, 270], 0, Number)), field('Legend position', select('image.legend.position', POSITIONS, 'bottom-left'))),
      may('image.crop')
        ? [
            h('div', { class: 'row crop' }, field('Crop left', number('image.crop.left', { min: 0, placeholder: '0' })), field('Top', number('image.crop.top', { min: 0, placeholder: '0' })), field('Width', number('image.crop.width', { min: 1, placeholder: 'all' })), field('Height', number('image.crop.height', { min: 1, placeholder: 'all' }))),
            h('p', { class: 'hint', text: 'The part kept, in pixels of the rotated picture; all four empty: the whole picture. "Preview a test shot" shows it before saving.' }),
          ]
        : null,
      field('Legend text', text('image.legend.text', { placeholder: 'empty: no legend', value: getPath(original, 'image.legend') ? getPath(original, 'image.legend.text') ?? '{source} {date} {time}' : '' }), 'Placeholders: {source} {date} {time}. Empty: no legend.'),
      may('image.privacyMasks')
        ? [
            h('h3', { text: 'Privacy masks' }),
            h('p', { class: 'hint', text: maskEditor ? 'Drag on the picture to draw a mask; drag a mask to move it, its corner to size it. Black rectangles, in pixels of the rotated picture.' : 'Black rectangles, in pixels of the rotated picture.' }),
            maskEditor ? maskEditor.element : null,
            masksBox,
          ]
        : null,
      may('image.watermark')
        ? [
            h('h3', { text: 'Watermark' }),
            field('File', text('image.watermark.file', { placeholder: 'logo.png' }), 'A PNG in the configuration file\'s folder; customers and the public see it. Empty: none.'),
            h('div', { class: 'row' }, field('Position', select('image.watermark.position', POSITIONS, 'bottom-right')), field('Opacity', number('image.watermark.opacity', { min: 0, max: 1, step: 0.05, placeholder: '0.6' })), field('Width', number('image.watermark.scale', { min: 0.02, max: 1, step: 0.01, placeholder: '0.2' }), 'Of the picture')),
          ]
        : null,
      previewBox,
    ),
    section(
      'timelapse',
      'Films',
      checkField('timelapse.daily.enabled', true, ' Build a film of each day'),
      h('div', { class: 'row' }, field('At', text('timelapse.daily.at', { placeholder: '00:30', size: 5 })), field('FPS', number('timelapse.daily.fps', { min: 1, max: 120, placeholder: '25' })), field('Width', number('timelapse.daily.width', { min: 16, step: 2, placeholder: '1920' })), field('At least (s)', number('timelapse.daily.minSeconds', { min: 0, max: 600, placeholder: '10' }), 'A shorter day is slowed')),
      checkField('timelapse.weekly.enabled', false, ' Build a film of each week (on Mondays)'),
      h('div', { class: 'row' }, field('FPS', number('timelapse.weekly.fps', { min: 1, max: 120, placeholder: '25' })), field('At most (s)', number('timelapse.weekly.maxSeconds', { min: 0, max: 3600, placeholder: '60' }))),
      checkField('timelapse.monthly.enabled', false, ' Build a film of each month (on the 1st)'),
      h('div', { class: 'row' }, field('FPS', number('timelapse.monthly.fps', { min: 1, max: 120, placeholder: '25' })), field('At most (s)', number('timelapse.monthly.maxSeconds', { min: 0, max: 3600, placeholder: '120' }))),
      checkField('timelapse.phone.enabled', true, ' Also make each film for phones'),
      h('div', { class: 'row' }, field('Height', number('timelapse.phone.height', { min: 144, max: 1080, step: 2, placeholder: '720' })), field('Bit rate at most', text('timelapse.phone.maxBitrate', { placeholder: '1Mbit/s', size: 9 }))),
    ),
    section(
      'public',
      'Public picture',
      checkField('public.enabled', false, ' Publish the latest picture (no login)'),
      h('div', { class: 'row' }, field('Width', number('public.width', { min: 16, placeholder: '1280' })), field('Delay', text('public.delay', { placeholder: '0s', size: 6 }))),
      field('Other widths', numbers('public.sizes', { placeholder: '640, 1920' }), ' Each served as latest-<width>.jpg, for websites that want several sizes.'),
      getPath(original, 'public.enabled') ? embed(id) : null,
    ),
    may('progress') ? progressSection(id, original, progress, { check, select, words, number, text, field }) : null,
    message,
    h('div', { class: 'form-actions' }, save, status),
  );
  const initial = new Map(fields.map((f) => [f, f.read()]));

  /** The merge patch of what the form changed; undefined when nothing. */
  function collect() {
    const edited = structuredClone(original);
    for (const f of fields) {
      const v = f.read();
      if (v !== initial.get(f)) setPath(edited, f.path, f.parse(v));
    }
    // A cleared legend text removes the legend; its position alone means nothing. The same for the watermark's file.
    const legendText = fields.find((f) => f.path === 'image.legend.text');
    if (legendText && legendText.read() === '') setPath(edited, 'image.legend', undefined);
    // A crop whose four numbers were all emptied keeps the whole picture.
    const crop = fields.filter((f) => f.path.startsWith('image.crop.'));
    if (crop.length === 4 && crop.every((f) => f.read() === '')) setPath(edited, 'image.crop', undefined);
    const watermarkFile = fields.find((f) => f.path === 'image.watermark.file');
    if (watermarkFile && watermarkFile.read() === '') setPath(edited, 'image.watermark', undefined);
    if (JSON.stringify(windows) !== initialWindows) setPath(edited, 'schedule.windows', windows.length || getPath(original, 'schedule.windows') ? windows : undefined);
    if (JSON.stringify(masks) !== initialMasks) setPath(edited, 'image.privacyMasks', masks.length || getPath(original, 'image.privacyMasks') ? masks : undefined);
    // A day means something only weekly, and the days back only for a comparison: left out otherwise.
    if (isObject(edited.progress)) {
      // Fields filled in without ticking the box set the e-mails up switched off (the file's default is on).
      if (getPath(original, 'progress') === undefined && edited.progress.enabled === undefined) edited.progress.enabled = false;
      if (edited.progress.every === 'day') delete edited.progress.day;
      if (edited.progress.content !== 'compare') delete edited.progress.compareDays;
    }
    return { patch: mergePatch(original, prune(edited)), edited };
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFieldErrors(form, message);
    status.hidden = true;
    const { patch, edited } = collect();
    if (!patch) return flash(status, 'Nothing changed.', 'muted');
    save.disabled = true;
    try {
      const answer = await api.patch(`/api/sources/${seg(id)}`, patch);
      const next = answer.settings || edited;
      const state = may('progress') ? await api.get(`/api/sources/${seg(id)}/progress`).catch(() => progress) : progress;
      renderForm(container, id, next, editable, state);
      const again = container.querySelector('.form-actions .flash');
      if (again) flash(again, `Saved: ${Object.keys(patch).join(', ')}. It applies now.`);
    } catch (err) {
      fieldErrors(form, message, err);
    } finally {
      save.disabled = false;
    }
  });
  container.replaceChildren(form);
  countPresets();
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


/**
 * Progress e-mails: who gets them, how often, what they show, the link's level; what
 * happened to the last ones; and a button that sends one now to check.
 */
function progressSection(id, original, progress, f) {
  const { check, select, words, number, text, field } = f;
  const has = getPath(original, 'progress') !== undefined;
  const groups = (progress && progress.groups) || [];
  const group = getPath(original, 'progress.group');
  // A group the file names but that does not exist (any more) stays selected, so saving does not drop it silently.
  const groupOptions = ['', ...groups, ...(group && !groups.includes(group) ? [group] : [])];
  const groupSelect = select('progress.group', groupOptions, '', (v) => (v === '' ? undefined : v));
  if (groupSelect) for (const option of groupSelect.options) if (option.value === '') option.textContent = '(none)';
  const every = select('progress.every', ['week', 'day'], 'week');
  const day = select('progress.day', WEEKDAYS, 'mon');
  const content = select('progress.content', PROGRESS_CONTENTS, 'latest');
  const compareDays = number('progress.compareDays', { min: 1, max: 365, placeholder: '7' });
  const dayField = field('Day', day, 'Weekly e-mails');
  const daysField = field('Days back', compareDays, 'Compare only');
  const sync = () => {
    if (dayField) dayField.hidden = every && every.value !== 'week';
    if (daysField) daysField.hidden = content && content.value !== 'compare';
  };
  every?.addEventListener('change', sync);
  content?.addEventListener('change', sync);
  sync();
  const status = progress && progress.progress;
  const stateBox = h('div', null, status ? progressState(status) : null);
  // After a send: the last sent, or the retry and its error, as the System page says it.
  const refresh = async () => {
    const again = await api.get(`/api/sources/${seg(id)}/progress`).catch(() => null);
    if (again && again.progress) fill(stateBox, progressState(again.progress));
  };
  return h(
    'fieldset',
    { class: 'panel progress', dataset: { path: 'progress' } },
    h('legend', { text: 'Progress e-mails' }),
    h('p', { class: 'hint', text: 'An e-mail with the newest picture, a comparison or the newest film, sent through the alerts SMTP server, with a share link valid until the next e-mail.' }),
    h('label', { class: 'check' }, check('progress.enabled', has), ' Send progress e-mails'),
    field('To', words('progress.to', { placeholder: 'site@example.com, boss@example.com', autocomplete: 'off' }), 'E-mail addresses, separated by commas.'),
    field('Group', groupSelect, groups.length ? 'Its members with an e-mail address get them too.' : 'No group yet: a maintainer makes them on the Users page.'),
    h('div', { class: 'row' }, field('Every', every), dayField, field('At', text('progress.at', { placeholder: '08:00', size: 5 }), 'Local time of the box.')),
    h('div', { class: 'row' }, field('Content', content), daysField, field('Link', select('progress.level', ['view', 'download'], 'view'), 'download: the link also lets them download.')),
    stateBox,
    has && getPath(original, 'progress.enabled') !== false ? sendNow(id, refresh) : null,
  );
}

/** What happened to the source's e-mails, in the words of the System page. */
function progressState(p) {
  const lines = [
    h('li', { text: p.enabled ? `Next: ${t.dateMinutes(p.nextAt)} (${p.rhythm}), to ${p.recipients.length} recipient${p.recipients.length === 1 ? '' : 's'}.` : 'Off.' }),
    h('li', { text: p.lastSent ? `Last sent ${t.dateMinutes(p.lastSent.at)} to ${p.lastSent.recipients}.` : 'None sent yet.' }),
  ];
  if (p.pending) lines.push(h('li', { class: 'warn-text', text: p.pending.sending ? 'One is being sent.' : `Waiting since ${t.dateMinutes(p.pending.queuedAt)}, ${p.pending.attempts} failed attempt(s), next try ${t.dateMinutes(p.pending.nextAttemptAt)}: ${p.pending.lastError || ''}` }));
  if (p.lastProblem) lines.push(h('li', { class: p.lastProblem.state === 'failed' ? 'bad-text' : 'warn-text', text: `${p.lastProblem.state === 'failed' ? 'Given up' : 'Skipped'} ${t.dateMinutes(p.lastProblem.at)}: ${p.lastProblem.reason}` }));
  if (p.problem) lines.push(h('li', { class: 'bad-text', text: p.problem }));
  if (p.withoutAddress.length) lines.push(h('li', { class: 'warn-text', text: `Without an e-mail address (they get nothing): ${p.withoutAddress.join(', ')}` }));
  return h('ul', { class: 'progress-state', dataset: { progressState: p.sourceId } }, lines);
}

function sendNow(id, refresh) {
  const done = h('span', { class: 'flash', hidden: true, role: 'status' });
  const go = button('Send one now', async () => {
    go.disabled = true;
    try {
      const { email } = await api.post(`/api/sources/${seg(id)}/progress/send`, {});
      if (email.state === 'sent') flash(done, `Sent to ${email.recipients} recipient${email.recipients === 1 ? '' : 's'}.`);
      else if (email.state === 'pending') flash(done, `Not sent yet: ${email.error}. Tried again ${t.dateMinutes(email.nextAttemptAt)}.`, 'bad-text');
      else flash(done, `Not sent: ${email.error}`, 'bad-text');
      await refresh();
    } catch (err) {
      flash(done, err.message, 'bad-text');
    } finally {
      go.disabled = false;
    }
  }, { class: 'small', 'data-action': 'send-progress' });
  return h('div', { class: 'row' }, go, h('small', { class: 'hint', text: 'To the recipients above, with a new link that replaces the last one.' }), done);
}

/**
 * Privacy masks drawn on the latest picture (issue 25). The picture is stored turned,
 * cut and masked with the saved settings, so a mask's place on it is its place in the
 * rotated picture less the saved crop's corner; masks stay in pixels of the rotated
 * picture, as the file keeps them. Drag on the picture to draw one; drag one to move
 * it, its corner to size it.
 */
function maskCanvas(latest, original, getMasks, onChange) {
  const width = latest.width;
  const height = latest.height;
  const crop = getPath(original, 'image.crop') || { left: 0, top: 0 };
  const boxes = h('div', { class: 'mask-layer' });
  const img = h('img', { src: pictureUrl(latest, 'preview'), alt: `Latest picture, ${t.dateTime(latest.takenAt)}`, width, height, draggable: false });
  const element = h('div', { class: 'mask-canvas', dataset: { picture: latest.id } }, img, boxes);
  const pct = (v, of) => `${(100 * v) / of}%`;
  const place = (el, m) => {
    el.style.left = pct(m.left - (crop.left || 0), width);
    el.style.top = pct(m.top - (crop.top || 0), height);
    el.style.width = pct(m.width, width);
    el.style.height = pct(m.height, height);
  };
  /** A point of the pointer, in pixels of the stored picture, kept inside it. */
  const at = (e) => {
    const r = boxes.getBoundingClientRect();
    return { x: Math.min(width, Math.max(0, ((e.clientX - r.left) / r.width) * width)), y: Math.min(height, Math.max(0, ((e.clientY - r.top) / r.height) * height)) };
  };
  let drag = null;
  const draw = () => {
    fill(
      boxes,
      getMasks().map((m, i) => {
        const box = h('div', { class: 'mask-box', dataset: { mask: i }, role: 'img', 'aria-label': `Mask ${i + 1}: ${m.width}×${m.height} at ${m.left},${m.top}` }, h('span', { class: 'mask-handle', dataset: { handle: i } }));
        place(box, m);
        return box;
      }),
    );
  };
  boxes.addEventListener('pointerdown', (e) => {
    e.preventDefault();
    boxes.setPointerCapture(e.pointerId);
    const p = at(e);
    const handle = e.target.closest('.mask-handle');
    const box = e.target.closest('.mask-box');
    const masks = getMasks();
    if (handle) drag = { kind: 'size', mask: masks[Number(handle.dataset.handle)], start: p };
    else if (box) {
      const m = masks[Number(box.dataset.mask)];
      drag = { kind: 'move', mask: m, start: p, from: { left: m.left, top: m.top } };
    } else {
      const m = { left: Math.round(p.x + (crop.left || 0)), top: Math.round(p.y + (crop.top || 0)), width: 1, height: 1 };
      masks.push(m);
      drag = { kind: 'new', mask: m, start: p };
      draw();
    }
  });
  boxes.addEventListener('pointermove', (e) => {
    if (!drag) return;
    const p = at(e);
    const m = drag.mask;
    if (drag.kind === 'move') {
      m.left = Math.round(Math.min(width - m.width, Math.max(0, drag.from.left - (crop.left || 0) + p.x - drag.start.x)) + (crop.left || 0));
      m.top = Math.round(Math.min(height - m.height, Math.max(0, drag.from.top - (crop.top || 0) + p.y - drag.start.y)) + (crop.top || 0));
    } else if (drag.kind === 'size') {
      m.width = Math.max(1, Math.round(p.x + (crop.left || 0) - m.left));
      m.height = Math.max(1, Math.round(p.y + (crop.top || 0) - m.top));
    } else {
      m.left = Math.round(Math.min(p.x, drag.start.x) + (crop.left || 0));
      m.top = Math.round(Math.min(p.y, drag.start.y) + (crop.top || 0));
      m.width = Math.max(1, Math.round(Math.abs(p.x - drag.start.x)));
      m.height = Math.max(1, Math.round(Math.abs(p.y - drag.start.y)));
    }
    const box = boxes.querySelector(`[data-mask="${getMasks().indexOf(m)}"]`);
    if (box) place(box, m);
  });
  const end = () => {
    if (!drag) return;
    const m = drag.mask;
    // A click without a drag draws nothing.
    const masks = getMasks();
    const next = drag.kind === 'new' && m.width < 4 && m.height < 4 ? masks.filter((x) => x !== m) : masks;
    drag = null;
    onChange(next);
    draw();
  };
  boxes.addEventListener('pointerup', end);
  boxes.addEventListener('pointercancel', end);
  return { element, draw };
}
