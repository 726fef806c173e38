/**
 * The notification channels: the only code that speaks HTTP to the webhook or
 * SMTP to the mail server. Each takes its part of the alerts configuration and
 * delivers alert messages; its errors say what a person should check and never
 * hold a password, a header value or the secret part of a URL.
 */
import nodemailer from 'nodemailer';
import type { Config } from '../config/schema';
import { packageVersion } from '../package-info';
import type { Catalogs } from '../i18n/catalogs';
import { defaultCatalogs, emailDigest } from './alert-message';
import { type AlertMessage } from '../domain/alerts';
import { urlOrigin } from '../secrets';
import { causes, errorCodes, messageOf } from '../error-causes';

export type WebhookConfig = NonNullable<Config['alerts']['webhook']>;
export type EmailConfig = NonNullable<Config['alerts']['email']>;

/** A way to deliver alert messages, built from the configuration as it is at the time of sending. */
export interface Channel {
  /** Where messages go, for status and log lines; holds no secret. */
  readonly destination: string;
  /** True when the messages due together go as one delivery (a mail digest), false for one delivery each. */
  readonly digest: boolean;
  /**
   * Delivers the messages in order. Rejects with a `ChannelError` when one could not be
   * delivered; `delivered` then says how many went before it. `signal` cuts a delivery short
   * (the daemon stops); the message is sent again later.
   */
  send(messages: readonly AlertMessage[], signal?: AbortSignal): Promise<void>;
}

export class ChannelError extends Error {
  override readonly name = 'ChannelError';
  constructor(
    message: string,
    /** Messages delivered before the failure (in order, from the first). */
    readonly delivered = 0,
  ) {
    super(message);
  }
}

export interface ChannelOptions {
  /** How long one delivery may take: the webhook's answer, each SMTP step. */
  timeoutMs?: number;
  /** The catalogs for the words a mail adds around the messages (RAISED, "3 alerts"); read from i18n/ when not given. */
  catalogs?: Catalogs;
}

const WEBHOOK_TIMEOUT_MS = 10_000;
const SMTP_TIMEOUT_MS = 15_000;
/** How much of a refusing receiver's answer goes into the error. */
const BODY_EXCERPT = 200;

let userAgent: string | undefined;
/** Read once: package.json does not change while the daemon runs. */
function lapseboxUserAgent(): string {
  userAgent ??= `lapsebox/${packageVersion()}`;
  return userAgent;
}

/** POSTs each message as JSON to `alerts.webhook.url`, one request per message. */
export class WebhookChannel implements Channel {
  readonly digest = false;
  readonly #config: WebhookConfig;
  readonly #timeoutMs: number;

  constructor(config: WebhookConfig, options: ChannelOptions = {}) {
    this.#config = config;
    this.#timeoutMs = options.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  }

  /** The origin only: the user part, the query and, for Slack- or Teams-style webhooks, the path carry the token. */
  get destination(): string {
    try {
      return urlOrigin(new URL(this.#config.url).href);
    } catch {
      return 'the configured URL (alerts.webhook.url does not parse)';
    }
  }

  async send(messages: readonly AlertMessage[], signal?: AbortSignal): Promise<void> {
    for (const [i, message] of messages.entries()) {
      try {
        await this.#post(message, signal);
      } catch (err) {
        throw new ChannelError(this.#scrub(err instanceof ChannelError ? err.message : `webhook ${this.destination}: unexpected error: ${messageOf(err)}`), i);
      }
    }
  }

  async #post(message: AlertMessage, signal: AbortSignal | undefined): Promise<void> {
    const shown = `webhook ${this.destination}`;
    const { url, headers } = this.#request();
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify(message),
        // A redirect would resend the message, and its headers, somewhere nobody configured.
        redirect: 'manual',
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      throw new ChannelError(this.#networkProblem(shown, url, err, timeout, signal));
    }
    const { status } = response;
    if (status >= 200 && status < 300) {
      await response.body?.cancel().catch(() => undefined);
      return;
    }
    if (status >= 300 && status < 400) {
      await response.body?.cancel().catch(() => undefined);
      const location = response.headers.get('location');
      const to = location === null ? '' : ` to ${shownLocation(location, url)}`;
      throw new ChannelError(`${shown} answered ${status}, a redirect${to}, which is not followed: put the final address in alerts.webhook.url`);
    }
    const excerpt = await bodyStart(response, BODY_EXCERPT, timeout).catch(() => '');
    const advice = status === 401 || status === 403 ? ' (check the token in alerts.webhook.headers or the URL)' : status === 404 ? ' (check the path in alerts.webhook.url)' : '';
    throw new ChannelError(`${shown} answered ${status}${excerpt ? `: ${excerpt}` : ''}${advice}`);
  }

  /** The URL without credentials (fetch refuses them, and echoes them in its error), sent as basic authentication instead. */
  #request(): { url: URL; headers: Headers } {
    let url: URL;
    try {
      url = new URL(this.#config.url);
    } catch {
      throw new ChannelError('alerts.webhook.url is not a valid URL');
    }
    const headers = new Headers({ 'content-type': 'application/json', 'user-agent': lapseboxUserAgent() });
    if (url.username !== '' || url.password !== '') {
      const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
      headers.set('authorization', `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`);
      url.username = '';
      url.password = '';
    }
    for (const [name, value] of Object.entries(this.#config.headers ?? {})) {
      try {
        headers.set(name, value);
      } catch {
        // Not the value in the message: the header is there to carry a secret.
        throw new ChannelError(`alerts.webhook.headers.${name} is not a valid header value (line breaks or control characters?)`);
      }
    }
    return { url, headers };
  }

  #networkProblem(shown: string, url: URL, err: unknown, timeout: AbortSignal, signal: AbortSignal | undefined): string {
    if (signal?.aborted) return `${shown}: sending was cut short (the daemon is stopping)`;
    if (timeout.aborted) return `${shown} did not answer within ${seconds(this.#timeoutMs)}`;
    const codes = errorCodes(err);
    if (codes.some((c) => c === 'ENOTFOUND' || c === 'EAI_AGAIN' || c === 'EAI_NONAME')) return `${shown}: cannot resolve the host name ${url.hostname} (check alerts.webhook.url and the DNS settings of this box)`;
    if (codes.includes('ECONNREFUSED')) return `${shown}: ${url.host} refused the connection (check the port in alerts.webhook.url and that the receiver runs)`;
    if (codes.some((c) => c.startsWith('ERR_TLS_') || c.startsWith('ERR_SSL_') || c.includes('CERT'))) return `${shown}: the certificate of ${url.host} is not trusted (${codes.join(', ')})`;
    return `${shown} could not be reached: ${causes(err).map(messageOf).join(': ')}`;
  }

  /** Removes what could carry a secret, should a receiver or the network stack echo it. */
  #scrub(text: string): string {
    let url: URL | undefined;
    try {
      url = new URL(this.#config.url);
    } catch {
      url = undefined;
    }
    const secrets = [...Object.values(this.#config.headers ?? {}), url?.search.slice(1), url && decodeURIComponent(url.password), url && decodeURIComponent(url.username)];
    return scrub(text, secrets);
  }
}

/** Sends the messages due together as one plain-text mail to `alerts.email.to`. */
export class EmailChannel implements Channel {
  readonly digest = true;
  readonly #config: EmailConfig;
  readonly #timeoutMs: number;
  readonly #catalogs: Catalogs | undefined;

  constructor(config: EmailConfig, options: ChannelOptions = {}) {
    this.#config = config;
    this.#timeoutMs = options.timeoutMs ?? SMTP_TIMEOUT_MS;
    this.#catalogs = options.catalogs;
  }

  get destination(): string {
    return `${this.#server} to ${this.#config.to.join(', ')}`;
  }

  get #server(): string {
    return smtpServer(this.#config);
  }

  async send(messages: readonly AlertMessage[], signal?: AbortSignal): Promise<void> {
    const [first] = messages;
    if (!first) return;
    // In the messages' own language (they were written when made), whatever appliance.locale says now.
    const { subject, text } = emailDigest(messages, this.#catalogs ?? defaultCatalogs());
    await sendMail(
      this.#config,
      { from: { name: `lapsebox ${first.appliance.name}`, address: this.#config.from }, to: this.#config.to, subject, text },
      { timeoutMs: this.#timeoutMs, recipientsKey: 'alerts.email.to', ...(signal ? { signal } : {}) },
    );
  }
}

/** One mail: the alerts' digest, or a progress e-mail with its HTML and pictures. */
export interface MailMessage {
  from: { name: string; address: string };
  to: readonly string[];
  subject: string;
  text: string;
  html?: string;
  /** Pictures shown in the HTML as `cid:<cid>`, attached inline. */
  inline?: readonly { cid: string; filename: string; contentType: string; content: Buffer }[];
  /** A stable Message-ID (`<...@...>`): a mail tried again is the same message to the receivers. */
  messageId?: string;
  /**
   * The recipients get the mail without seeing each other's addresses (as with Bcc): the To
   * line says "undisclosed-recipients", and `to` goes only in the SMTP envelope.
   */
  undisclosed?: boolean;
}

export interface SendMailOptions {
  /** How long each SMTP step may take; 15 s by default. */
  timeoutMs?: number;
  /** Cuts the conversation short (the daemon stops). */
  signal?: AbortSignal;
  /** The key people fix when the server refuses a recipient (`alerts.email.to`). */
  recipientsKey: string;
}

/**
 * Sends one mail through the SMTP server of `alerts.email.smtp`: the one transport of the
 * box's alerts and its progress e-mails. Resolves with the recipients the server refused
 * while taking the mail for the others; rejects with a ChannelError that says what to check
 * and holds no password.
 */
export async function sendMail(config: EmailConfig, message: MailMessage, options: SendMailOptions): Promise<{ refused: string[] }> {
  const { smtp } = config;
  const timeoutMs = options.timeoutMs ?? SMTP_TIMEOUT_MS;
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure ?? smtp.port === 465,
    ...(smtp.username !== undefined && smtp.username !== '' ? { auth: { user: smtp.username, pass: smtp.password ?? '' } } : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    // Everything is made here (text, HTML, picture buffers): nothing in a message may make nodemailer read a file or a URL.
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
  });
  try {
    const info = (await transport.sendMail({
      from: message.from,
      ...(message.undisclosed ? { to: 'undisclosed-recipients:;', envelope: { from: message.from.address, to: [...message.to] } } : { to: [...message.to] }),
      subject: message.subject,
      text: message.text,
      ...(message.html !== undefined ? { html: message.html } : {}),
      ...(message.inline ? { attachments: message.inline.map((a) => ({ cid: a.cid, filename: a.filename, contentType: a.contentType, content: a.content, contentDisposition: 'inline' as const })) } : {}),
      ...(message.messageId ? { messageId: message.messageId } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    })) as { rejected?: unknown[] };
    return { refused: (info.rejected ?? []).map((r) => (typeof r === 'string' ? r : String((r as { address?: unknown }).address ?? r))) };
  } catch (err) {
    throw new ChannelError(scrubSmtp(config, smtpProblem(config, err, timeoutMs, options.recipientsKey)));
  } finally {
    transport.close();
  }
}

/** The server as status and log lines name it: `SMTP host:port`. */
export function smtpServer(config: EmailConfig): string {
  return `SMTP ${config.smtp.host}:${config.smtp.port}`;
}

function smtpProblem(config: EmailConfig, err: unknown, timeoutMs: number, recipientsKey: string): string {
  const { smtp } = config;
  const server = smtpServer(config);
  const { code, originalCode, response } = smtpErrorParts(err);
  const said = response ?? messageOf(err);
  switch (code) {
    case 'EAUTH':
      return `${server} refused the login: ${said} (check alerts.email.smtp.username and password)`;
    case 'ENOAUTH':
      return `${server}: the login needs a password (alerts.email.smtp.password)`;
    case 'ETIMEDOUT':
      return `${server} did not answer within ${seconds(timeoutMs)} (${messageOf(err)})`;
    case 'ETLS':
      return `${server}: TLS failed: ${messageOf(err)} (port 465 wants secure: true; 587 and 25 want it unset)`;
    case 'EENVELOPE':
      return `${server} refused the sender or a recipient: ${said} (check alerts.email.from and ${recipientsKey})`;
    case 'EMESSAGE':
      return `${server} refused the message: ${said}`;
    case 'EABORT':
      return `${server}: sending was cut short (the daemon is stopping)`;
    case 'EDNS':
      return `${server}: cannot resolve the host name ${smtp.host} (check alerts.email.smtp.host and the DNS settings of this box)`;
    default:
      if (originalCode === 'ECONNREFUSED') return `${server} refused the connection (check alerts.email.smtp.host and port)`;
      if (originalCode === 'ENOTFOUND' || originalCode === 'EAI_AGAIN') return `${server}: cannot resolve the host name ${smtp.host} (check alerts.email.smtp.host and the DNS settings of this box)`;
      if (code === 'ECONNECTION' || code === 'ESOCKET') return `${server} could not be reached: ${messageOf(err)}`;
      return `${server}: ${said}`;
  }
}

/** The server's answers are quoted in errors; it might echo what the login sent. */
function scrubSmtp(config: EmailConfig, text: string): string {
  const { username, password } = config.smtp;
  const base64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  const secrets = [password, password && base64(password), username && password !== undefined ? base64(`\0${username}\0${password}`) : undefined];
  // The user name alone is no secret, but with the password it is a login: it goes too.
  return scrub(text, [...secrets, username, username && base64(username)]);
}

/** nodemailer's error fields (`code`, `originalCode`, `response`), duck-typed. */
function smtpErrorParts(err: unknown): { code: string | undefined; originalCode: string | undefined; response: string | undefined } {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; originalCode?: unknown; response?: unknown };
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return { code: text(e.code), originalCode: text(e.originalCode), response: text(e.response)?.trim() };
}

/** Replaces every occurrence of the secrets (4 characters or more: shorter ones would mangle the text). */
function scrub(text: string, secrets: readonly (string | undefined | false | '')[]): string {
  let out = text;
  const found = secrets.filter((s): s is string => typeof s === 'string' && s.length >= 4).sort((a, b) => b.length - a.length);
  for (const secret of found) out = out.split(secret).join('***');
  return out;
}

/** The first characters of an answer's body, on one line; stops reading there. */
async function bodyStart(response: Response, chars: number, signal: AbortSignal): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length < chars * 4 && !signal.aborted) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return text.replace(/\s+/g, ' ').trim().slice(0, chars);
}

function shownLocation(location: string, base: URL): string {
  try {
    const url = new URL(location, base);
    return `${url.origin}${url.pathname}`;
  } catch {
    return 'an address that does not parse';
  }
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

