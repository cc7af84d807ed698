/**
 * Waiting for an fd to become readable without blocking the event loop: libuv's uv_poll
 * through the addon, as a promise that an AbortSignal can cancel.
 */
import { native, type PollHandle } from './native.js';
import { BpfError } from './errors.js';

const UV_READABLE = 1;

/** Resolve when `fd` is readable; reject with the signal's reason when aborted. */
export function whenReadable(fd: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const n = native();
    let handle: PollHandle | undefined;
    const finish = (error?: unknown) => {
      if (handle) n.pollStop(handle);
      handle = undefined;
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onAbort = () => finish(signal!.reason);
    const started = n.pollStart(fd, UV_READABLE, (status) => {
      finish(status < 0 ? new BpfError('poll', -status, { subject: `fd ${fd}` }) : undefined);
    });
    if (typeof started === 'number') {
      reject(new BpfError('poll', -started, { subject: `fd ${fd}` }));
      return;
    }
    handle = started;
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
