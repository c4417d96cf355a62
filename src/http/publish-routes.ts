/**
 * The publish API: `POST /v1/jobs/<namespace>/<id>/events` with the namespace's publisher key, and
 * `GET /v1/jobs/<namespace>/<id>` for a job's latest event. A JSON body (one event or an array) is
 * all or nothing; an `application/x-ndjson` body commits the whole lines of each chunk as they
 * arrive, each chunk's lines all or nothing (docs/publish.md).
 */
import type { Context, Hono, MiddlewareHandler } from 'hono';
import type { Config } from '../core/config.ts';
import { RelayError } from '../core/errors.ts';
import { MAX_JSON_DEPTH, jsonTooDeep } from '../core/ingest/json-depth.ts';
import {
  type BatchState,
  FIRST_BATCH,
  type PublishLimits,
  type PublishedEvent,
  checkPublishedBatch,
  parsePublishedEvent,
  readPublishedEvent,
} from '../core/publish/event.ts';
import type { PublishResult, PublishedRelay } from '../core/publish/relay.ts';
import { bearer, requireJobAccess } from './auth.ts';
import { errorAnswer } from './error-response.ts';
import { createRateLimiter } from './limits.ts';
import { type NdjsonLine, ndjsonLines } from './ndjson.ts';
import type { Security } from './security.ts';
import { checkJobId } from './validate.ts';

/** What the publish routes use of a namespace's relay: a PublishedRelay on Node; on Workers a front to the job's Durable Object. */
export type PublishedFront = Pick<PublishedRelay, 'publish' | 'latest'>;

/** The publish API as the app serves it. */
export interface AppPublishing {
  /** Each namespace's relay front, by namespace. */
  relays: ReadonlyMap<string, PublishedFront>;
  limits: PublishLimits;
  /** Publishes (a JSON request, or one chunk of an NDJSON stream) per second per key; 0: no cap. */
  ratePerSecond: number;
}

/** The publish API of the configured namespaces, served by `relays`. */
export function appPublishing(
  config: Pick<Config, 'PUBLISH_MAX_EVENT_BYTES' | 'PUBLISH_MAX_EVENTS' | 'PUBLISH_RATE_PER_S'>,
  relays: ReadonlyMap<string, PublishedFront>,
): AppPublishing {
  return {
    relays,
    limits: { maxEventBytes: config.PUBLISH_MAX_EVENT_BYTES, maxEvents: config.PUBLISH_MAX_EVENTS },
    ratePerSecond: config.PUBLISH_RATE_PER_S,
  };
}

/** What the routes need from the app around them. */
export interface PublishRouteDeps {
  security: Security;
  /** Body size limit (MAX_BODY_BYTES) for JSON bodies; an NDJSON stream is limited per line. */
  limitBody: MiddlewareHandler;
}

/** The answer of a publish: what was stored, what was a duplicate, the job's last seq. */
interface PublishAnswer {
  job: string;
  namespace: string;
  stored: number[];
  duplicates: number[];
  last_seq: number;
  ended: boolean;
}

const NDJSON = 'application/x-ndjson';

/** Requires the namespace's publisher key: 401 without one or with an unknown one, 403 with another namespace's. */
async function requirePublisher(security: Security, c: Context, namespace: string): Promise<void> {
  const presented = bearer(c);
  if (presented === undefined) throw new RelayError('unauthorized', 'a publisher key is required: Authorization: Bearer <key>');
  const owner = await security.publishers.verify(presented);
  if (owner === null) throw new RelayError('unauthorized', 'publisher key is not valid');
  if (owner !== namespace) throw new RelayError('forbidden', 'this publisher key is for another namespace');
}

/** The events of a JSON body: one object or an array of 1 to `maxEvents`, each checked and named by its place. */
function jsonEvents(text: string, limits: PublishLimits): PublishedEvent[] {
  if (jsonTooDeep(text, MAX_JSON_DEPTH)) throw new RelayError('bad_request', `request body nests deeper than ${MAX_JSON_DEPTH} levels`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new RelayError('bad_request', 'request body is not valid JSON (send one event, an array of events, or application/x-ndjson)');
  }
  if (!Array.isArray(body)) return [readPublishedEvent(body, 'event', limits)];
  if (body.length === 0 || body.length > limits.maxEvents) {
    throw new RelayError('bad_request', `an array of 1-${limits.maxEvents} events is expected (PUBLISH_MAX_EVENTS)`);
  }
  return body.map((value, index) => readPublishedEvent(value, `events[${index}]`, limits));
}

/** The publish API's routes on `app`. */
export function mountPublishRoutes(app: Hono, publishing: AppPublishing, deps: PublishRouteDeps): void {
  const { security } = deps;
  const { limits } = publishing;
  const rate = createRateLimiter({ perSecond: publishing.ratePerSecond, what: 'publish' });

  const relayOf = (namespace: string): PublishedFront => {
    const relay = publishing.relays.get(namespace);
    if (!relay) throw new RelayError('not_found', 'unknown namespace');
    return relay;
  };

  /** One publish request: the batches it stores in turn (each checked after the ones before), and the answer so far. */
  function publication(relay: PublishedFront, namespace: string, jobId: string, key: string) {
    const answer: PublishAnswer = { job: jobId, namespace, stored: [], duplicates: [], last_seq: -1, ended: false };
    let state: BatchState = FIRST_BATCH;
    return {
      answer,
      /** Whether a batch was stored yet. */
      committed: () => state !== FIRST_BATCH,
      /** Checks a batch whole, then stores it (in steps of PUBLISH_MAX_EVENTS); `name` names its events in errors. */
      async commit(events: PublishedEvent[], name: (index: number) => string): Promise<void> {
        state = checkPublishedBatch(events, state, name);
        rate.take(key);
        for (let from = 0; from < events.length; from += limits.maxEvents) {
          const result: PublishResult = await relay.publish(jobId, events.slice(from, from + limits.maxEvents));
          answer.stored.push(...result.stored);
          answer.duplicates.push(...result.duplicates);
          answer.last_seq = result.lastSeq;
          answer.ended ||= result.ended;
        }
      },
    };
  }

  /** An NDJSON stream: the whole lines of each chunk commit as they arrive; a failure answers what was stored before it. */
  async function publishStream(c: Context, request: ReturnType<typeof publication>): Promise<Response> {
    const body = c.req.raw.body;
    if (!body) throw new RelayError('bad_request', 'an application/x-ndjson body is required');
    const reader = body
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(ndjsonLines(4 * (limits.maxEventBytes + 1024)))
      .getReader();
    try {
      for (;;) {
        let chunk: ReadableStreamReadResult<NdjsonLine[]>;
        try {
          chunk = await reader.read();
        } catch (err) {
          // Cut mid-way: the whole lines before stay stored, the partial one is dropped. The publisher is gone.
          if (err instanceof RelayError) throw err;
          return c.json({ ...request.answer, error: 'request body ended early', code: 'bad_request' }, 400);
        }
        if (chunk.done) break;
        const lines = chunk.value;
        const events = lines.map((line) => parsePublishedEvent(line.text, `line ${line.line}`, limits));
        await request.commit(events, (index) => `line ${lines[index]?.line}`);
      }
      if (!request.committed()) throw new RelayError('bad_request', 'the NDJSON body holds no event');
    } catch (err) {
      await reader.cancel().catch(() => undefined);
      const known = errorAnswer(err);
      if (!known) throw err;
      return c.json({ ...(known.body as object), ...request.answer }, known.status as 400, known.headers);
    }
    return c.json(request.answer, 200);
  }

  app.post('/v1/jobs/:namespace/:jobid/events', async (c, next) => {
    // JSON bodies are read whole, under MAX_BODY_BYTES; an NDJSON stream is limited per line.
    if (isNdjson(c)) return next();
    return deps.limitBody(c, next);
  });

  app.post('/v1/jobs/:namespace/:jobid/events', async (c) => {
    const namespace = c.req.param('namespace');
    await requirePublisher(security, c, namespace);
    const relay = relayOf(namespace);
    const jobId = checkJobId(c.req.param('jobid'));
    // One bucket per key: every key of a namespace is its own publisher.
    const request = publication(relay, namespace, jobId, `${namespace}:${bearer(c)}`);
    if (isNdjson(c)) return publishStream(c, request);
    const events = jsonEvents(await c.req.text(), limits);
    await request.commit(events, (index) => (events.length === 1 ? 'event' : `events[${index}]`));
    return c.json(request.answer, 200);
  });

  app.get('/v1/jobs/:namespace/:jobid', async (c) => {
    const namespace = c.req.param('namespace');
    const relay = relayOf(namespace);
    const jobId = checkJobId(c.req.param('jobid'));
    await requireJobAccess(security, c, { profile: namespace, jobId });
    const latest = await relay.latest(jobId);
    if (!latest) throw new RelayError('not_found', 'Job not found');
    return c.json({ job: jobId, namespace, ...latest });
  });
}

function isNdjson(c: Context): boolean {
  return (c.req.header('Content-Type') ?? '').split(';')[0]?.trim().toLowerCase() === NDJSON;
}
