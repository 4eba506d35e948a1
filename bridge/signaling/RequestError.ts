import type { ErrorCode } from '../../protocol/protocol.ts';

/** A refusal the client caused; its code and message go back in the error reply. */
export class RequestError extends Error {
  readonly code: ErrorCode;
  /** With `elsewhere`: the bridge to go to (from the room directory). */
  readonly bridgeUrl: string | undefined;
  constructor(code: ErrorCode, message: string, bridgeUrl?: string) {
    super(message);
    this.name = 'RequestError';
    this.code = code;
    this.bridgeUrl = bridgeUrl;
  }
}
