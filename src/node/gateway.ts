import type { Server as HttpServer } from 'node:http';
import cluster from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { type ServerType, createAdaptorServer } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, Hono } from 'hono';
import type pino from 'pino';
import type { Simulator } from '@sse-relay/simulator';
import { type StartedSimulator, startSimulator } from '@sse-relay/simulator/node';
import type { Bus } from '../core/bus/bus.ts';
import { type Config, ConfigError } from '../config.ts';
import type { Logger } from '../core/logger.ts';
import { createMemoryBus } from '../core/bus/memory-bus.ts';
import type { CreateQueue } from '../core/queue/create-queue.ts';
import { createMemoryQueue } from '../core/queue/memory-queue.ts';
import { createQueueRunner } from '../core/queue/queue-runner.ts';
import { type Relay, createRelay, relayTimings } from '../core/relay.ts';
import { createPublishedRelays } from '../core/publish/relay.ts';
import { createUpstreamClient } from '../core/ingest/upstream.ts';
import { type AppDeps, createApp } from '../http/app.ts';
import { createStreamShortcut } from '../http/stream-shortcut.ts';
import { createHttpCounters } from '../http/http-counters.ts';
import { PROFILES } from '../profiles/index.ts';
import { mediaSources } from '../profiles/media.ts';
import { clientIpFrom } from '../http/client-ip.ts';
import { isLoopbackAddress } from '../http/open-mode.ts';
import { createSecurity } from '../http/security.ts';
import { appPublishing } from '../http/publish-routes.ts';
import { type LocalRelay, createLocalSubscriptions } from '../http/subscriptions.ts';
import { createNodeMediaHop } from './media-hop.ts';
import { createMetrics, metricsView } from './metrics.ts';
import { loadWebAssets } from './web-assets.ts';
import { createRedisBus } from './redis-bus.ts';
import { GATEWAY_LEGACY_LAYOUT, warnOfLegacyJobs, withRedis } from './redis-migrate.ts';
import { redisTargetOf } from './redis-connect.ts';
import { createRedisQueue } from './redis-queue.ts';
import { END_GRACE_MS, type NodeContext, createSocketSinks, keepAliveSeconds } from './socket-sink-opener.ts';
import { type DirectStreams, type NativeStreams, acceptNativeStreams, interceptStreamRequests } from './direct-streams.ts';
import { EDGE_LISTENING, REUSE_PORT_ENV, loadNativeEdge, numericHost } from './native-edge.ts';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { type NodeProcess, createNodeProcess } from './recipe.ts';
import { type SecureServe, destroyConnections, secureServe, trackConnections } from './tls-server.ts';

export interface Gateway {
  url: string;
  /** This gateway's (redacting) logger, for the process around it. */
  logger: Logger;
  port: number;
  /** The relay of the first profile served (the one bare job ids in tokens belong to). */
  relay: Relay;
  /** Every profile's relay, by profile name. */
  relays: ReadonlyMap<string, Relay>;
  /** The HTTP app this gateway serves (tests drive it in-process with `app.request`). */
  app: Hono;
  /** The in-process simulator, when SIMULATOR=true. */
  simulator: Simulator | undefined;
  simulatorUrl: string | undefined;
  close(): Promise<void>;
}

export interface GatewayOverrides {
  /** The process's configuration steps and redactor (main's); default built here from `config`. */
  node?: NodeProcess;
  logger?: Logger;
  /** Where the gateway's own (redacting) logger writes; tests capture lines here. */
  logDestination?: pino.DestinationStream;
  bus?: Bus;
  /** What to call `bus` in the start-up log line. */
  busKind?: string;
  /** Bytes a subscriber may have queued before it is dropped as too slow (default: createLocalSubscriptions'). */
  maxQueuedBytes?: number;
}

/**
 * Connections the kernel may hold waiting for accept: the largest it takes (it caps this at
 * `net.core.somaxconn`, 4096 on Debian 12). Node's default, 511, overflows when thousands of
 * viewers reconnect at once, and each refused SYN waits a second or more to be tried again.
 */
const LISTEN_BACKLOG = 65_535;

/**
 * The server, listening: through node:net, or for plain HTTP through the native edge when
 * `plain` takes the port (it answers true once its edge listens; node:http then never listens itself).
 */
async function listen(
  fetch: (req: Request) => Response | Promise<Response>,
  port: number,
  hostname: string,
  tls: SecureServe | undefined,
  plain: (server: HttpServer, port: number, hostname: string) => Promise<boolean>,
): Promise<ServerType> {
  const server = createAdaptorServer({ fetch, ...tls });
  if (tls) trackConnections(server);
  else if (await plain(server as HttpServer, port, hostname)) return server;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: hostname, backlog: LISTEN_BACKLOG }, () => resolve(server));
  });
}

function closeServer(server: ServerType): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    if ('closeAllConnections' in server) server.closeAllConnections();
    else destroyConnections(server);
  });
}

/**
 * The opt-in create queue, one per profile (each its own upstream account): across the cluster on
 * Redis (`<prefix>:{queue:<profile>}:…`), this process's own on the memory bus; none when off.
 */
function createQueues(config: Config, profiles: readonly string[], customBus: boolean): Map<string, CreateQueue> {
  const queues = new Map<string, CreateQueue>();
  if (config.CREATE_QUEUE_MAX <= 0) return queues;
  const max = config.CREATE_QUEUE_MAX;
  const target = redisTargetOf(config);
  for (const name of profiles) {
    queues.set(name, target && !customBus ? createRedisQueue({ target, max, name: `queue:${name}` }) : createMemoryQueue({ max }));
  }
  return queues;
}

/** Wires real dependencies from a validated config and starts listening. */
export async function startGateway(config: Config, overrides: GatewayOverrides = {}): Promise<Gateway> {
  let sim: StartedSimulator | undefined;
  let simulatorOrigin: string | undefined;
  // The in-process simulator is called with the process's simulator token, which its redactor knows.
  const node = overrides.node ?? createNodeProcess(config);
  const { redact, simulatorToken } = node;
  const instanceId = config.INSTANCE_ID ?? randomUUID();
  const logger = overrides.logger ?? node.logger(instanceId, overrides.logDestination);

  if (config.SIMULATOR) {
    sim = await startSimulator({ maxJobs: config.SIM_MAX_JOBS, ...(config.SIM_TOKEN ? { token: config.SIM_TOKEN } : {}) });
    simulatorOrigin = sim.url;
    logger.warn({ upstream: simulatorOrigin }, 'SIMULATOR=true: serving jobs from the built-in simulator, not a real upstream');
  }

  // Every configured profile (with SIMULATOR=true: every profile, against the simulator's paths for it).
  const served = PROFILES.flatMap((entry) => {
    const endpoint = simulatorOrigin
      ? { baseUrl: simulatorOrigin + entry.simulatorPath, credential: simulatorToken ?? '' }
      : entry.endpoint(config);
    return endpoint ? [{ entry, endpoint }] : [];
  });
  if (served.length === 0) throw new ConfigError("invalid configuration: no profile's credential is set and SIMULATOR is not true");

  const retention = { historyMaxEvents: config.HISTORY_MAX_EVENTS, historyTtlMs: config.HISTORY_TTL_S * 1000 };
  // REDIS_URL may hold a password: it is never logged.
  const redis = redisTargetOf(config);
  const busKind = overrides.bus ? (overrides.busKind ?? 'custom') : redis ? ('cluster' in redis ? 'redis cluster' : 'redis') : 'memory';
  const bus = overrides.bus ?? (redis ? createRedisBus({ target: redis, ...retention, logger }) : createMemoryBus(retention));
  const relayOf = ({ entry, endpoint }: (typeof served)[number]) =>
    createRelay({
      bus,
      profile: entry.profile,
      upstream: createUpstreamClient(entry.profile, endpoint, redact),
      redact,
      logger,
      instanceId,
      ...relayTimings(config),
    });
  const relays = new Map(served.map((each) => [each.entry.profile.name, relayOf(each)]));
  const relay = relays.values().next().value as Relay;
  // The publish API's namespaces: jobs whose events come from their publishers, on the same bus.
  const published = createPublishedRelays(config, { bus, redact, logger });
  const sinks = createSocketSinks({ heartbeatMs: config.HEARTBEAT_MS });
  const queues = createQueues(config, [...relays.keys()], overrides.bus !== undefined);
  const closeQueues = () => Promise.all([...queues.values()].map((queue) => queue.close()));
  const security = createSecurity(config, {
    logger,
    profiles: [...relays.keys()],
    bindHost: config.HOST,
    clientIp: (c: Context) => clientIpFrom(c.req.header('X-Forwarded-For'), getConnInfo(c).remote.address, config.TRUST_PROXY),
  });
  const runners = new Map(
    [...queues].map(([name, queue]) => [
      name,
      createQueueRunner({
        queue,
        entryTtlMs: config.LEASE_MS,
        pollMs: config.CREATE_QUEUE_POLL_MS,
        maxWaitMs: config.CREATE_QUEUE_MAX_WAIT_MS,
        logger,
      }),
    ]),
  );
  const counters = createHttpCounters();
  const deps: AppDeps<NodeContext> = {
    profiles: served.map(({ entry }) => entry.app(relays.get(entry.profile.name) as Relay)),
    bus,
    // This process's hubs, written straight to the socket.
    subscriptions: createLocalSubscriptions({
      relays: new Map<string, LocalRelay>([...relays, ...published]),
      retryMs: config.RETRY_MS,
      maxReplay: security.maxReplayEvents,
      openSink: sinks.open,
      ...(overrides.maxQueuedBytes === undefined ? {} : { maxQueuedBytes: overrides.maxQueuedBytes }),
    }),
    queues: new Map([...runners].map(([name, runner]) => [name, { heartbeatMs: config.HEARTBEAT_MS, runner }])),
    logger,
    redact,
    maxBodyBytes: config.MAX_BODY_BYTES,
    // The simulator's images are on loopback: its origin alone is exempt from the address check.
    media: {
      sources: mediaSources(served, simulatorOrigin ? [simulatorOrigin] : []),
      hop: createNodeMediaHop({ exemptOrigins: simulatorOrigin ? [simulatorOrigin] : [] }),
      maxBytes: config.MEDIA_MAX_BYTES,
    },
    metrics: createMetrics({ relays: [...relays.values(), ...[...published.values()].map(metricsView)], http: counters, queues: runners }),
    counters,
    security,
    assets: loadWebAssets(),
    ...(published.size > 0 ? { publishing: appPublishing(config, published) } : {}),
  };
  const app = createApp<NodeContext>(deps);
  // Stream requests read straight off new connections, before node:http and Hono (direct-streams.ts).
  const shortcut = createStreamShortcut<NodeContext>({
    profiles: deps.profiles,
    namespaces: published.keys(),
    security,
    subscriptions: deps.subscriptions,
    logger,
    counters,
    sent: RESPONSE_ALREADY_SENT,
  });
  let direct: DirectStreams | undefined;
  let native: NativeStreams | undefined;
  const clientIp = (forwardedFor: string | undefined, peer: string | undefined) => clientIpFrom(forwardedFor, peer, config.TRUST_PROXY);
  // The native edge where it was built: for one process, or for a cluster's workers when the
  // primary reserved the port for them to share (SO_REUSEPORT); else they get node:cluster's.
  const reusePort = cluster.isWorker && process.env[REUSE_PORT_ENV] === '1';
  const edge = config.NATIVE_EDGE && (!cluster.isWorker || reusePort) ? loadNativeEdge() : undefined;
  // Batched writes where the kernel allows io_uring (a seccomp profile may not): logged either way.
  const writes = edge ? (edge.batch(config.NATIVE_EDGE_IO_URING) ? 'io_uring' : 'send') : undefined;
  const intercept = async (plain: HttpServer, port: number, host: string) => {
    if (!edge) {
      direct = interceptStreamRequests(plain, { serve: (req, socket) => shortcut(req, { direct: socket }), clientIp });
      return false;
    }
    native = acceptNativeStreams(
      edge,
      plain,
      { host: await numericHost(host), port, backlog: LISTEN_BACKLOG, reusePort },
      {
        serve: shortcut,
        clientIp,
        endGraceMs: END_GRACE_MS,
        keepAliveS: keepAliveSeconds(config.HEARTBEAT_MS),
        onPaused: (pauses) =>
          logger.warn(
            { pauses },
            'out of file descriptors: accepting paused until some are free (raise the open-file limit, or lower MAX_SUBSCRIBERS)',
          ),
      },
    );
    direct = native;
    return true;
  };
  let server: ServerType | undefined;
  let legacyCheck: Promise<void> | undefined;
  /**
   * The one way down, after a failed start as after a drain: relays (their leases released), the
   * server and its sockets, the bus, the queues, the simulator. Nothing stays open.
   */
  const teardown = async () => {
    for (const each of [...relays.values(), ...published.values()]) await each.close();
    if (server) {
      const closed = closeServer(server);
      native?.stopListening();
      direct?.close();
      direct?.destroyPending();
      sinks.destroyAll();
      native?.destroyStreams();
      await closed;
    }
    await bus.close();
    await closeQueues();
    await legacyCheck?.catch(() => undefined);
    await sim?.close();
  };
  try {
    server = await listen(app.fetch, config.PORT, config.HOST, secureServe(config), intercept);
  } catch (err) {
    await teardown();
    throw err;
  }
  const listening = server;
  const port = native ? native.port : (server.address() as AddressInfo).port;
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST;
  const scheme = config.TLS_CERT_FILE ? 'https' : 'http';
  const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ url, bus: busKind, edge: native ? 'native' : 'node:net', ...(native && { writes }) }, 'sse-relay listening');
  // node:cluster tells the primary of a worker's own listen; an edge's, the worker says itself.
  if (native && cluster.isWorker) process.send?.({ type: EDGE_LISTENING, port });
  // Jobs stored before profiles are not read: say so (moving them is the operator's step, docs/operations/upgrading.md).
  legacyCheck =
    config.REDIS_URL && !overrides.bus
      ? withRedis(config.REDIS_URL, GATEWAY_LEGACY_LAYOUT, (redis) => warnOfLegacyJobs(redis, GATEWAY_LEGACY_LAYOUT, logger))
      : undefined;
  if (config.GATEWAY_OPEN && !isLoopbackAddress(config.HOST)) {
    logger.warn(
      { host: config.HOST },
      'GATEWAY_OPEN=true on a non-loopback address: anyone on the network can start jobs with the upstream token',
    );
  }

  let closing: Promise<void> | undefined;
  return {
    url,
    logger,
    port,
    relay,
    relays,
    app,
    simulator: sim?.simulator,
    simulatorUrl: simulatorOrigin ? simulatorOrigin + (PROFILES[0]?.simulatorPath ?? '') : undefined,
    close() {
      closing ??= (async () => {
        const started = Date.now();
        // No new connections; open streams end spread over DRAIN_MS while their jobs are still followed.
        native?.stopListening();
        const stopped = new Promise<void>((resolve) => listening.close(() => resolve()));
        await Promise.all([...relays.values(), ...published.values()].map((each) => each.drain(config.DRAIN_MS)));
        await teardown();
        await stopped;
        logger.info({ ms: Date.now() - started }, 'stopped: streams drained, leases released, connections closed');
      })();
      return closing;
    },
  };
}
