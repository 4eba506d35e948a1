// The worker that holds every E2EE key and runs every frame through the
// cipher (RTCRtpScriptTransform hands each encoded frame of a sender or
// receiver to its `rtctransform` event here). The page never sees key
// material: it asks for our public key, passes on peers' public keys and
// wrapped keys, and sends what this worker wraps for each peer. Frames that
// do not decrypt are dropped, never played, and counted per sender so the
// page can say whose media it cannot decrypt.
//
// Every sender and receiver of a browser that can encrypt has its transform
// from the start, and frames pass through untouched while E2EE is off:
// Chromium (156) never routes frames through a transform set on a sender or
// receiver that already carries media, so one set when E2EE comes on mid-
// meeting would leave everything in the clear.

import type { FrameCodec } from './FrameCipher.ts';
import { HeldFrames } from './HeldFrames.ts';
import { KeyRing } from './KeyRing.ts';
import { KeyExchangeError, PairwiseKeys, type PeerKey } from './PairwiseKeys.ts';
import { SenderKeys } from './SenderKeys.ts';
import type { Bytes } from './bytes.ts';
import type { SenderKey } from './frameKeys.ts';
import type { FrameCounts, TransformOptions, WorkerReply, WorkerRequest } from '../lib/e2eeWorkerProtocol.ts';

/** The worker-side API we use (the web project's types are the page's, not a worker's). */
interface EncodedFrame {
  data: ArrayBuffer;
}
interface ScriptTransformer {
  readonly options: TransformOptions;
  readonly readable: ReadableStream<EncodedFrame>;
  readonly writable: WritableStream<EncodedFrame>;
  generateKeyFrame?(): Promise<void>;
  sendKeyFrameRequest?(): Promise<void>;
}
interface WorkerScope {
  postMessage(message: WorkerReply): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<WorkerRequest>) => void): void;
  addEventListener(type: 'rtctransform', listener: (event: { transformer: ScriptTransformer }) => void): void;
}
const scope = self as unknown as WorkerScope;

const SUITE = 'AES_128_GCM_SHA256_128';
/** How often the page hears the frame counts (its "cannot decrypt" looks at the latest). */
const REPORT_MS = 1000;

/** Ours while E2EE is on; undefined while frames pass untouched (unless `sealed`). */
let keys: { pairwise: PairwiseKeys; sender: SenderKeys } | undefined;
/** Starts asked for and not yet handled (the queue may hold one behind a stop). */
let startsPending = 0;

const makeKeys = () => Promise.all([PairwiseKeys.create(), SenderKeys.create(SUITE)]);
/**
 * The keys the next start takes, made ahead (when the worker loads, and after each start) so a
 * join into an encrypted meeting does not wait for them. A failure here is the next start's.
 */
let nextKeys = makeKeys();
nextKeys.catch(() => undefined);
/**
 * E2EE is on or coming on: from the moment a start arrives until a stop is handled, nothing
 * passes in the clear. Frames are dropped while the keys are being made (or if making them
 * failed) rather than sent or played unencrypted in a meeting said to be encrypted.
 */
let sealed = false;
let peerKeys = new Map<string, PeerKey>();
let rings = new Map<string, KeyRing>();
/** Live receive transformers by sender, to ask for a keyframe once a key for them arrives. */
const receivers = new Map<string, Set<ScriptTransformer>>();
const senders = new Set<ScriptTransformer>();
/** Frames since the last report, by sender (our own under `self`). */
let counts = new Map<string, FrameCounts>();
/** Key changes whose wrapped keys the page is sending: settled when it says they went. */
const handOuts = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();

function count(peerId: string, field: keyof FrameCounts): void {
  const entry = counts.get(peerId) ?? { encrypted: 0, decrypted: 0, failed: 0 };
  entry[field]++;
  counts.set(peerId, entry);
}

setInterval(() => {
  if (counts.size === 0) return;
  scope.postMessage({ type: 'counts', counts: Object.fromEntries(counts) });
  counts = new Map();
}, REPORT_MS);

function ringOf(peerId: string): KeyRing {
  let ring = rings.get(peerId);
  if (!ring) rings.set(peerId, (ring = new KeyRing(SUITE)));
  return ring;
}

/** Keyframes so that a receiver holding a new key need not wait for the next one. */
function requestKeyframes(transformers: Iterable<ScriptTransformer>, ask: 'generateKeyFrame' | 'sendKeyFrameRequest'): void {
  for (const transformer of transformers) {
    if (transformer.options.kind === 'video') transformer[ask]?.().catch(() => undefined);
  }
}

async function wrapFor(key: SenderKey, to: readonly string[]): Promise<{ to: string; wrapped: string }[]> {
  return Promise.all(to.filter((peerId) => peerKeys.has(peerId)).map(async (peerId) => ({ to: peerId, wrapped: await peerKeys.get(peerId)!.wrap(key) })));
}

function on(): { pairwise: PairwiseKeys; sender: SenderKeys } {
  if (!keys) throw new Error('end-to-end encryption is off');
  return keys;
}

async function handle(request: WorkerRequest): Promise<unknown> {
  switch (request.op) {
    case 'start': {
      try {
        const made = nextKeys;
        nextKeys = makeKeys();
        nextKeys.catch(() => undefined);
        const [pairwise, sender] = await made;
        keys = { pairwise, sender };
        return pairwise.publicKey;
      } finally {
        startsPending--;
      }
    }
    case 'stop':
      keys = undefined;
      sealed = startsPending > 0;
      peerKeys = new Map();
      rings = new Map();
      // Receivers may hold frames their decoder could not use: start again from a keyframe.
      requestKeyframes(senders, 'generateKeyFrame');
      return undefined;
    case 'addPeer':
      peerKeys.set(request.peerId, await on().pairwise.withPeer(request.publicKey));
      return undefined;
    case 'removePeer':
      peerKeys.delete(request.peerId);
      rings.delete(request.peerId);
      receivers.delete(request.peerId);
      return undefined;
    case 'wrapCurrent':
      return wrapFor(on().sender.current, request.to);
    case 'change': {
      // The page sends the wrapped keys, then says so ('handedOut'): frames stay under the old key till then.
      const { id, how, to } = request;
      const { sender } = on();
      const beforeUse = async (key: SenderKey) => {
        const settled = new Promise<void>((resolve, reject) => handOuts.set(id, { resolve, reject }));
        scope.postMessage({ type: 'handOut', id, messages: await wrapFor(key, to) });
        await settled;
      };
      await (how === 'ratchet' ? sender.ratchet(beforeUse) : sender.rotate(beforeUse));
      requestKeyframes(senders, 'generateKeyFrame');
      return undefined;
    }
    case 'handedOut': {
      const handOut = handOuts.get(request.changeId);
      handOuts.delete(request.changeId);
      if (request.error) handOut?.reject(new Error(request.error));
      else handOut?.resolve();
      return undefined;
    }
    case 'setKey': {
      const peerKey = peerKeys.get(request.peerId);
      if (!peerKey) throw new KeyExchangeError('a key from a peer whose public key we do not have');
      if (await ringOf(request.peerId).setKey(await peerKey.unwrap(request.wrapped))) {
        // Asked even of a receiver that holds a keyframe (HeldFrames): it may be under a key from before the one just set.
        requestKeyframes(receivers.get(request.peerId) ?? [], 'sendKeyFrameRequest');
      }
      return undefined;
    }
  }
}

/**
 * Requests one after another, so a quick on-off-on cannot leave keys from an
 * earlier start; all but `handedOut`, which settles the change queued ahead of it.
 */
let queue: Promise<unknown> = Promise.resolve();

scope.addEventListener('message', ({ data: request }) => {
  if (request.op === 'start') {
    // At once, not when the queue gets to it: frames from now on wait for the keys.
    startsPending++;
    sealed = true;
  }
  if (request.op === 'stop') {
    // At once too: a key change waiting for its hand-out holds the queue, and the stop behind it.
    for (const { reject } of handOuts.values()) reject(new Error('end-to-end encryption turned off'));
    handOuts.clear();
  }
  const handled = request.op === 'handedOut' ? handle(request) : (queue = queue.catch(() => undefined).then(() => handle(request)));
  handled.then(
    (result) => scope.postMessage({ type: 'reply', id: request.id, result }),
    (error: Error) => scope.postMessage({ type: 'reply', id: request.id, error: error.message }),
  );
});

/**
 * Receivers that dropped a video frame (it did not decrypt: its key had not
 * come yet) and have not decrypted a keyframe since, with when they last
 * asked for one. Decrypting again is not enough: the decoder needs a
 * keyframe, and the one asked for when the key came may itself have come
 * too early. So they keep asking, every KEYFRAME_ASK_MS, until one arrives.
 */
const awaitingKeyframe = new WeakMap<ScriptTransformer, number>();
const KEYFRAME_ASK_MS = 500;

/** VP8's frame tag, in the clear prefix of an encrypted frame too: bit 0 clear on a keyframe. */
function isKeyframe(frame: Bytes): boolean {
  return (frame[0]! & 0x01) === 0;
}

function recoverAfterGap(transformer: ScriptTransformer, frame: Bytes): void {
  if (isKeyframe(frame)) {
    awaitingKeyframe.delete(transformer);
    return;
  }
  const now = Date.now();
  if (now - awaitingKeyframe.get(transformer)! < KEYFRAME_ASK_MS) return;
  awaitingKeyframe.set(transformer, now);
  transformer.sendKeyFrameRequest?.().catch(() => undefined);
}

scope.addEventListener('rtctransform', ({ transformer }) => {
  const { side, kind, peerId } = transformer.options;
  const codec: FrameCodec = kind === 'audio' ? 'opus' : 'vp8';
  const live = side === 'send' ? senders : (receivers.get(peerId) ?? receivers.set(peerId, new Set()).get(peerId)!);
  live.add(transformer);
  const held = new HeldFrames<EncodedFrame>();
  /** Decrypts a received frame and passes it on; false (and dropped) if it does not decrypt. */
  const open = async (frame: EncodedFrame, controller: TransformStreamDefaultController<EncodedFrame>): Promise<boolean> => {
    const result = await ringOf(peerId).decrypt(new Uint8Array(frame.data) as Bytes, codec);
    if (!result.ok) {
      // A dropped video frame breaks the chain of frames after it until the next keyframe.
      if (kind === 'video') awaitingKeyframe.set(transformer, 0);
      count(peerId, 'failed');
      return false;
    }
    if (awaitingKeyframe.has(transformer)) recoverAfterGap(transformer, result.frame);
    frame.data = result.frame.buffer;
    count(peerId, 'decrypted');
    controller.enqueue(frame);
    return true;
  };
  const transform = new TransformStream<EncodedFrame, EncodedFrame>({
    async transform(frame, controller) {
      const data = new Uint8Array(frame.data) as Bytes;
      // Nothing to hide (an empty padding frame).
      if (data.length === 0) return controller.enqueue(frame);
      // E2EE off: as it is; coming on (or its keys failed): not at all.
      if (!keys) return sealed ? undefined : controller.enqueue(frame);
      if (side === 'send') {
        try {
          frame.data = (await keys.sender.encrypt(data, codec)).buffer;
        } catch {
          return; // shorter than its clear prefix: not sent at all rather than sent in the clear
        }
        count(peerId, 'encrypted');
        return controller.enqueue(frame);
      }
      if (kind === 'video' && !ringOf(peerId).hasKeys) {
        // Not decryptable yet: counted as failed now, and as decrypted if it is once the key comes.
        if (!held.hold(frame, isKeyframe(data))) awaitingKeyframe.set(transformer, 0);
        return count(peerId, 'failed');
      }
      // The key came: what was held goes first, in order, up to one that does not decrypt (nothing
      // allocated per frame once the hold is empty).
      if (held.size > 0) {
        for (const early of held.take()) {
          if (!(await open(early, controller))) break;
        }
      }
      await open(frame, controller);
    },
    flush() {
      live.delete(transformer);
    },
  });
  transformer.readable
    .pipeThrough(transform)
    .pipeTo(transformer.writable)
    .catch(() => live.delete(transformer));
});
