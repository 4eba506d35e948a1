import { SignalingError } from '../../protocol/SignalingClient.ts';
import type { Call } from './Call.ts';

export interface IvrOptions {
  digitTimeoutMs: number;
  maxAttempts: number;
  /**
   * Told of each wrong PIN or password; true when the caller's source is now
   * blocked for failing too often (over all its calls), and the call ends.
   */
  wrongEntry?(what: 'pin' | 'password'): boolean;
}

const BLOCKED = 'source blocked after repeated failures';

export interface PinPromptOptions extends IvrOptions {
  /** The room a PIN opens, or null for none. */
  lookupPin(pin: string): Promise<string | null>;
}

const MAX_DIGITS = 16;

/**
 * The dial-in IVR: "enter your PIN followed by #", re-prompting after a
 * wrong PIN or silence, goodbye after the last attempt. Returns the room, or
 * null when the call was ended.
 */
export async function askForRoom(call: Call, options: PinPromptOptions): Promise<string | null> {
  void call.say('welcome');
  for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
    const pin = await readDigits(call, options.digitTimeoutMs);
    if (call.state === 'ended') return null;
    const room = pin ? await options.lookupPin(pin) : null;
    if (room) return room;
    if (pin && options.wrongEntry?.('pin')) {
      await call.hangUp(BLOCKED, 'goodbye');
      return null;
    }
    if (attempt < options.maxAttempts) {
      void call.say(pin ? 'wrongPin' : 'welcome');
    }
  }
  await call.hangUp('no valid PIN entered', 'goodbye');
  return null;
}

/**
 * Puts the caller in the room; a locked room first asks for its password
 * (digits, then #), with the same attempts and goodbye as the PIN.
 */
export async function joinAskingPassword(call: Call, room: string, options: IvrOptions): Promise<void> {
  if (await joined(call, room)) return;
  void call.sayNow('enterPassword');
  for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
    const password = await readDigits(call, options.digitTimeoutMs);
    if (call.state === 'ended') return;
    if (password && (await joined(call, room, password))) return;
    if (password && options.wrongEntry?.('password')) return call.hangUp(BLOCKED, 'goodbye');
    if (attempt < options.maxAttempts) void call.say(password ? 'wrongPassword' : 'enterPassword');
  }
  await call.hangUp('no valid password entered', 'goodbye');
}

/** False when the room wants a (different) password; other refusals are thrown. */
async function joined(call: Call, room: string, password?: string): Promise<boolean> {
  try {
    await call.join(room, { password });
    return true;
  } catch (error) {
    if (error instanceof SignalingError && error.code === 'passwordRequired') return false;
    throw error;
  }
}

/** Digits up to #; null when the caller went quiet first. */
async function readDigits(call: Call, timeoutMs: number): Promise<string | null> {
  let digits = '';
  for (;;) {
    const digit = await call.nextDigit(timeoutMs);
    if (digit === null) return null;
    if (digit === '#') return digits;
    if (/[0-9]/.test(digit)) digits += digit;
    if (digits.length > MAX_DIGITS) return digits;
  }
}
