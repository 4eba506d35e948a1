// The signaling address a client moves to when its room lives on another
// bridge (protocol/SignalingClient.ts signalingUrlOn).
import { describe, expect, it } from 'vitest';
import { SignalingError, signalingUrlOn } from '../../protocol/SignalingClient.ts';

describe('signalingUrlOn', () => {
  it('takes the other bridge\'s origin and keeps our signaling path', () => {
    expect(signalingUrlOn('https://b2.example.com:8443/ignored?x=1', 'wss://b1.example.com/ws')).toBe('wss://b2.example.com:8443/ws');
    expect(signalingUrlOn('http://10.0.0.2:8080', 'ws://10.0.0.1:8080/ws')).toBe('ws://10.0.0.2:8080/ws');
    expect(signalingUrlOn('https://b2.example.com', 'ws://10.0.0.1:8080/ws')).toBe('wss://b2.example.com/ws');
  });

  it('never moves a secure connection to a plain one (a service\'s secret would cross in the clear)', () => {
    expect(() => signalingUrlOn('http://b2.example.com', 'wss://b1.example.com/ws')).toThrow(SignalingError);
    expect(() => signalingUrlOn('http://b2.example.com', 'wss://b1.example.com/ws')).toThrow(/not on HTTPS/);
  });
});
