import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Config, loadConfig } from '../../config/index.ts';
import { jobDefinitions } from '../../jobs/index.ts';
import { buildRegistry } from '../../jobs/registry.ts';
import { selectedQueues, startWorkers, type WorkerPool } from '../../jobs/workers.ts';
import { ensureBootstrapKey } from '../auth/api-keys.ts';
import { createApp } from '../http/app.ts';
import { startMetricsServer } from '../observability/metrics-endpoint.ts';
import { createPlatform, type Platform, type PlatformOptions } from '../platform.ts';
import { registerQueueSource } from '../shared/metrics.ts';
import { reencryptWebhookSecrets } from '../webhooks/secret-rotation.ts';

export interface RunOptions extends PlatformOptions {
  api: boolean;
  workers: boolean;
}

export interface Running {
  platform: Platform;
  server?: Server;
  workers?: WorkerPool;
  /** Base URL of the HTTP API, when it runs. */
  url?: string;
  /** URL of the separate metrics listener, when METRICS_PORT is set. */
  metricsUrl?: string;
  stop(): Promise<void>;
}

/** Starts the API, the workers, or both in this process, on one shared platform. */
export async function run(config: Config, options: RunOptions): Promise<Running> {
  // Checked before anything connects: a job name without exactly one handler stops startup.
  const registry = buildRegistry(jobDefinitions);
  const queues = options.workers ? selectedQueues(config.WORKER_QUEUES) : [];
  const platform = await createPlatform(config, options);
  if (config.PROMO_BOOTSTRAP_KEY) await ensureBootstrapKey(platform.db, config.PROMO_BOOTSTRAP_KEY);
  if (config.WEBHOOK_SECRET_ENCRYPTION_KEY_PREVIOUS) {
    const result = await reencryptWebhookSecrets(platform.db, config, platform.logger);
    if (result.unreadable === 0) platform.logger.info(result, 'webhook secrets are under the current key; the previous key can go');
    else platform.logger.error(result, 'some webhook secrets open with no configured key');
  }

  const unregisterQueues = registerQueueSource(platform.queues);
  const workers = options.workers ? startWorkers(platform, registry, queues) : undefined;
  if (workers) await workers.ready;
  const metrics = config.METRICS_PORT === undefined ? undefined : await startMetricsServer(config.METRICS_PORT, config.METRICS_HOST);
  let server: Server | undefined;
  let url: string | undefined;
  if (options.api) {
    const { app } = createApp(platform);
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(config.PORT, config.HOST, () => resolve(s));
    });
    // Slow clients cannot hold a connection open: the whole request must arrive in time (streamed uploads: their own limit).
    server.requestTimeout = Math.max(config.HTTP_REQUEST_TIMEOUT_MS, config.HTTP_UPLOAD_TIMEOUT_MS);
    server.headersTimeout = Math.min(config.HTTP_REQUEST_TIMEOUT_MS, 60_000);
    // Idle keep-alive connections outlive a load balancer's (60 s is common), so the server never closes a socket a
    // client is about to reuse; shutdown closes idle ones at once.
    server.keepAliveTimeout = 65_000;
    const { port } = server.address() as AddressInfo;
    url = `http://127.0.0.1:${port}`;
    platform.logger.info({ url }, 'api listening');
  }

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      // Stop intake first, then let workers finish their jobs, then close connections.
      if (server) {
        // Stop accepting; in-flight requests finish (bounded by HTTP_REQUEST_TIMEOUT_MS); keep-alive
        // connections are closed as soon as they fall idle.
        const closed = new Promise<void>((resolve) => server?.close(() => resolve()));
        const idle = setInterval(() => server?.closeIdleConnections(), 50);
        server.closeIdleConnections();
        await closed;
        clearInterval(idle);
      }
      if (metrics) await new Promise<void>((resolve) => metrics.server.close(() => resolve()));
      unregisterQueues();
      if (workers) await workers.close();
      await platform.close();
    })();
    return stopping;
  };
  return { platform, server, workers, url, metricsUrl: metrics?.url, stop };
}

/** Entrypoint helper: reads config, runs, and drains on SIGTERM/SIGINT. */
export async function main(options: Omit<RunOptions, keyof PlatformOptions>): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    console.error((error as Error).message);
    process.exit(78);
  }
  const running = await run(config, options);
  let signals = 0;
  const shutdown = (signal: string) => {
    signals += 1;
    if (signals > 1) process.exit(1);
    running.platform.logger.info({ signal }, 'shutting down: draining');
    const timer = setTimeout(() => {
      running.platform.logger.error('shutdown timed out');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    running.stop().then(
      () => process.exit(0),
      (error) => {
        running.platform.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
