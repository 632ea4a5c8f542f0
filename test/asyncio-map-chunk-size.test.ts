// The chunk-size rule of map() on its own: what the next chunk takes, given what the last one cost
// on its worker. Free of this machine's load; map-level behaviour is in asyncio-map-as-completed.
import { describe, expect, it } from 'vitest';
import { GROWTH, MAX_CHUNK, nextChunkSize, TARGET_CHUNK_MS } from '../packages/core/src/asyncio/chunk-size.js';

describe('nextChunkSize', () => {
  it('aims at about 20 ms of work per chunk from what an item cost', () => {
    expect(TARGET_CHUNK_MS).toBe(20);
    expect(nextChunkSize(10, 20, MAX_CHUNK)).toBe(10); // 2 ms items: 10 a chunk
    expect(nextChunkSize(40, 20, MAX_CHUNK)).toBe(40); // 0.5 ms items
    expect(nextChunkSize(10, 50, MAX_CHUNK)).toBe(4); // 5 ms items: fewer
  });

  it('grows at most 4x the chunk it was sized from, however cheap its items were', () => {
    expect(GROWTH).toBe(4);
    expect(nextChunkSize(1, 0.002, MAX_CHUNK)).toBe(4);
    expect(nextChunkSize(4, 0.01, MAX_CHUNK)).toBe(16);
    // A chunk that cost nothing measurable grows as fast, no faster.
    expect(nextChunkSize(16, 0, MAX_CHUNK)).toBe(64);
  });

  it('stays within 1 and the largest chunk allowed', () => {
    expect(nextChunkSize(2048, 1, MAX_CHUNK)).toBe(MAX_CHUNK);
    expect(nextChunkSize(100, 1, 1)).toBe(1); // an async input goes item by item
    expect(nextChunkSize(1, 500, MAX_CHUNK)).toBe(1); // an item dearer than a chunk goes alone
    expect(nextChunkSize(1, 15, MAX_CHUNK)).toBe(1); // 15 ms: still alone (20 / 15 rounds to 1)
  });
});
