import { randomUUID } from 'node:crypto';
import net from 'node:net';
import type { Logger } from '../../common/logger.ts';
import { type AppCommand, encodeFrame, FrameDecoder, parseCommand } from './wireProtocol.ts';

/** One drachtio-srf connection: authenticated once, then routes and SIP commands. */
export class AppConnection {
  readonly id: number;
  authenticated = false;
  readonly routes = new Set<string>();
  #socket: net.Socket;

  constructor(id: number, socket: net.Socket) {
    this.id = id;
    this.#socket = socket;
  }

  get open(): boolean {
    return !this.#socket.destroyed;
  }

  /** Sends `<uuid>|<payload>` as one frame. */
  send(payload: string): void {
    if (this.open) this.#socket.write(encodeFrame(`${randomUUID()}|${payload}`));
  }

  /** Answers command `msgId`: drachtio uses NO for protocol errors and NOK for failed SIP operations. */
  reply(msgId: string, result: 'OK' | 'NO' | 'NOK', text?: string): void {
    this.send(`response|${msgId}|${result}${text === undefined ? '' : `|${text}`}`);
  }

  /** Ends the connection once pending replies are written. */
  close(): void {
    this.#socket.destroySoon();
  }
}

export interface AppServerOptions {
  host: string;
  port: number;
  secret: string;
  /** `udp/<addr>:<port>,tcp/<addr>:<port>`: the SIP endpoints reported on authentication. */
  hostports: string;
  version: string;
  logger: Logger;
  /** `sip` and `proxy` commands from authenticated connections. */
  command(connection: AppConnection, command: AppCommand): void;
  disconnected(connection: AppConnection): void;
}

/** The TCP server drachtio-srf connects to (`srf.connect({host, port, secret})`). */
export class AppServer {
  #server: net.Server;
  #options: AppServerOptions;
  #connections = new Set<AppConnection>();
  #sockets = new Set<net.Socket>();
  #roundRobin = new Map<string, number>();
  #nextId = 1;

  private constructor(server: net.Server, options: AppServerOptions) {
    this.#server = server;
    this.#options = options;
  }

  static async listen(options: AppServerOptions): Promise<AppServer> {
    const server = net.createServer();
    const appServer = new AppServer(server, options);
    server.on('connection', (socket) => appServer.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => options.logger.warn({ err: error }, 'app server error'));
    return appServer;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Round-robin among authenticated connections that routed `method`, as drachtio-server does. */
  select(method: string): AppConnection | undefined {
    const verb = method.toLowerCase();
    const candidates = [...this.#connections].filter((c) => c.authenticated && c.open && c.routes.has(verb));
    if (candidates.length === 0) return undefined;
    const next = (this.#roundRobin.get(verb) ?? 0) % candidates.length;
    this.#roundRobin.set(verb, next + 1);
    return candidates[next];
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: net.Socket): void {
    const connection = new AppConnection(this.#nextId++, socket);
    const decoder = new FrameDecoder();
    const { logger } = this.#options;
    this.#connections.add(connection);
    this.#sockets.add(socket);
    socket.setNoDelay(true);
    socket.setKeepAlive(true);
    logger.debug({ app: connection.id }, 'app connected');
    socket.on('data', (chunk) => {
      const frames = decoder.push(chunk);
      if (!frames) {
        logger.warn({ app: connection.id }, 'app sent an invalid frame length; closing');
        socket.destroy();
        return;
      }
      for (const frame of frames) {
        try {
          if (!this.#handle(connection, parseCommand(frame))) {
            connection.close();
            return;
          }
        } catch (error) {
          logger.error({ err: error, app: connection.id }, 'failed to handle app command');
        }
      }
    });
    socket.on('error', (error) => logger.debug({ err: error, app: connection.id }, 'app connection error'));
    socket.on('close', () => {
      this.#connections.delete(connection);
      this.#sockets.delete(socket);
      logger.debug({ app: connection.id }, 'app disconnected');
      this.#options.disconnected(connection);
    });
  }

  /** Returns false when the connection must be closed. */
  #handle(connection: AppConnection, command: AppCommand): boolean {
    const { msgId, type, tokens } = command;
    if (type === 'authenticate') {
      if (tokens[2] !== this.#options.secret) {
        connection.reply(msgId, 'NO', 'incorrect secret');
        return false;
      }
      connection.authenticated = true;
      connection.reply(msgId, 'OK', `${this.#options.hostports}|${this.#options.version}`);
      return true;
    }
    if (!connection.authenticated) {
      connection.reply(msgId, 'NO', 'not authenticated');
      return false;
    }
    switch (type) {
      case 'ping':
        connection.reply(msgId, 'OK', 'pong');
        return true;
      case 'route':
        connection.routes.add((tokens[2] ?? '').toLowerCase());
        connection.reply(msgId, 'OK');
        return true;
      case 'remove_route':
        connection.routes.delete((tokens[2] ?? '').toLowerCase());
        connection.reply(msgId, 'OK');
        return true;
      case 'sip':
      case 'proxy':
        this.#options.command(connection, command);
        return true;
      default:
        connection.reply(msgId, 'NO', 'Unknown message type');
        return false;
    }
  }
}
