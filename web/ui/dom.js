// DOM helpers. Everything that comes from data (names, legends, messages) goes in
// as text nodes or properties, never parsed as HTML: nothing in this UI builds markup from strings.
import { t, number } from './i18n.js';

/**
 * h('a', { href: '#/', class: 'x', onclick: fn }, 'text', child, [more])
 * Props: class, text, dataset, on<event> functions, DOM properties that exist on
 * the element (value, checked, disabled, hidden...), anything else as an attribute.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
      else if (key === 'text') el.textContent = String(value);
      else if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key.startsWith('on')) {
        // Handlers are functions; a string here would be an inline handler (and a hole).
        if (typeof value !== 'function') throw new TypeError(`${key} must be a function`);
        el.addEventListener(key.slice(2), value);
      }
      else if (key in el && typeof value !== 'string') el[key] = value;
      else if (key === 'value' || key === 'checked' || key === 'selected') el[key] = value;
      else el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * svg('path', { class: 'line', d: 'M0 0L10 5' }, child): an SVG element. Props are
 * attributes (numbers and class names made by the caller), `text` a text node;
 * no handlers, and nothing is parsed as markup.
 */
export function svg(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  if (props) {
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'text') el.textContent = String(value);
      else if (key.startsWith('on')) throw new TypeError(`${key}: no handlers on SVG elements`);
      else el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export const LEVELS = ['view', 'download', 'edit', 'manage'];
export const atLeast = (level, wanted) => LEVELS.indexOf(level) >= LEVELS.indexOf(wanted) && level !== undefined && level !== null;

/** A message box; `err` may be an ApiError with details. */
export function errorBox(err, what) {
  const box = h('div', { class: 'error', role: 'alert' });
  fillError(box, err, what);
  return box;
}

export function fillError(box, err, what) {
  const message = err && err.message ? err.message : String(err);
  fill(box, what ? h('strong', { text: t('dom.errorLead', { what }) }) : null, what ? ' ' : null, message);
  const details = err && err.details;
  if (details && typeof details === 'object') {
    const list = h('ul');
    for (const [key, value] of Object.entries(details)) list.append(h('li', null, h('code', { text: key }), ' ', detailText(value)));
    box.append(list);
  }
  box.hidden = false;
}

export function detailText(value) {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof value.message === 'string') return value.message;
  return JSON.stringify(value);
}

/** A small status line that says "Saved" and fades. */
export function flash(el, text, kind = 'ok') {
  el.className = `flash ${kind}`;
  el.textContent = text;
  el.hidden = false;
}

export function labelled(text, control, hint) {
  return h('label', { class: 'field' }, h('span', { class: 'label', text }), control, hint ? h('small', { class: 'hint', text: hint }) : null);
}

export function button(text, onclick, props = {}) {
  return h('button', { type: 'button', ...props, onclick }, text);
}

export function spinner(text = t('dom.loading')) {
  return h('p', { class: 'loading', text });
}

/** Copies text; falls back to selecting a field when the Clipboard API is not there (plain http). */
export async function copyText(text, field) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (field) {
      field.focus();
      field.select();
      try {
        return document.execCommand('copy');
      } catch {
        return false;
      }
    }
    return false;
  }
}

/** "1.5 MB", "1,5 Mo": decimal units, in the page's language. */
export function bytes(n) {
  if (n === null || n === undefined) return '–';
  const units = [null, 'kilobyte', 'megabyte', 'gigabyte', 'terabyte'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  if (i === 0) return t('dom.bytes', { n });
  return number(v >= 100 ? Math.round(v) : Math.round(v * 10) / 10, { style: 'unit', unit: units[i], unitDisplay: 'short' });
}

/** A random password for resets: 20 letters and digits, like the CLI's. */
export function randomPassword(length = 20) {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const out = [];
  const buf = new Uint32Array(length);
  crypto.getRandomValues(buf);
  for (const n of buf) out.push(alphabet[n % alphabet.length]);
  return out.join('');
}
