// A source's settings for directors: a form over the file-form settings; only what
// changed is sent, as a JSON merge patch (objects merge, arrays replace, null removes).
import { api, apiUrl, seg, pictureUrl } from '../api.js';
import { h, fill, spinner, labelled, button, flash, copyText } from '../dom.js';
import * as time from '../time.js';
import { t } from '../i18n.js';
import { loadSource, sourceHeader } from './common.js';
import { fieldErrors, clearFieldErrors } from './forms.js';

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const PROGRESS_CONTENTS = ['latest', 'compare', 'film'];
const POSITIONS = ['top-left', 'top', 'top-right', 'center', 'bottom-left', 'bottom', 'bottom-right'];

// What people read for the codes the file holds; the selects' values stay the codes.
const WEEKDAY_LABELS = {
  mon: t('settings.dayMon'),
  tue: t('settings.dayTue'),
  wed: t('settings.dayWed'),
  thu: t('settings.dayThu'),
  fri: t('settings.dayFri'),
  sat: t('settings.daySat'),
  sun: t('settings.daySun'),
};
const PROGRESS_CONTENT_LABELS = { latest: t('settings.contentLatest'), compare: t('settings.contentCompare'), film: t('settings.contentFilm') };
const PROGRESS_EVERY_LABELS = { week: t('settings.everyWeek'), day: t('settings.everyDay') };
const LEVEL_LABELS = { view: t('settings.levelView'), download: t('settings.levelDownload') };
const POSITION_LABELS = {
  'top-left': t('settings.positionTopLeft'),
  top: t('settings.positionTop'),
  'top-right': t('settings.positionTopRight'),
  center: t('settings.positionCenter'),
  'bottom-left': t('settings.positionBottomLeft'),
  bottom: t('settings.positionBottom'),
  'bottom-right': t('settings.positionBottomRight'),
};

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
  /** `labels`: what people read for each value, when it is not the value itself. */
  const select = (path, options, fallback, parse = (v) => v, labels = null) => {
    if (!may(path)) return null;
    const current = String(getPath(original, path) ?? fallback);
    const el = h('select', { dataset: { path }, name: path }, options.map((o) => h('option', { value: String(o), selected: String(o) === current, text: labels?.[o] ?? String(o) })));
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
      windows.length === 0 ? h('p', { class: 'hint', text: t('settings.noWindow') }) : null,
      windows.map((w, i) => {
        const base = `schedule.windows[${i}]`;
        const days = h(
          'fieldset',
          { class: 'days', dataset: { path: `${base}.days` } },
          h('legend', { text: t('settings.days') }),
          WEEKDAYS.map((d) =>
            h('label', { class: 'day-check' }, h('input', { type: 'checkbox', checked: w.days.includes(d), onchange: (e) => {
              w.days = WEEKDAYS.filter((x) => (x === d ? e.target.checked : w.days.includes(x)));
            } }), WEEKDAY_LABELS[d]),
          ),
        );
        const from = h('input', { type: 'text', value: w.from, placeholder: t('settings.windowFromPlaceholder'), dataset: { path: `${base}.from` }, oninput: (e) => (w.from = e.target.value.trim()) });
        const to = h('input', { type: 'text', value: w.to, placeholder: t('settings.windowToPlaceholder'), dataset: { path: `${base}.to` }, oninput: (e) => (w.to = e.target.value.trim()) });
        return h('div', { class: 'window', dataset: { path: base } }, days, h('div', { class: 'row' }, labelled(t('settings.windowFrom'), from), labelled(t('settings.windowTo'), to), button(t('settings.remove'), () => {
          windows = windows.filter((x) => x !== w);
          drawWindows();
        }, { class: 'small danger' })));
      }),
      button(t('settings.addWindow'), () => {
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
        return h('div', { class: 'mask row', dataset: { path: base } }, labelled(t('settings.left'), num('left')), labelled(t('settings.top'), num('top')), labelled(t('settings.width'), num('width')), labelled(t('settings.height'), num('height')), button(t('settings.remove'), () => {
          masks = masks.filter((x) => x !== m);
          drawMasksAndCanvas();
        }, { class: 'small danger' }));
      }),
      button(t('settings.addMask'), () => {
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
  const general = h('fieldset', { class: 'panel' }, h('legend', { text: t('settings.sourceTitle') }), field(t('settings.name'), text('name', { maxlength: 200 })), checkField('enabled', true, ` ${t('settings.enabled')}`));

  const message = h('div', { class: 'form-error', hidden: true });
  const status = h('p', { class: 'flash', hidden: true, role: 'status' });
  const save = h('button', { type: 'submit', class: 'primary', text: t('settings.save') });

  // Interval presets, each with the pictures a day it gives with the windows as they are in the form.
  const everyInput = text('schedule.every', { placeholder: '5m', size: 6 });
  const presetsBox = h('div', { class: 'presets interval-presets', 'aria-label': t('settings.intervals') });
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
        const label = Math.min(...perDay) === Math.max(...perDay) ? t('settings.presetPerDay', { every, count: average }) : t('settings.presetPerDayRange', { every, min: Math.min(...perDay), max: Math.max(...perDay) });
        return button(label, () => {
          everyInput.value = every;
          everyInput.dispatchEvent(new Event('input', { bubbles: true }));
        }, { class: 'small', dataset: { every }, 'aria-pressed': String(everyInput.value === every), title: `${answer.days.map((d, i) => t('settings.presetDayCount', { day: d, count: perDay[i] })).join(', ')}` });
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
  const previewImg = h('img', { class: 'preview-shot', alt: t('settings.previewAlt'), hidden: true });
  const previewNote = h('p', { class: 'hint', role: 'status' });
  const previewButton = button(t('settings.previewButton'), async () => {
    clearFieldErrors(form, message);
    previewButton.disabled = true;
    previewNote.textContent = t('settings.previewTaking');
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
      previewNote.textContent = t('settings.previewTaken', { time: time.time(new Date().toISOString()) });
    } catch (err) {
      previewNote.textContent = '';
      fieldErrors(form, message, err);
    } finally {
      previewButton.disabled = false;
    }
  }, { class: 'small', 'data-action': 'preview' });
  const previewBox = may('image') ? h('div', { class: 'preview-box' }, h('h3', { text: t('settings.preview') }), h('div', { class: 'row' }, previewButton), previewNote, previewImg) : null;

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
      t('settings.schedule'),
      field(t('settings.captureEvery'), everyInput, t('settings.captureEveryHint')),
      everyInput ? presetsBox : null,
      may('schedule.windows') ? [h('h3', { text: t('settings.windows') }), windowsBox] : null,
    ),
    section(
      'image',
      t('settings.image'),
      h('div', { class: 'row' }, field(t('settings.rotate'), select('image.rotate', [0, 90, 180, 270], 0, Number)), field(t('settings.legendPosition'), select('image.legend.position', POSITIONS, 'bottom-left', undefined, POSITION_LABELS))),
      may('image.crop')
        ? [
            h('div', { class: 'row crop' }, field(t('settings.cropLeft'), number('image.crop.left', { min: 0, placeholder: '0' })), field(t('settings.top'), number('image.crop.top', { min: 0, placeholder: '0' })), field(t('settings.width'), number('image.crop.width', { min: 1, placeholder: t('settings.cropAll') })), field(t('settings.height'), number('image.crop.height', { min: 1, placeholder: t('settings.cropAll') }))),
            h('p', { class: 'hint', text: t('settings.cropHint', { button: t('settings.previewButton') }) }),
          ]
        : null,
      // The placeholders are the legend's own syntax, the same in every language.
      field(t('settings.legendText'), text('image.legend.text', { placeholder: t('settings.legendTextPlaceholder'), value: getPath(original, 'image.legend') ? getPath(original, 'image.legend.text') ?? '{source} {date} {time}' : '' }), t('settings.legendTextHint', { placeholders: '{source} {date} {time}' })),
      may('image.privacyMasks')
        ? [
            h('h3', { text: t('settings.privacyMasks') }),
            h('p', { class: 'hint', text: maskEditor ? t('settings.privacyMasksDrawHint') : t('settings.privacyMasksHint') }),
            maskEditor ? maskEditor.element : null,
            masksBox,
          ]
        : null,
      may('image.watermark')
        ? [
            h('h3', { text: t('settings.watermark') }),
            field(t('settings.watermarkFile'), text('image.watermark.file', { placeholder: 'logo.png' }), t('settings.watermarkFileHint')),
            h('div', { class: 'row' }, field(t('settings.position'), select('image.watermark.position', POSITIONS, 'bottom-right', undefined, POSITION_LABELS)), field(t('settings.opacity'), number('image.watermark.opacity', { min: 0, max: 1, step: 0.05, placeholder: '0.6' })), field(t('settings.width'), number('image.watermark.scale', { min: 0.02, max: 1, step: 0.01, placeholder: '0.2' }), t('settings.watermarkWidthHint'))),
          ]
        : null,
      previewBox,
    ),
    section(
      'timelapse',
      t('settings.films'),
      checkField('timelapse.daily.enabled', true, ` ${t('settings.dailyEnabled')}`),
      h('div', { class: 'row' }, field(t('settings.at'), text('timelapse.daily.at', { placeholder: '00:30', size: 5 })), field(t('settings.fps'), number('timelapse.daily.fps', { min: 1, max: 120, placeholder: '25' })), field(t('settings.width'), number('timelapse.daily.width', { min: 16, step: 2, placeholder: '1920' })), field(t('settings.atLeastSeconds'), number('timelapse.daily.minSeconds', { min: 0, max: 600, placeholder: '10' }), t('settings.atLeastSecondsHint'))),
      checkField('timelapse.weekly.enabled', false, ` ${t('settings.weeklyEnabled')}`),
      h('div', { class: 'row' }, field(t('settings.fps'), number('timelapse.weekly.fps', { min: 1, max: 120, placeholder: '25' })), field(t('settings.atMostSeconds'), number('timelapse.weekly.maxSeconds', { min: 0, max: 3600, placeholder: '60' }))),
      checkField('timelapse.monthly.enabled', false, ` ${t('settings.monthlyEnabled')}`),
      h('div', { class: 'row' }, field(t('settings.fps'), number('timelapse.monthly.fps', { min: 1, max: 120, placeholder: '25' })), field(t('settings.atMostSeconds'), number('timelapse.monthly.maxSeconds', { min: 0, max: 3600, placeholder: '120' }))),
      checkField('timelapse.phone.enabled', true, ` ${t('settings.phoneEnabled')}`),
      h('div', { class: 'row' }, field(t('settings.height'), number('timelapse.phone.height', { min: 144, max: 1080, step: 2, placeholder: '720' })), field(t('settings.maxBitrate'), text('timelapse.phone.maxBitrate', { placeholder: '1Mbit/s', size: 9 }))),
    ),
    section(
      'public',
      t('settings.publicPicture'),
      checkField('public.enabled', false, ` ${t('settings.publicEnabled')}`),
      h('div', { class: 'row' }, field(t('settings.width'), number('public.width', { min: 16, placeholder: '1280' })), field(t('settings.delay'), text('public.delay', { placeholder: '0s', size: 6 }))),
      // The file name is the URL's, the same in every language.
      field(t('settings.otherWidths'), numbers('public.sizes', { placeholder: '640, 1920' }), ` ${t('settings.otherWidthsHint', { file: 'latest-<width>.jpg' })}`),
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
    if (!patch) return flash(status, t('settings.nothingChanged'), 'muted');
    save.disabled = true;
    try {
      const answer = await api.patch(`/api/sources/${seg(id)}`, patch);
      const next = answer.settings || edited;
      const state = may('progress') ? await api.get(`/api/sources/${seg(id)}/progress`).catch(() => progress) : progress;
      renderForm(container, id, next, editable, state);
      const again = container.querySelector('.form-actions .flash');
      // The keys are the file's own names (schedule, image), the same in every language.
      if (again) flash(again, t('settings.saved', { keys: Object.keys(patch).join(', ') }));
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
  // The frame's title is read out on the customer's site, in the director's language; it goes
  // into an attribute of the snippet, so a catalog's quote or ampersand must not end it.
  const title = t('settings.embedFrameTitle').replace(/&/g, '&amp;').replace(/"/g, '&quot;');
  const code = `<iframe src="${location.origin}/public/${id}" title="${title}" loading="lazy" style="display:block;width:100%;max-width:1280px;aspect-ratio:16/9;border:0"></iframe>`;
  const area = h('textarea', { readonly: true, rows: 3, class: 'code', value: code, 'aria-label': t('settings.embedCode'), dataset: { embed: id } });
  const done = h('span', { class: 'flash', hidden: true });
  return h(
    'div',
    { class: 'embed' },
    h('h3', { text: t('settings.embedTitle') }),
    area,
    h('div', { class: 'row' }, button(t('settings.copy'), async () => flash(done, (await copyText(code, area)) ? t('settings.copied') : t('settings.copyByHand')), { class: 'small', 'data-action': 'copy-embed' }), h('a', { href: `/public/${id}`, target: '_blank', rel: 'noopener', text: t('settings.openPublicPage') }), done),
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
  if (groupSelect) for (const option of groupSelect.options) if (option.value === '') option.textContent = t('settings.noGroupOption');
  const every = select('progress.every', ['week', 'day'], 'week', undefined, PROGRESS_EVERY_LABELS);
  const day = select('progress.day', WEEKDAYS, 'mon', undefined, WEEKDAY_LABELS);
  const content = select('progress.content', PROGRESS_CONTENTS, 'latest', undefined, PROGRESS_CONTENT_LABELS);
  const compareDays = number('progress.compareDays', { min: 1, max: 365, placeholder: '7' });
  const dayField = field(t('settings.progressDay'), day, t('settings.progressDayHint'));
  const daysField = field(t('settings.progressDaysBack'), compareDays, t('settings.progressDaysBackHint'));
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
    h('legend', { text: t('settings.progressTitle') }),
    h('p', { class: 'hint', text: t('settings.progressHint') }),
    h('label', { class: 'check' }, check('progress.enabled', has), ` ${t('settings.progressEnabled')}`),
    field(t('settings.progressTo'), words('progress.to', { placeholder: t('settings.progressToPlaceholder'), autocomplete: 'off' }), t('settings.progressToHint')),
    field(t('settings.progressGroup'), groupSelect, groups.length ? t('settings.progressGroupHint') : t('settings.progressNoGroup')),
    h('div', { class: 'row' }, field(t('settings.progressEvery'), every), dayField, field(t('settings.at'), text('progress.at', { placeholder: '08:00', size: 5 }), t('settings.progressAtHint'))),
    h('div', { class: 'row' }, field(t('settings.progressContent'), content), daysField, field(t('settings.progressLink'), select('progress.level', ['view', 'download'], 'view', undefined, LEVEL_LABELS), t('settings.progressLinkHint', { download: LEVEL_LABELS.download }))),
    stateBox,
    has && getPath(original, 'progress.enabled') !== false ? sendNow(id, refresh) : null,
  );
}

/** What happened to the source's e-mails, in the words of the System page. */
function progressState(p) {
  const lines = [
    h('li', { text: p.enabled ? t('settings.progressNext', { at: time.dateMinutes(p.nextAt), rhythm: p.rhythm, count: p.recipients.length }) : t('settings.progressOff') }),
    h('li', { text: p.lastSent ? t('settings.progressLastSent', { at: time.dateMinutes(p.lastSent.at), count: p.lastSent.recipients }) : t('settings.progressNoneSent') }),
  ];
  if (p.pending) lines.push(h('li', { class: 'warn-text', text: p.pending.sending ? t('settings.progressSending') : t('settings.progressWaiting', { since: time.dateMinutes(p.pending.queuedAt), attempts: p.pending.attempts, next: time.dateMinutes(p.pending.nextAttemptAt), error: p.pending.lastError || '' }) }));
  if (p.lastProblem) {
    const values = { at: time.dateMinutes(p.lastProblem.at), reason: p.lastProblem.reason };
    lines.push(h('li', { class: p.lastProblem.state === 'failed' ? 'bad-text' : 'warn-text', text: p.lastProblem.state === 'failed' ? t('settings.progressGivenUp', values) : t('settings.progressSkipped', values) }));
  }
  if (p.problem) lines.push(h('li', { class: 'bad-text', text: p.problem }));
  // The names are users' names; joined as the System page joins them.
  if (p.withoutAddress.length) lines.push(h('li', { class: 'warn-text', text: t('settings.progressWithoutAddress', { names: p.withoutAddress.join(', ') }) }));
  return h('ul', { class: 'progress-state', dataset: { progressState: p.sourceId } }, lines);
}

function sendNow(id, refresh) {
  const done = h('span', { class: 'flash', hidden: true, role: 'status' });
  const go = button(t('settings.sendNow'), async () => {
    go.disabled = true;
    try {
      const { email } = await api.post(`/api/sources/${seg(id)}/progress/send`, {});
      if (email.state === 'sent') flash(done, t('settings.sentTo', { count: email.recipients }));
      else if (email.state === 'pending') flash(done, t('settings.notSentYet', { error: email.error, at: time.dateMinutes(email.nextAttemptAt) }), 'bad-text');
      else flash(done, t('settings.notSent', { error: email.error }), 'bad-text');
      await refresh();
    } catch (err) {
      flash(done, err.message, 'bad-text');
    } finally {
      go.disabled = false;
    }
  }, { class: 'small', 'data-action': 'send-progress' });
  return h('div', { class: 'row' }, go, h('small', { class: 'hint', text: t('settings.sendNowHint') }), done);
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
  const img = h('img', { src: pictureUrl(latest, 'preview'), alt: t('settings.latestPictureAlt', { date: time.dateTime(latest.takenAt) }), width, height, draggable: false });
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
        const box = h('div', { class: 'mask-box', dataset: { mask: i }, role: 'img', 'aria-label': t('settings.maskLabel', { n: i + 1, width: m.width, height: m.height, left: m.left, top: m.top }) }, h('span', { class: 'mask-handle', dataset: { handle: i } }));
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
