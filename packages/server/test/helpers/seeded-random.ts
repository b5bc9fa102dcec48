/**
 * The fuzz tests' random source: xorshift32, so a run is replayed from the seed it prints
 * (FLEETPKI_*_FUZZ_SEED). Not for anything but choosing test inputs.
 */
export function seededRandom(seed: number): () => number {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}
