import { Send } from 'lucide-preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { CHAT_MAX_LENGTH } from '../../../protocol/protocol.ts';
import type { Conference } from '../lib/conference.ts';
import { SidePanel } from './SidePanel.tsx';

export function ChatPanel({ conference, onClose }: { conference: Conference; onClose: () => void }) {
  const [text, setText] = useState('');
  const list = useRef<HTMLOListElement>(null);
  const messages = conference.chat.value;
  const selfId = conference.selfId.value;

  useEffect(() => {
    list.current?.scrollTo({ top: list.current.scrollHeight });
  }, [messages.length]);

  const send = (event: Event) => {
    event.preventDefault();
    const message = text.trim();
    if (!message) return;
    setText('');
    void conference.sendChat(message);
  };

  return (
    <SidePanel title="Chat" onClose={onClose}>
      <ol class="chat-list" ref={list}>
        {messages.length === 0 && <li class="empty">No messages yet. Say hello!</li>}
        {messages.map((m) => (
          <li key={m.id} class={`chat-message ${m.peerId === selfId ? 'mine' : ''}`}>
            <div class="chat-meta">
              <strong>{m.peerId === selfId ? 'You' : m.displayName}</strong>
              <time>{new Date(m.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}</time>
            </div>
            <p class="chat-text">{m.text}</p>
          </li>
        ))}
      </ol>
      <form class="chat-form" onSubmit={send}>
        <input
          id="chat-input"
          value={text}
          maxLength={CHAT_MAX_LENGTH}
          placeholder="Message everyone"
          autocomplete="off"
          onInput={(e) => setText(e.currentTarget.value)}
        />
        <button class="icon-button primary" type="submit" aria-label="Send" disabled={!text.trim()}>
          <Send size={18} />
        </button>
      </form>
    </SidePanel>
  );
}
