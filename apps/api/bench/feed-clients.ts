// The feed benchmark's clients, in a process of their own: N subscribers of one market's book. `socketio` mode:
// each a FeedSubscriber (libs/client: local book, seq and checksum checks, resync by itself) on the api's feed.
// `ws` mode (the peer): bare WebSocket clients of the bench's relay, each keeping the same local book from the
// same messages. Latency: receipt time minus the message's committedAt. Prints one JSON line at the end.
import { FeedBookDepth, FeedBookMessage, FeedLevel } from '@ate/contracts';
import { FeedSubscriber, LocalBook } from '@ate/client';
import { WebSocket } from 'ws';

interface Input {
  mode: 'socketio' | 'ws';
  url: string;
  market: string;
  clients: number;
  warmupMs: number;
  /** depth-limited books (bench:feed --depth) */
  depth?: FeedBookDepth;
}

const input = JSON.parse(process.argv[2] as string) as Input;
const lat: number[] = [];
let messages = 0;
let measuring = false;
let gapsSeen = 0;
let checksumFailures = 0;
const books: LocalBook[] = [];

function receive(m: FeedBookMessage): void {
  if (!measuring) return;
  messages++;
  lat.push(Date.now() - m.committedAt);
}

async function main(): Promise<void> {
  const subs: FeedSubscriber[] = [];
  const sockets: WebSocket[] = [];
  const opened: Promise<unknown>[] = [];
  for (let i = 0; i < input.clients; i++) {
    if (input.mode === 'socketio') {
      const f = new FeedSubscriber({ baseUrl: input.url });
      f.on('book', ({ message }) => receive(message));
      subs.push(f);
      opened.push(f.connected().then(() => f.book(input.market, { depth: input.depth }).then((b) => books.push(b))));
    } else {
      const b = new LocalBook(input.market, input.depth);
      books.push(b);
      const ws = new WebSocket(input.url);
      ws.on('message', (data) => {
        const m = JSON.parse(String(data)) as FeedBookMessage;
        const r = b.apply(m);
        if (r === 'gap') gapsSeen++;
        else if (r === 'checksum') checksumFailures++;
        receive(m);
      });
      sockets.push(ws);
      opened.push(new Promise((r) => ws.once('open', r)));
    }
    if (i % 50 === 49) await Promise.all(opened.slice(-50)); // connect in waves
  }
  await Promise.all(opened);
  process.stderr.write(`feed clients: ${input.clients} ${input.mode} subscribed\n`);
  await new Promise((r) => setTimeout(r, input.warmupMs));
  measuring = true;
  const t0 = Date.now();
  // the bench writes one line when its load is over: the REST book's seq and checksum the books must reach
  const target = await new Promise<{ seq: number; checksum: number; top?: { bids: FeedLevel[]; asks: FeedLevel[] } }>((resolve) => {
    let text = '';
    process.stdin.on('data', (d) => {
      text += String(d);
      if (text.includes('\n')) resolve(JSON.parse(text.trim()));
    });
  });
  measuring = false;
  const seconds = (Date.now() - t0) / 1000;
  // every book must get to where the REST book is, with its checksum (the last messages may still be on the way);
  // a depth-limited book's seq is the last change of its levels: it must hold the REST book's best levels
  const top = target.top && JSON.stringify(target.top);
  const there = (b: LocalBook) =>
    top ? JSON.stringify(b.levels()) === top && b.checksum() === target.checksum : b.seq === target.seq && b.checksum() === target.checksum;
  const t1 = Date.now();
  while (Date.now() - t1 < 15_000 && books.some((b) => b.seq === null || (top ? !there(b) : b.seq < target.seq)))
    await new Promise((r) => setTimeout(r, 50));
  const settleMs = Date.now() - t1;
  const unrecovered = books.filter((b) => !there(b)).length + (input.clients - books.length);
  for (const f of subs) {
    gapsSeen += f.stats.gaps;
    checksumFailures += f.stats.checksumFailures;
  }
  const stats = subs.map((f) => f.stats);
  for (const f of subs) f.close();
  for (const s of sockets) s.close();
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? 0;
  process.stdout.write(
    JSON.stringify({
      clients: input.clients,
      messagesPerSec: Math.round(messages / seconds),
      p50Ms: q(0.5),
      p99Ms: q(0.99),
      maxMs: lat[lat.length - 1] ?? 0,
      gapsSeen,
      checksumFailures,
      resyncs: stats.reduce((n, s) => n + s.resyncs, 0),
      reconnects: stats.reduce((n, s) => n + s.reconnects, 0),
      unrecovered,
      settleMs,
    }) + '\n',
  );
  process.exit(0);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
