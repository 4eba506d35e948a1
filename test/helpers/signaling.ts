import { signToken } from '../../bridge/auth/signToken.ts';
import { TOKEN_AUDIENCE, type JoinClaims } from '../../protocol/accessTokens.ts';
import { SIGNALING_PATH, type NotificationData, type NotificationName, type PeerKind, type RequestData } from '../../protocol/protocol.ts';
import { SignalingClient } from '../../protocol/SignalingClient.ts';
import { TEST_API, TEST_SERVICE_SECRET } from './bridge.ts';
import { RtpReceiver, RtpSender } from './rtp.ts';

export function signalingUrl(httpUrl: string): string {
  return httpUrl.replace(/^http/, 'ws') + SIGNALING_PATH;
}

/** A join token for test bridges (signed with TEST_API), as `npm run token` mints them. */
export function joinToken(claims: Partial<Omit<JoinClaims, 'grants'>> & { grants?: Partial<JoinClaims['grants']> }, expiresIn: string | number = '5m'): Promise<string> {
  return signToken(TEST_API, claims, { audience: TOKEN_AUDIENCE.join, expiresIn });
}

/** A signaling client that has joined a room, recording every notification it gets. Services present the secret. */
export async function joinRoom(
  httpUrl: string,
  room: string,
  displayName: string,
  kind: PeerKind = 'phone',
  extra: Pick<RequestData<'join'>, 'token' | 'password' | 'e2eeCapable' | 'region'> = {},
) {
  const client = await SignalingClient.connect(signalingUrl(httpUrl));
  const received: { name: NotificationName; data: unknown }[] = [];
  const names = [
    'peerJoined',
    'peerLeft',
    'peerUpdated',
    'newConsumer',
    'consumerClosed',
    'chat',
    'mediaRestart',
    'disconnected',
    'activeSpeaker',
    'roleChanged',
    'waitingForHost',
    'e2eeChanged',
    'e2eeMessage',
  ] as const;
  for (const name of names) client.on(name, (data) => received.push({ name, data }));
  const service = kind !== 'web';
  const joined = await client.request('join', { room, displayName, kind, secret: service ? TEST_SERVICE_SECRET : undefined, ...extra });
  const notificationsOf = <N extends NotificationName>(name: N) =>
    received.filter((r) => r.name === name).map((r) => r.data as NotificationData<N>);
  return { client, joined, received, notificationsOf };
}

export type Joined = Awaited<ReturnType<typeof joinRoom>>;

export const OPUS = { mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 };
export const PCMU = { mimeType: 'audio/PCMU', payloadType: 0, clockRate: 8000, channels: 1 };
type PlainCodec = typeof OPUS;

/** A service that sends RTP from a UDP socket into a comedia plain transport and produces it. */
export async function produceFromSocket(peer: Joined, codec: PlainCodec, ssrc: number) {
  const transport = await peer.client.request('createPlainTransport', { comedia: true, rtcpMux: true });
  const sender = new RtpSender();
  await sender.bind();
  sender.start({ ip: transport.ip, port: transport.port }, { payloadType: codec.payloadType, ssrc, clockRate: codec.clockRate });
  const { producerId } = await peer.client.request('produce', {
    transportId: transport.id,
    kind: 'audio',
    source: 'mic',
    rtpParameters: { codecs: [codec], encodings: [{ ssrc }] },
  });
  return { sender, producerId };
}

/** A service that consumes a producer on a plain transport that sends to a local UDP socket. */
export async function consumeToSocket(peer: Joined, producerId: string) {
  const receiver = new RtpReceiver();
  const port = await receiver.bind();
  const transport = await peer.client.request('createPlainTransport', { comedia: false, rtcpMux: true });
  await peer.client.request('connectPlainTransport', { transportId: transport.id, ip: '127.0.0.1', port });
  const consumer = await peer.client.request('consume', {
    transportId: transport.id,
    producerId,
    rtpCapabilities: peer.joined.routerRtpCapabilities,
  });
  return { receiver, consumer, transportId: transport.id };
}
