import { SIGNALING_PATH, type NotificationData, type NotificationName, type PeerKind } from '../../bridge/protocol.ts';
import { SignalingClient } from '../../bridge/signalingClient.ts';
import { TEST_SERVICE_SECRET } from './bridge.ts';

export function signalingUrl(httpUrl: string): string {
  return httpUrl.replace(/^http/, 'ws') + SIGNALING_PATH;
}

/** A signaling client that has joined a room, recording every notification it gets. */
export async function joinRoom(httpUrl: string, room: string, displayName: string, kind: PeerKind = 'phone') {
  const client = await SignalingClient.connect(signalingUrl(httpUrl));
  const received: { name: NotificationName; data: unknown }[] = [];
  const names = ['peerJoined', 'peerLeft', 'peerUpdated', 'newConsumer', 'consumerClosed', 'chat', 'mediaRestart', 'disconnected', 'activeSpeaker'] as const;
  for (const name of names) client.on(name, (data) => received.push({ name, data }));
  const hidden = kind === 'service' || kind === 'recorder';
  const joined = await client.request('join', { room, displayName, kind, secret: hidden ? TEST_SERVICE_SECRET : undefined });
  const notificationsOf = <N extends NotificationName>(name: N) =>
    received.filter((r) => r.name === name).map((r) => r.data as NotificationData<N>);
  return { client, joined, received, notificationsOf };
}
