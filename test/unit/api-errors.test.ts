/**
 * The HTTP errors a person meets in the UI, in their language (issue 26): each error
 * keeps its English `message` and `details` exactly (the CLI, the log, an API client
 * that asks for no language), and carries them as catalog messages (`said`) that the
 * error handler renders for a reader of French. Settings errors come from the config
 * schema: its own messages and zod's built-in issues both get French words.
 */
import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Catalogs } from '../../daemon/i18n/catalogs';
import type { Say } from '../../daemon/i18n/say';
import { AppError } from '../../daemon/errors';
import { ConfigError, parseConfig, type ConfigIssue } from '../../daemon/config/load';
import { SourceSettings } from '../../daemon/settings/source-settings';
import { checkEmail } from '../../daemon/auth/users.service';
import { checkGroupName } from '../../daemon/auth/access.service';
import { customSpec } from '../../daemon/timelapse/video-spec';
import { ShareService, type ShareCreator } from '../../daemon/shares/share.service';
import type { Logger } from '../../daemon/logger';
import { errorHandler, HttpError } from '../../web/errors';
import { tempDir } from '../helpers/env';

const NBSP = '\u00a0';
const NNBSP = '\u202f';
const catalogs = new Catalogs();
const fr = catalogs.translator('fr');
const en = catalogs.translator('en');
const render = (t: typeof fr, said: Say | Say[] | undefined): string => (Array.isArray(said) ? said : said ? [said] : []).map((s) => t(s.key, s.values)).join(t('apiError.detailSeparator'));

/** The error `fn` throws. */
function thrown(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('nothing thrown');
}

const CONFIG = `appliance: { id: test-box, timezone: Europe/Paris }
storage: { dataDir: data }
sources:
  - id: north
    camera: { driver: testpattern }
`;

/** The issues of a config whose only source has `yaml` (indented under it). */
function issuesOf(yaml: string): ConfigIssue[] {
  try {
    parseConfig(`${CONFIG}    ${yaml}\n`, '/etc/lapsebox/lapsebox.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error('accepted');
}

describe('configuration issues in catalog words', () => {
  it.each([
    // zod's built-in issues, by code and parameters
    ['image: { watermark: { file: logo.png, opacity: 2 } }', 'sources[0].image.watermark.opacity', 'Too big: expected number to be <=1', 'doit valoir au plus 1'],
    ['image: { watermark: { file: logo.png, scale: 0.01 } }', 'sources[0].image.watermark.scale', 'Too small: expected number to be >=0.02', 'doit valoir au moins 0,02'],
    ['name: ""', 'sources[0].name', 'Too small: expected string to have >=1 characters', 'ne doit pas être vide'],
    ['enabled: "yes"', 'sources[0].enabled', 'expected boolean, received string', 'vrai ou faux attendu'],
    ['image: { legend: { position: middle } }', 'sources[0].image.legend.position', 'Invalid option: expected one of "top-left"|"top-right"|"bottom-left"|"bottom-right"|"top"|"bottom"|"center"', `valeurs possibles${NBSP}: top-left, top-right, bottom-left, bottom-right, top, bottom, center`],
    ['image: { qualty: 80 }', 'sources[0].image.qualty', 'unknown key "qualty"; did you mean "quality"? (allowed here: rotate, crop, privacyMasks, legend, watermark, quality, reject)', `clé inconnue${NBSP}: «${NBSP}qualty${NBSP}»`],
    // the schema's own messages: checks (worded) and custom issues (params.say)
    ['image: { quality: 20 }', 'sources[0].image.quality', 'expected an integer between 50 and 100', 'nombre entier attendu, de 50 à 100'],
    ['image: { crop: { left: 0, top: 0, width: 10 } }', 'sources[0].image.crop.height', 'required', 'obligatoire'],
    ['schedule: { every: 10x }', 'sources[0].schedule.every', 'expected a duration such as "10s", "5m", "2h" or "1d", got "10x"', `durée attendue, telle que «${NBSP}10s${NBSP}», «${NBSP}5m${NBSP}», «${NBSP}2h${NBSP}» ou «${NBSP}1d${NBSP}», et non «${NBSP}10x${NBSP}»`],
    ['schedule: { every: 2d }', 'sources[0].schedule.every', 'expected a duration between 1s and 1d, got "2d"', `durée attendue entre 1s et 1d, et non «${NBSP}2d${NBSP}»`],
    ['schedule: { windows: [{ days: [], from: "07:00", to: noon }] }', 'sources[0].schedule.windows[0].days', 'expected at least one day', 'au moins un jour attendu'],
    ['timelapse: { daily: { width: 1921 } }', 'sources[0].timelapse.daily.width', 'expected an even width (H.264 in yuv420p needs even sides)', 'largeur paire attendue (le H.264 en yuv420p exige des côtés pairs)'],
    ['timelapse: { daily: { at: "7h" } }', 'sources[0].timelapse.daily.at', 'expected a time "HH:MM"', `heure attendue au format «${NBSP}HH:MM${NBSP}»`],
    ['public: { sizes: [640, 640] }', 'sources[0].public.sizes[1]', '640 is listed twice (already at [0])', '640 figure deux fois (déjà en [0])'],
    ['image: { legend: { text: "{source} {weather}" } }', 'sources[0].image.legend.text', 'unknown placeholder {weather} (allowed: {source}, {id}, {appliance}, {date}, {time})', `variable inconnue${NBSP}: {weather} (variables possibles${NBSP}: {source}, {id}, {appliance}, {date}, {time})`],
    ['schedule: { windows: [{ from: "10:00", to: "10:00" }] }', 'sources[0].schedule.windows[0]', 'the window is empty: "from" and "to" are both 10:00', `la plage horaire est vide${NBSP}: le début et la fin sont tous deux à 10:00`],
    ['schedule: { windows: [{ from: sunrise, to: "19:00" }] }', 'sources[0].schedule.windows[0].from', 'sunrise needs appliance.location (latitude and longitude) to be set', 'sunrise demande que appliance.location (latitude et longitude) soit renseigné dans le fichier de configuration'],
    ['progress: { to: [nobody] }', 'sources[0].progress.to[0]', 'expected an e-mail address such as anna@example.com', 'adresse e-mail attendue, telle que anna@example.com'],
  ])('%s: the CLI keeps its English, the UI reads French', (yaml, at, english, french) => {
    const issue = issuesOf(yaml).find((i) => i.path === at);
    expect(issue?.message).toBe(english);
    expect(issue?.say).toBeDefined();
    expect(fr(issue!.say!.key, issue!.say!.values)).toBe(french);
  });

  it('renders the schema\'s own messages in English exactly as the CLI prints them', () => {
    for (const yaml of ['schedule: { every: 10x }', 'timelapse: { daily: { at: "7h" } }', 'image: { quality: 20 }', 'public: { sizes: [640, 640] }', 'schedule: { windows: [{ from: "10:00", to: "10:00" }] }']) {
      for (const issue of issuesOf(yaml).filter((i) => i.path.startsWith('sources[0]'))) expect(en(issue.say!.key, issue.say!.values)).toBe(issue.message);
    }
  });
});

describe('settings errors', () => {
  let dir: string;
  let cleanup: () => void;
  let sut: SourceSettings;

  beforeEach(() => {
    ({ dir, cleanup } = tempDir('lapsebox-api-errors-'));
    const file = path.join(dir, 'lapsebox.yaml');
    fs.writeFileSync(file, CONFIG);
    sut = new SourceSettings({ file: () => file, apply: async () => undefined, audit: { record: () => undefined } });
  });
  afterEach(() => cleanup());

  async function failure(patch: unknown, profile: 'director' | 'maintainer' = 'director'): Promise<AppError> {
    const err = await sut.patch('north', patch, { actor: 'user:dan', profile }).then(() => null, (e: unknown) => e);
    if (!(err instanceof AppError)) throw new Error(`expected an AppError, got ${String(err)}`);
    return err;
  }

  it('gives the count and each field\'s errors in French, the English message and details unchanged', async () => {
    const err = await failure({ schedule: { every: '10x' }, image: { legend: { text: `{nope}${'x'.repeat(500)}` } }, progress: { to: ['anna@example.com'] } });
    expect(err.message).toBe('the settings have 5 errors');
    expect(err.details).toEqual({
      'schedule.every': 'expected a duration such as "10s", "5m", "2h" or "1d", got "10x"',
      'image.legend.text': 'Too big: expected string to have <=500 characters; unknown placeholder {nope} (allowed: {source}, {id}, {appliance}, {date}, {time})',
      progress:
        'progress e-mails need web.publicUrl: the address their links open from outside, such as https://bridge-north.example.com; progress e-mails are sent through the SMTP server of alerts.email: set alerts.email (smtp, from, to) first',
    });
    expect(render(fr, err.said?.message)).toBe('les réglages comportent 5 erreurs');
    expect(render(fr, err.said?.details?.['image.legend.text'])).toBe(`500 caractères au plus${NNBSP}; variable inconnue${NBSP}: {nope} (variables possibles${NBSP}: {source}, {id}, {appliance}, {date}, {time})`);
    expect(render(fr, err.said?.details?.['progress'])).toBe(
      `les e-mails d’avancement ont besoin de web.publicUrl${NBSP}: l’adresse par laquelle leurs liens s’ouvrent depuis l’extérieur, telle que https://bridge-north.example.com${NNBSP}; les e-mails d’avancement partent par le serveur SMTP de alerts.email${NBSP}: renseignez d’abord alerts.email (smtp, from, to) dans le fichier de configuration`,
    );
    // Every detail has its words, and the same keys.
    expect(Object.keys(err.said!.details!).sort()).toEqual(Object.keys(err.details!).sort());
    expect(render(fr, { key: 'apiError.settings.errors', values: { count: 1 } })).toBe('les réglages comportent 1 erreur');
  });

  it('says which keys only maintainers may change', async () => {
    const err = await failure({ camera: { driver: 'testpattern', width: 640 } });
    expect(err.kind).toBe('forbidden');
    expect(err.message).toBe('only maintainers may change "camera.width" of a source');
    expect(render(fr, err.said?.message)).toBe(`seuls les administrateurs peuvent modifier ces réglages d’une source${NBSP}: camera.width`);
  });
});

describe('users, groups, films and share links', () => {
  it('says a bad e-mail address and a bad group name in French', () => {
    const email = thrown(() => checkEmail('anna@'));
    expect([email.message, email.details]).toEqual(['invalid e-mail address "anna@": expected an address such as anna@example.com', { email: 'an e-mail address such as anna@example.com' }]);
    expect(render(fr, email.said?.message)).toBe(`adresse e-mail «${NBSP}anna@${NBSP}» non valide${NBSP}: une adresse telle que anna@example.com est attendue`);
    expect(render(fr, email.said?.details?.['email'])).toBe('une adresse e-mail telle que anna@example.com');
    const group = thrown(() => checkGroupName('site team'));
    expect(render(fr, group.said?.message)).toBe(`nom de groupe «${NBSP}site team${NBSP}» non valide${NBSP}: de 1 à 64 lettres, chiffres, «${NBSP}.${NBSP}», «${NBSP}_${NBSP}», «${NBSP}@${NBSP}» ou «${NBSP}-${NBSP}», en commençant par une lettre ou un chiffre`);
    expect(en(email.said!.message!.key, email.said!.message!.values)).toBe(email.message);
  });

  const { config } = parseConfig(`${CONFIG}    timelapse: { daily: { width: 1280 } }\n`, '/etc/lapsebox/lapsebox.yaml');
  const source = config.sources[0]!;

  it('says a custom film request\'s errors in French, beside their fields', () => {
    const checks = thrown(() => customSpec({ from: '2026-03-01', to: '2026-03-02', fps: 0, width: 101 }, source, 'Europe/Paris'));
    expect(checks.message).toBe('the video request has errors: fps: expected at least 1 frame per second; width: expected an even width (H.264 needs even sides)');
    expect(render(fr, checks.said?.message)).toBe('la demande de film comporte des erreurs');
    expect(render(fr, checks.said?.details?.['fps'])).toBe('doit valoir au moins 1');
    expect(render(fr, checks.said?.details?.['width'])).toBe('largeur paire attendue (le H.264 en yuv420p exige des côtés pairs)');
    const period = thrown(() => customSpec({ from: '', to: '2026-03-02', minInterval: '3x' }, source, 'Europe/Paris'));
    expect(period.details).toEqual({ from: 'expected a date "YYYY-MM-DD" or a date and time "YYYY-MM-DDTHH:MM", got ""', minInterval: 'expected a duration from 0 to 30 days such as "10m", got "3x"' });
    expect(render(fr, period.said?.details?.['from'])).toBe('date attendue');
    expect(render(fr, period.said?.details?.['minInterval'])).toBe(`durée attendue entre 0 et 30 jours, telle que «${NBSP}10m${NBSP}», et non «${NBSP}3x${NBSP}»`);
    const backwards = thrown(() => customSpec({ from: '2026-03-10', to: '2026-03-01' }, source, 'Europe/Paris'));
    expect(render(fr, backwards.said?.message)).toBe('la demande de film comporte une erreur');
    expect(render(fr, backwards.said?.details?.['to'])).toBe('la fin (2026-03-01) doit venir après le début (2026-03-10)');
  });

  it('says a share link\'s period and level in French', () => {
    const shares = new ShareService({ sources: () => [source] } as unknown as ConstructorParameters<typeof ShareService>[0]);
    const maker = (level: 'view' | 'download'): ShareCreator => ({ actor: 'user:cleo', user: { id: 3, username: 'cleo', profile: 'customer' }, levelOn: () => level });
    const period = thrown(() => shares.create({ source: 'north', scope: 'gallery', expiresIn: '7d', from: '2026-03-02', to: '2026-03-01' }, maker('download')));
    expect([period.message, period.details]).toEqual(['invalid share link: to: expected the same day as from or a later one', { to: 'expected the same day as from or a later one' }]);
    expect(render(fr, period.said?.message)).toBe('lien de partage non valide');
    expect(render(fr, period.said?.details?.['to'])).toBe('le jour de fin doit être celui du début, ou un jour suivant');
    const level = thrown(() => shares.create({ source: 'north', scope: 'latest', expiresIn: '7d' }, maker('view')));
    expect(level.kind).toBe('forbidden');
    expect(render(fr, level.said?.message)).toBe(`partager la source «${NBSP}north${NBSP}» demande d’y avoir l’accès en téléchargement${NNBSP}; vous avez l’accès en consultation`);
  });
});

describe('the error handler', () => {
  let server: Server;
  let base: string;
  let language: string | null = null;
  beforeAll(async () => {
    const app = express();
    app.use((_req, res, next) => {
      // Only the user's own language matters to the handler.
      (res.locals as Record<string, unknown>)['user'] = { language };
      next();
    });
    app.get('/email', () => checkEmail('anna@'));
    app.get('/several', () => {
      throw new HttpError(400, 'bad', { a: 'x; y' }, { message: { key: 'apiError.settings.errors', values: { count: 2 } }, details: { a: [{ key: 'apiError.config.required' }, { key: 'apiError.config.notEmpty' }] } });
    });
    app.use(errorHandler({ error: () => undefined } as unknown as Logger, catalogs));
    server = app.listen(0, '127.0.0.1');
    await new Promise((ready) => server.once('listening', ready));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((done) => server.close(done)));
  afterEach(() => (language = null));

  const get = async (url: string, acceptLanguage?: string) => (await fetch(`${base}${url}`, { headers: acceptLanguage ? { 'Accept-Language': acceptLanguage } : {} })).json() as Promise<{ error: string; details?: Record<string, string> }>;

  it('answers English to a client that asks for no language, French to a French browser or user', async () => {
    expect(await get('/email')).toEqual({ error: 'invalid e-mail address "anna@": expected an address such as anna@example.com', details: { email: 'an e-mail address such as anna@example.com' } });
    expect(await get('/email', 'en-US,en;q=0.9')).toEqual(await get('/email'));
    const french = { error: `adresse e-mail «${NBSP}anna@${NBSP}» non valide${NBSP}: une adresse telle que anna@example.com est attendue`, details: { email: 'une adresse e-mail telle que anna@example.com' } };
    expect(await get('/email', 'fr-CH, fr;q=0.9')).toEqual(french);
    language = 'fr';
    expect(await get('/email', 'en-GB')).toEqual(french);
  });

  it('joins a field\'s several errors as each language punctuates them', async () => {
    expect(await get('/several', 'fr')).toEqual({ error: 'les réglages comportent 2 erreurs', details: { a: `obligatoire${NNBSP}; ne doit pas être vide` } });
    expect(await get('/several')).toEqual({ error: 'bad', details: { a: 'x; y' } });
  });
});
