import type { ErrorCode } from '../../protocol/protocol.ts';

/** A refusal the client caused; its code and message go back in the error reply. */
export class RequestError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'RequestError';
    this.code = code;
  }
}
