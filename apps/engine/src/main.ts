import { loadEngineConfig } from './config';
import { EngineNode } from './node';

/**
 * A standalone engine node for multi-node deployments (docker-compose runs one). The single-node default
 * (`npm start`) hosts the engine inside the api process instead.
 */
function log(level: number, msg: string): void {
  process.stdout.write(JSON.stringify({ level, time: Date.now(), app: 'engine', msg }) + '\n');
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadEngineConfig();
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(78);
  }
  const node = new EngineNode(config, { info: (m) => log(30, m), error: (m) => log(50, m) });
  await node.start();
  const stop = async (signal: string) => {
    log(30, `${signal}: stopping`);
    await node.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((e: unknown) => {
  process.stderr.write(`engine start-up failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
