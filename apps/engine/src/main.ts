import { EngineConfig, loadEngineConfig } from './config';
import { EngineNode } from './node';

/**
 * A standalone engine node for multi-node deployments (docker-compose runs one; api nodes run with
 * ENGINE_MODE=redis). The single-node default (`npm start`) hosts the engine inside the api process instead.
 * SIGTERM/SIGINT: stop reading commands, commit and answer what was read, checkpoint, give up the lease, exit.
 */
const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity } as const;
let minLevel: number = LEVELS.info;

function log(level: number, msg: string): void {
  if (level >= minLevel) process.stdout.write(JSON.stringify({ level, time: Date.now(), app: 'engine', msg }) + '\n');
}

async function main(): Promise<void> {
  let config: EngineConfig;
  try {
    config = loadEngineConfig();
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(78);
  }
  minLevel = LEVELS[config.LOG_LEVEL];
  let exitCode = 0;
  const node = new EngineNode(config, { info: (m) => log(30, m), error: (m) => log(50, m) }, () => {
    exitCode = 1; // deposed: another node serves the markets now
    void stop('lease lost');
  });
  let stopping: Promise<void> | undefined;
  const stop = (why: string): Promise<void> =>
    (stopping ??= (async () => {
      log(30, `${why}: stopping`);
      await node.stop().catch((e: Error) => log(50, `stop: ${e.message}`));
      process.exit(exitCode);
    })());
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  try {
    await node.start();
  } catch (e) {
    if (stopping) return; // a signal arrived while starting (e.g. waiting for the lease)
    process.stderr.write(`engine start-up failed: ${(e as Error).message}\n`);
    await node.stop().catch(() => undefined); // gives the lease back at once
    process.exit(1);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`engine start-up failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
