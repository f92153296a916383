// A loopback TCP proxy that holds every chunk for `delayMs` before passing it on, in both directions: a slow
// network or an overloaded Redis, as seen by its clients. Order is kept; close() leaves no socket or timer.

import { createServer, Socket, type Server } from 'node:net';

export class DelayProxy {
  /** Current delay per chunk and direction, in ms; change it at any time (applies to chunks arriving after). */
  delayMs: number;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
    delayMs: number,
  ) {
    this.delayMs = delayMs;
  }

  /** Listens on a free loopback port and forwards to 127.0.0.1:`targetPort`. */
  static async start(targetPort: number, delayMs: number): Promise<DelayProxy> {
    const holder: { proxy?: DelayProxy } = {};
    const server = createServer((client) => holder.proxy!.accept(client, targetPort));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    holder.proxy = new DelayProxy(server, typeof address === 'object' && address ? address.port : 0, delayMs);
    return holder.proxy;
  }

  private accept(client: Socket, targetPort: number): void {
    const upstream = new Socket();
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    this.pipe(client, upstream);
    this.pipe(upstream, client);
    upstream.connect(targetPort, '127.0.0.1');
  }

  /**
   * Forwards from → to, each chunk `delayMs` later, strictly in arrival order: one queue per direction, drained by
   * one timer at a time. (A timer per chunk could reorder two chunks: Node files timers of different durations in
   * different lists, so a chunk scheduled 1 ms later on a busy loop could leave first and corrupt the stream.)
   */
  private pipe(from: Socket, to: Socket): void {
    const queue: { at: number; task: () => void }[] = [];
    let timer: NodeJS.Timeout | undefined;
    const drain = () => {
      if (timer) this.timers.delete(timer);
      timer = undefined;
      while (queue.length > 0 && queue[0]!.at <= Date.now()) queue.shift()!.task();
      if (queue.length > 0) {
        timer = setTimeout(drain, Math.max(0, queue[0]!.at - Date.now()));
        this.timers.add(timer);
      }
    };
    const later = (task: () => void) => {
      queue.push({ at: Date.now() + this.delayMs, task });
      if (!timer) drain();
    };
    from.on('data', (chunk: Buffer) => later(() => to.destroyed || to.write(chunk)));
    from.once('end', () => later(() => to.end()));
    from.once('close', () => later(() => to.destroy()));
  }

  /** Drops every connection (clients see a reset) but keeps listening. */
  dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  /** Stops listening, destroys every connection and clears every pending chunk. */
  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
