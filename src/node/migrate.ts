/**
 * `node dist/migrate.js` (`npm run migrate:redis` in development): moves the jobs Redis holds in the
 * pre-profile key layout to the names this version reads, then exits (0 done, 1 Redis failed, 2 bad
 * configuration). Reads the gateway's own environment; only REDIS_URL matters. `--dry-run` only
 * counts the jobs it would move. See docs/operations/upgrading.md.
 */
import { ConfigError } from '../config.ts';
import { createNodeProcess, loadNodeConfig } from './recipe.ts';
import { GATEWAY_LEGACY_LAYOUT, findLegacyJobs, migrateLegacyJobs, withRedis } from './redis-migrate.ts';
import { errorMessage } from '../core/errors.ts';

let exitCode = 0;
try {
  const config = loadNodeConfig(process.argv, process.env);
  if (config.REDIS_URL === undefined) throw new ConfigError('invalid configuration: REDIS_URL: required to migrate Redis keys');
  const logger = createNodeProcess(config).logger(`${config.INSTANCE_ID ?? 'sse-relay'}-migrate`);
  try {
    await withRedis(config.REDIS_URL, GATEWAY_LEGACY_LAYOUT, async (redis) => {
      if (!process.argv.includes('--dry-run')) {
        await migrateLegacyJobs(redis, GATEWAY_LEGACY_LAYOUT, logger);
        return;
      }
      const ids = await findLegacyJobs(redis, GATEWAY_LEGACY_LAYOUT);
      logger.info({ found: ids.length, examples: ids.slice(0, 10) }, 'redis migration (dry run): old-layout jobs found, nothing moved');
    });
  } catch (err) {
    logger.error({ err: errorMessage(err) }, 'redis migration failed; run it again (it is safe to repeat)');
    exitCode = 1;
  }
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  exitCode = 2;
}
process.exit(exitCode);
