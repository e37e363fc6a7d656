import { HttpError, HttpErrorCode } from './errors.js';
import type { Reply } from './reply.js';

/**
 * Reads a request body of at most `maxBytes` and parses it as JSON (for `POST /rpc`). Call it
 * synchronously in the route handler, before any `await`: uWS delivers body chunks only to an
 * `onData` attached by then. Each chunk is copied on arrival because uWS neuters its ArrayBuffer
 * when the callback returns. Rejects with PAYLOAD_TOO_LARGE (413) as soon as the limit is passed,
 * without buffering the rest, INVALID_JSON (400), or ABORTED when the client goes away.
 */
export async function readJsonBody(reply: Reply, maxBytes: number): Promise<unknown> {
  return parseJsonBody(await readTextBody(reply, maxBytes));
}

/** Parses a body read by `readTextBody`; INVALID_JSON (400) when it is not JSON. */
export function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(HttpErrorCode.INVALID_JSON, `request body is not JSON: ${(err as Error).message}`);
  }
}

/**
 * `readJsonBody` without the parse: the body as UTF-8 text, for a handler that may pass it on
 * unchanged (the JSON-RPC proxy). The same rules: call it before any `await`; PAYLOAD_TOO_LARGE
 * past `maxBytes`; ABORTED when the client goes away.
 */
export function readTextBody(reply: Reply, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    reply.onAbort(() => {
      if (done) return;
      done = true;
      reject(new HttpError(HttpErrorCode.ABORTED, 'client aborted the request'));
    });
    reply.res.onData((chunk, isLast) => {
      if (done) return;
      size += chunk.byteLength;
      if (size > maxBytes) {
        done = true;
        reject(new HttpError(HttpErrorCode.PAYLOAD_TOO_LARGE, `request body exceeds ${maxBytes} bytes`));
        return;
      }
      chunks.push(Buffer.copyBytesFrom(new Uint8Array(chunk)));
      if (!isLast) return;
      done = true;
      resolve(Buffer.concat(chunks, size).toString('utf8'));
    });
  });
}
