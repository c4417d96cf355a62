import { ConfigError, loadConfig } from '../core/config.ts';
import { startGateway } from './gateway.ts';

try {
  const gateway = await startGateway(loadConfig(process.env));
  const stop = () => {
    gateway.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
