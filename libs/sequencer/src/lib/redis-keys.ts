/**
 * Every Redis name of the api <-> engine transport, under the deployment's prefix (REDIS_PREFIX):
 *
 * | name | type | what |
 * |---|---|---|
 * | `<p>:engine:commands` | stream | commands from every api node (XADD); the engine reads them in group `engine` |
 * | `<p>:engine:reply:<apiNode>` | list | replies to one api node (RPUSH by the engine, BLPOP by the api node) |
 * | `<p>:engine:markets` | hash | market id -> its state and committed book (JSON), written after each committed batch |
 * | `<p>:engine:markets:changed` | pub/sub | the same JSON, published when it changes; api nodes cache it |
 * | `<p>:engine:events` | stream | what each committed batch did (the event outlet), entry id `<last command seq>-0` |
 * | `<p>:engine:lease` | string | the node id that owns the markets (SET NX PX, renewed with the heartbeat) |
 * | `<p>:engine:heartbeat:<node>` | string | a live engine node's status (JSON, expires unless renewed) |
 */
export interface EngineRedisKeys {
  stream: string;
  group: string;
  reply(apiNodeId: string): string;
  markets: string;
  marketsChannel: string;
  events: string;
  lease: string;
  heartbeat(engineNodeId: string): string;
}

/** The consumer group of the command stream: one group, so each command is delivered to one engine consumer. */
export const ENGINE_STREAM_GROUP = 'engine';

export function engineRedisKeys(prefix: string): EngineRedisKeys {
  return {
    stream: `${prefix}:engine:commands`,
    group: ENGINE_STREAM_GROUP,
    reply: (apiNodeId) => `${prefix}:engine:reply:${apiNodeId}`,
    markets: `${prefix}:engine:markets`,
    marketsChannel: `${prefix}:engine:markets:changed`,
    events: `${prefix}:engine:events`,
    lease: `${prefix}:engine:lease`,
    heartbeat: (engineNodeId) => `${prefix}:engine:heartbeat:${engineNodeId}`,
  };
}
