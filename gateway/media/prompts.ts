// The IVR's spoken prompts. Text lives here; the audio is made at install
// time with espeak-ng (scripts/build-prompts.ts) as 8 kHz 16-bit mono WAV,
// and loaded once when the gateway starts.
import fs from 'node:fs';
import path from 'node:path';
import wavefile from 'wavefile';
import { MIX_RATE } from '../../media/codecs.ts';

export const PROMPT_TEXTS = {
  welcome: 'Welcome. Please enter your meeting PIN, followed by the pound key.',
  wrongPin: 'That PIN is not valid. Please try again.',
  goodbye: 'Goodbye.',
  enterPassword: 'This meeting is locked. Please enter the meeting password, followed by the pound key.',
  wrongPassword: 'That password is not correct. Please try again.',
  joining: 'You are joining the meeting.',
  onlyParticipant: 'You are the only participant in this meeting.',
  muted: 'You are muted.',
  unmuted: 'You are unmuted.',
  mutedByModerator: 'A moderator has muted you. Press star six to unmute.',
  handRaised: 'Your hand is raised.',
  handLowered: 'Your hand is lowered.',
  help: 'Press star six to mute or unmute. Press star nine to raise or lower your hand. Press star zero to hear these options again.',
  recording: 'This meeting is being recorded.',
  invited: 'You have been invited to a meeting. Connecting you now.',
  waitingInLobby: 'Please wait, the host will let you in.',
  notAdmitted: 'You were not admitted.',
  notLetIn: 'Nobody let you in. Goodbye.',
  callTimeUp: 'Your call time is up. Goodbye.',
  encryptedMeeting: 'This meeting is end-to-end encrypted and cannot be joined by phone. Goodbye.',
  reconnecting: 'The connection to the meeting was lost. Reconnecting.',
  connectionLost: 'The connection to the meeting could not be restored. Goodbye.',
} as const;

export type PromptName = keyof typeof PROMPT_TEXTS;
export type Prompts = Record<PromptName, Int16Array>;

/** Where a prompt's audio and the text it was made from are kept. */
export function promptFiles(dir: string, name: PromptName): { wav: string; text: string } {
  return { wav: path.join(dir, `${name}.wav`), text: path.join(dir, `${name}.txt`) };
}

export class PromptsMissingError extends Error {
  constructor(dir: string, missing: string[]) {
    super(`PROMPTS_DIR ${dir} lacks prompts (${missing.join(', ')}); make them with: npm run prompts`);
    this.name = 'PromptsMissingError';
  }
}

/** Reads every prompt; fails naming what is missing or stale. */
export function loadPrompts(dir: string): Prompts {
  const prompts: Partial<Prompts> = {};
  const missing: string[] = [];
  for (const name of Object.keys(PROMPT_TEXTS) as PromptName[]) {
    const files = promptFiles(dir, name);
    try {
      if (fs.readFileSync(files.text, 'utf8') !== PROMPT_TEXTS[name]) throw new Error('stale');
      prompts[name] = readWav8k(fs.readFileSync(files.wav));
    } catch {
      missing.push(name);
    }
  }
  if (missing.length) throw new PromptsMissingError(dir, missing);
  return prompts as Prompts;
}

/** 16-bit mono samples of an 8 kHz WAV. */
export function readWav8k(data: Buffer): Int16Array {
  const wav = new wavefile.WaveFile(data);
  const format = wav.fmt as { sampleRate: number; numChannels: number; bitsPerSample: number };
  if (format.sampleRate !== MIX_RATE || format.numChannels !== 1 || format.bitsPerSample !== 16) {
    throw new Error(`expected 8 kHz 16-bit mono, got ${format.sampleRate} Hz ${format.bitsPerSample}-bit x${format.numChannels}`);
  }
  return wav.getSamples(false, Int16Array) as unknown as Int16Array;
}

/** A short beep: someone joined (rising) or left (falling). */
export function tone(kind: 'joined' | 'left'): Int16Array {
  return TONES[kind];
}

/** Made once: every caller hears the same beeps, and a busy room plays many. */
const TONES = { joined: sweep(660, 880), left: sweep(880, 660) };

function sweep(from: number, to: number): Int16Array {
  const half = MIX_RATE * 0.12;
  const out = new Int16Array(half * 2);
  for (let i = 0; i < out.length; i++) {
    const frequency = i < half ? from : to;
    const fade = Math.min(1, i / 80, (out.length - i) / 80);
    out[i] = Math.round(6000 * fade * Math.sin((2 * Math.PI * frequency * i) / MIX_RATE));
  }
  return out;
}
