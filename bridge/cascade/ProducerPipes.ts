import type { Consumer, PipeTransport, Producer } from 'mediasoup/types';
import type { Logger } from '../../common/logger.ts';
import type { LinkMessage, PipeEnd } from '../../protocol/cascade.ts';
import type { ProducerAppData } from '../rooms/Peer.ts';
import type { MediaNetwork, Room } from '../rooms/Room.ts';
import type { RemotePeer } from './RemotePeer.ts';

type ProduceMessage = Extract<LinkMessage, { type: 'produce' }>;

/**
 * The media half of a cascade link: one PipeTransport on the room's home
 * router, paired with the other bridge's over UDP (SRTP: the link's
 * authentication is the only trust), carrying each producer once each way.
 * Outgoing, a producer of this bridge's peers is consumed on the pipe and
 * announced (`produce`); incoming, an announced producer is produced on the
 * pipe under its own id, for a remote peer. This is what mediasoup's
 * Router.pipeToRouter wires within one process; across bridges the link
 * carries what it does there by events: pause, resume and close follow the
 * original. Key frame requests and NACKs need nothing: PipeTransports carry
 * RTCP, and retransmissions go as RTX (enableRtx).
 */
export class ProducerPipes {
  readonly #transport: PipeTransport;
  readonly #room: Room;
  readonly #logger: Logger;
  /** Our producers piped out (or being piped: a producer adopted while start() pipes the room's is piped once), by id. */
  readonly #out = new Set<string>();
  /** The other bridge's producers piped in, by id (a promise while being made, so a close that overtakes it waits). */
  readonly #in = new Map<string, Promise<Producer<ProducerAppData> | undefined>>();

  private constructor(transport: PipeTransport, room: Room, logger: Logger) {
    this.#transport = transport;
    this.#room = room;
    this.#logger = logger;
  }

  /**
   * Listens where the room's media listens, and is announced where the other
   * bridge reaches it: MEDIA_PLAIN_ANNOUNCED_ADDRESS if set (a bridge's LAN
   * address, as for services), else MEDIA_ANNOUNCED_ADDRESS.
   */
  static async create(room: Room, network: MediaNetwork, logger: Logger): Promise<ProducerPipes> {
    const transport = await room.routers.home.router.createPipeTransport({
      listenInfo: {
        protocol: 'udp',
        ip: network.listenIp,
        announcedAddress: network.plainAnnouncedAddress ?? network.announcedAddress,
        portRange: network.plainPortRange,
      },
      enableSrtp: true,
      // Video lost between the bridges is asked for again (NACK) and resent (RTX) across the pipe, as
      // within one bridge. Both ends are made here, so both enable it, as mediasoup requires; the
      // `produce` message carries the pipe consumer's RTX codec and ssrc to the other end's producer.
      enableRtx: true,
    });
    return new ProducerPipes(transport, room, logger);
  }

  /** Where the other bridge sends to this end. */
  get end(): PipeEnd {
    const { localAddress, localPort } = this.#transport.tuple;
    return { ip: localAddress, port: localPort, srtpParameters: this.#transport.srtpParameters! };
  }

  /** Producers piped out and in (the operator's count of what the link carries). */
  get counts(): { out: number; in: number } {
    return { out: this.#out.size, in: this.#in.size };
  }

  async connect(other: PipeEnd): Promise<void> {
    await this.#transport.connect({ ip: other.ip, port: other.port, srtpParameters: other.srtpParameters });
  }

  /**
   * Pipes one of our producers to the other bridge (once: a producer already
   * piped is not again); `tell` says what the other bridge must do, now and
   * as the producer pauses, resumes and closes.
   */
  async send(producer: Producer<ProducerAppData>, tell: (message: LinkMessage) => void): Promise<void> {
    if (this.#out.has(producer.id) || this.#transport.closed) return;
    this.#out.add(producer.id);
    let consumer: Consumer;
    try {
      consumer = await this.#transport.consume({ producerId: producer.id });
    } catch (error) {
      this.#out.delete(producer.id);
      throw error;
    }
    consumer.observer.once('close', () => this.#out.delete(producer.id));
    consumer.on('producerclose', () => tell({ type: 'producerClosed', producerId: producer.id }));
    consumer.on('producerpause', () => tell({ type: 'producerPaused', producerId: producer.id, paused: true }));
    consumer.on('producerresume', () => tell({ type: 'producerPaused', producerId: producer.id, paused: false }));
    tell({
      type: 'produce',
      producerId: producer.id,
      peerId: producer.appData.peerId,
      kind: consumer.kind,
      source: producer.appData.source,
      rtpParameters: consumer.rtpParameters as ProduceMessage['rtpParameters'],
      paused: consumer.producerPaused,
    });
  }

  /** A producer of the other bridge's, piped here for its remote peer. */
  async receive(message: ProduceMessage, peer: RemotePeer): Promise<void> {
    if (this.#in.has(message.producerId)) return;
    const making = this.#transport
      .produce<ProducerAppData>({
        id: message.producerId,
        kind: message.kind,
        rtpParameters: message.rtpParameters as Parameters<PipeTransport['produce']>[0]['rtpParameters'],
        paused: message.paused,
        appData: { peerId: peer.id, source: message.source },
      })
      .catch((error: unknown) => {
        this.#logger.warn({ err: error, producer: message.producerId }, 'cannot pipe in a producer of the other bridge');
        return undefined;
      });
    this.#in.set(message.producerId, making);
    const producer = await making;
    if (!producer) {
      this.#in.delete(message.producerId);
      return;
    }
    producer.observer.once('close', () => this.#in.delete(message.producerId));
    await this.#room.addRemoteProducer(peer, producer);
  }

  async setPaused(producerId: string, paused: boolean): Promise<void> {
    const producer = await this.#in.get(producerId);
    if (!producer || producer.closed) return;
    if (paused) await producer.pause();
    else await producer.resume();
  }

  /** The other bridge's producer closed: closed here through the room (its peer no longer lists it, everyone is told), its consumers told as for any producer. */
  async closeProducer(producerId: string): Promise<void> {
    const producer = await this.#in.get(producerId);
    if (!producer || producer.closed) return;
    const peer = this.#room.getPeer(producer.appData.peerId);
    if (peer?.producers.has(producerId)) this.#room.closeProducer(peer, producerId);
    else producer.close(); // never adopted (its peer left, or the room refused it)
  }

  /** Closes every pipe, both ways. */
  close(): void {
    this.#transport.close();
  }
}
