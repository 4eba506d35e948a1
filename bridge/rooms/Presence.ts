import { randomUUID } from 'node:crypto';
import type { ChatMessage } from '../../protocol/protocol.ts';
import type { Audience } from './Audience.ts';
import type { Peer } from './Peer.ts';

/** Messages kept for those who join later. */
export const CHAT_HISTORY = 100;

/**
 * What participants show each other besides media: their names, raised
 * hands, and the room's chat.
 */
export class Presence {
  readonly #room: Audience;
  readonly #chat: ChatMessage[] = [];

  constructor(room: Audience) {
    this.#room = room;
  }

  /** The latest messages, oldest first. */
  get chatHistory(): readonly ChatMessage[] {
    return this.#chat;
  }

  chat(peer: Peer, text: string): ChatMessage {
    const message: ChatMessage = {
      id: randomUUID(),
      peerId: peer.id,
      displayName: peer.displayName,
      text,
      at: Date.now(),
    };
    this.#keep(message);
    this.#room.broadcast('chat', { message }, peer);
    return message;
  }

  #keep(message: ChatMessage): void {
    this.#chat.push(message);
    if (this.#chat.length > CHAT_HISTORY) this.#chat.shift();
  }

  /** A message said on another bridge serving the room (cascading): kept and told here as if said here. */
  relay(message: ChatMessage): void {
    this.#keep(message);
    this.#room.broadcast('chat', { message });
  }

  setHandRaised(peer: Peer, raised: boolean): void {
    peer.setHandRaised(raised);
    this.#room.announce(peer);
  }

  setDisplayName(peer: Peer, displayName: string): void {
    peer.setDisplayName(displayName);
    this.#room.announce(peer);
  }
}
