// The worker thread of single-file policy sources: indexes and rewrites the file off the main thread.

import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { readFilesSynchronously, runFileJob, serializeError, type FileJob, type IndexJob } from './file-jobs';

readFilesSynchronously();

// On Linux this thread has its own id and nice value: a lower priority lets the main thread, which serves requests,
// win the CPU when cores are scarce (indexing 300 MB takes this thread a second or two). Elsewhere: no-op.
try {
  const thread = Number(readlinkSync('/proc/thread-self').split('/').pop());
  if (Number.isSafeInteger(thread) && thread > 0) setPriority(thread, 5);
} catch {
  // not Linux, or not allowed: the default priority
}

/**
 * One request from the main thread (off-thread.ts) and its answer; or a warm-up: an index job run for its side
 * effects only (the read buffer sized and faulted in, the code compiled), answered with nothing.
 */
type Request = { readonly id: number; readonly job: FileJob } | { readonly warmUp: IndexJob };

parentPort?.on('message', (request: Request) => {
  if ('warmUp' in request) {
    runFileJob(request.warmUp).catch(() => undefined); // a real job will meet the same problem and report it
    return;
  }
  runFileJob(request.job).then(
    (result) => {
      // A kept file and the offsets are handed over, not copied: their memory is then the main thread's.
      const buffer = 'buffer' in result ? result.buffer : undefined;
      const transfer: ArrayBuffer[] = [];
      let sent = result;
      if (buffer) {
        transfer.push(ownedArrayBuffer(buffer));
        sent = { ...sent, buffer: Buffer.from(transfer[0]!) } as typeof result;
      }
      if ('tenants' in sent) transfer.push(sent.tenants.offsets.buffer as ArrayBuffer);
      parentPort?.postMessage({ id: request.id, ok: true, result: sent }, transfer);
    },
    (error: unknown) => parentPort?.postMessage({ id: request.id, ok: false, error: serializeError(error) }),
  );
});

/** An ArrayBuffer holding exactly `buffer` (a pooled Buffer shares its ArrayBuffer, which must not be moved). */
function ownedArrayBuffer(buffer: Buffer): ArrayBuffer {
  const copy = new ArrayBuffer(buffer.length);
  new Uint8Array(copy).set(buffer);
  return copy;
}
