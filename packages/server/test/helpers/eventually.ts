/**
 * Reads until `accept` holds or the time is up, and returns the last reading (the caller
 * asserts on it). For effects the server writes shortly after it answers, such as the
 * authentication journal's batched audit events (flushed every 200 ms).
 */
export async function eventually<T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
