// Preloaded (node --expose-gc --import) into the servers bench/gateway.mjs measures, so it can
// ask each for a full garbage collection before reading its resident memory: otherwise the
// garbage of 5,000 handshakes, collected whenever V8 pleases, is counted as connection memory.
// The 'last-resort' flavour is V8's memory-reducing collection (several rounds, free pages
// given back), so both servers are read in the same settled state.
process.on('SIGUSR2', () => globalThis.gc?.({ type: 'major', execution: 'sync', flavor: 'last-resort' }));
