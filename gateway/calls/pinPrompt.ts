import type { Call } from './Call.ts';

export interface PinPromptOptions {
  digitTimeoutMs: number;
  maxAttempts: number;
  /** The room a PIN opens, or null for none. */
  lookupPin(pin: string): Promise<string | null>;
}

const MAX_PIN_LENGTH = 16;

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
    if (attempt < options.maxAttempts) {
      void call.say(pin ? 'wrongPin' : 'welcome');
    }
  }
  await call.hangUp('no valid PIN entered', 'goodbye');
  return null;
}

/** Digits up to #; null when the caller went quiet first. */
async function readDigits(call: Call, timeoutMs: number): Promise<string | null> {
  let digits = '';
  for (;;) {
    const digit = await call.nextDigit(timeoutMs);
    if (digit === null) return null;
    if (digit === '#') return digits;
    if (/[0-9]/.test(digit)) digits += digit;
    if (digits.length > MAX_PIN_LENGTH) return digits;
  }
}
