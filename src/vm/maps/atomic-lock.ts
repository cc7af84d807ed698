/**
 * A mutex in one Int32 word of shared memory, for map structures several worker_threads
 * change at once (the kernel's per-bucket raw spin locks). States: 0 free, 1 held, 2 held
 * with waiters (Drepper's "futexes are tricky" mutex), so an uncontended lock and unlock
 * are one atomic each, and a waiter sleeps in Atomics.wait instead of burning the core
 * the holder may need. Critical sections are a few map-structure operations, never
 * program code.
 */

/** Spins before sleeping: a holder usually releases within a few hundred nanoseconds. */
const SPINS = 64;

export function lockWord(words: Int32Array, i: number): void {
  let c = Atomics.compareExchange(words, i, 0, 1);
  for (let n = 0; c !== 0 && n < SPINS; n++) c = Atomics.compareExchange(words, i, 0, 1);
  if (c === 0) return;
  if (c !== 2) c = Atomics.exchange(words, i, 2);
  while (c !== 0) {
    sleep(words, i);
    c = Atomics.exchange(words, i, 2);
  }
}

export function unlockWord(words: Int32Array, i: number): void {
  if (Atomics.exchange(words, i, 0) === 2) Atomics.notify(words, i, 1);
}

let canWait = true;

function sleep(words: Int32Array, i: number): void {
  if (!canWait) return;
  try {
    Atomics.wait(words, i, 2, 1);
  } catch {
    // A browser's main thread may not block: keep spinning there.
    canWait = false;
  }
}
