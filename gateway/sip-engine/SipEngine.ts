import os from 'node:os';
import type { Logger } from '../../common/logger.ts';
import { type AppConnection, AppServer } from './AppServer.ts';
import { parseAppMessage } from './appMessage.ts';
import { DialogTable } from './Dialog.ts';
import { EngineContext, type RequestScreen } from './EngineContext.ts';
import { IncomingRequests } from './IncomingRequests.ts';
import { stampVia, statelessResponse } from './messages.ts';
import { OutgoingRequests } from './OutgoingRequests.ts';
import type { SipMessage } from './SipMessage.ts';
import { parseSipMessage } from './sipParser.ts';
import { type Peer, SipTransport, type TcpLimits, type TlsSettings, type TransportHandlers } from './SipTransport.ts';
import { parseVia } from './sipSyntax.ts';
import type { AppCommand } from './wireProtocol.ts';

export interface SipEngineOptions {
  /** Bind address for SIP (UDP, TCP, TLS), e.g. '0.0.0.0' or '127.0.0.1'. */
  sipHost: string;
  /** 5060 by default. */
  sipPort: number;
  /** Address to put in Via/Contact (default: sipHost, or the first non-internal IPv4 if sipHost is 0.0.0.0). */
  publicAddress?: string;
  controlHost: string;
  /** Wire-protocol TCP port (drachtio's default is 9022). */
  controlPort: number;
  secret: string;
  logger: Logger;
  /** Flood control: judges each new request before a transaction exists for it. */
  screen?: RequestScreen;
  /** Default: an idle (or trickling) connection closed after 60 s, 20 connections per address. */
  tcp?: TcpLimits;
  /** Told of each TCP connection the limits closed. */
  tcpClosed?: TransportHandlers['tcpClosed'];
  /**
   * SIP over TLS: with a port, certificate and key, a listener; the CA (and our certificate, for
   * mutual TLS) serve outgoing TLS either way.
   */
  tls?: Partial<TlsSettings>;
}

const DEFAULT_TCP_LIMITS: TcpLimits = { idleMs: 60_000, perSource: 20 };

export interface SipEngineStats {
  serverTransactions: number;
  clientTransactions: number;
  /** Requests from the network the app has not finished answering, and app requests awaiting a final response. */
  pendingIncoming: number;
  pendingOutgoing: number;
  dialogs: number;
  /** Messages rejected or dropped as malformed since start. */
  malformed: number;
  appConnections: number;
  tcpConnections: number;
}

/** What the engine tells drachtio-srf it is; srf enables keep-alive pings for `vX.Y.Z` at or above v0.8.2. */
const ENGINE_VERSION = 'v1.0.0-telebridge';

function defaultAddress(sipHost: string): string {
  if (sipHost !== '0.0.0.0') return sipHost;
  for (const addresses of Object.values(os.networkInterfaces())) {
    const found = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (found) return found.address;
  }
  return '127.0.0.1';
}

/**
 * An embedded SIP engine in place of drachtio-server: drachtio's wire protocol for drachtio-srf
 * on a control port, SIP over UDP and TCP on the SIP port.
 */
export class SipEngine {
  #ctx: EngineContext;
  #incoming: IncomingRequests;
  #outgoing: OutgoingRequests;

  private constructor(ctx: EngineContext) {
    this.#ctx = ctx;
    this.#outgoing = new OutgoingRequests(ctx);
    this.#incoming = new IncomingRequests(ctx, this.#outgoing);
  }

  static async start(opts: SipEngineOptions): Promise<SipEngine> {
    const logger = opts.logger;
    const address = opts.publicAddress ?? defaultAddress(opts.sipHost);
    let engine: SipEngine | undefined;
    const transport = await SipTransport.open(opts.sipHost, opts.sipPort, {
      message: (data, source) => {
        if (engine) engine.#receive(data, source);
      },
      brokenStream: (reason, data, source) => {
        if (engine) engine.#malformed(reason, parseSipMessage(data, true), source);
      },
      tcpClosed: opts.tcpClosed,
    }, opts.tcp ?? DEFAULT_TCP_LIMITS, logger, opts.tls);
    const port = transport.port;
    const tlsPort = transport.tlsPort;
    let apps: AppServer;
    try {
      apps = await AppServer.listen({
        host: opts.controlHost,
        port: opts.controlPort,
        secret: opts.secret,
        hostports: `udp/${address}:${port},tcp/${address}:${port}${tlsPort ? `,tls/${address}:${tlsPort}` : ''}`,
        version: ENGINE_VERSION,
        logger,
        command: (app, command) => {
          if (engine) engine.#command(app, command);
        },
        disconnected: (app) => {
          if (engine) engine.#appDisconnected(app);
        },
      });
    } catch (error) {
      await transport.close();
      throw error;
    }
    engine = new SipEngine(new EngineContext({ logger, transport, apps, dialogs: new DialogTable(), address, port, tlsPort, screen: opts.screen }));
    logger.info({ sip: `${address}:${port}`, tls: tlsPort && `${address}:${tlsPort}`, control: `${opts.controlHost}:${apps.port}` }, 'sip engine started');
    return engine;
  }

  /** The SIP port actually bound (useful when started on port 0). */
  get sipPort(): number {
    return this.#ctx.port;
  }

  get tlsPort(): number | undefined {
    return this.#ctx.tlsPort;
  }

  get controlPort(): number {
    return this.#ctx.apps.port;
  }

  get stats(): SipEngineStats {
    return {
      serverTransactions: this.#ctx.serverTransactions.size,
      clientTransactions: this.#ctx.clientTransactions.size,
      pendingIncoming: this.#incoming.pendingCount,
      pendingOutgoing: this.#outgoing.pendingCount,
      dialogs: this.#ctx.dialogs.size,
      malformed: this.#ctx.malformed,
      appConnections: this.#ctx.apps.connectionCount,
      tcpConnections: this.#ctx.transport.connectionCount,
    };
  }

  async close(): Promise<void> {
    for (const txn of [...this.#ctx.serverTransactions.values()]) txn.terminate();
    for (const txn of [...this.#ctx.clientTransactions.values()]) txn.terminate();
    for (const dialog of this.#ctx.dialogs.all()) this.#ctx.dialogs.remove(dialog);
    await Promise.all([this.#ctx.apps.close(), this.#ctx.transport.close()]);
  }

  #receive(data: Buffer, source: Peer): void {
    // Keep-alives (RFC 5626 CRLF) carry no message.
    if (data.every((byte) => byte === 0x0d || byte === 0x0a)) return;
    const result = parseSipMessage(data, source.protocol !== 'udp');
    if (!result.ok) return this.#malformed(result.reason, result, source);
    const message = result.message;
    if (message.isRequest) this.#incoming.receive(message, source);
    else this.#outgoing.receiveResponse(message, source);
  }

  /** Malformed input: a 400 naming the problem when the request has a usable Via, else dropped. */
  #malformed(reason: string, parsed: ReturnType<typeof parseSipMessage>, source: Peer): void {
    this.#ctx.malformed++;
    const partial: SipMessage | undefined = parsed.ok ? parsed.message : parsed.partial;
    const top = partial?.values('via')[0];
    const replyable = partial?.isRequest && partial.method !== 'ACK' && top !== undefined && parseVia(top) !== undefined;
    this.#ctx.logger.debug({ reason, from: `${source.protocol}:${source.address}:${source.port}`, replied: replyable }, 'malformed sip message');
    if (!replyable || !partial) return;
    stampVia(partial, source);
    this.#ctx.sendQuietly(source, statelessResponse(partial, 400, reason));
  }

  #command(app: AppConnection, command: AppCommand): void {
    const { msgId, type, tokens } = command;
    if (type === 'proxy') return app.reply(msgId, 'NOK', 'proxying is not supported by the embedded sip engine');
    const message = parseAppMessage(command.sip ?? '');
    const [txnId = '', dialogId = '', proxy = ''] = tokens.slice(2);
    if (message.startLine.startsWith('SIP/')) {
      if (!txnId) return app.reply(msgId, 'NO', 'transaction id missing');
      return this.#incoming.respond(app, msgId, txnId, message);
    }
    void this.#outgoing.send(app, msgId, txnId, dialogId, proxy, message);
  }

  #appDisconnected(app: AppConnection): void {
    this.#incoming.appDisconnected(app);
    this.#outgoing.appDisconnected(app);
  }
}
