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

  /** Forwards from → to, each chunk `delayMs` later; chunks leave in arrival order. The end follows the data. */
  private pipe(from: Socket, to: Socket): void {
    let last = 0; // when the previous chunk of this direction leaves: later chunks never overtake it
    const later = (task: () => void) => {
      const at = Math.max(Date.now() + this.delayMs, last);
      last = at;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        task();
      }, at - Date.now());
      this.timers.add(timer);
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
