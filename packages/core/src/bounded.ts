/** Caches that cannot grow without end: the oldest entry goes first. */

/** Sets `key` in `map`, first dropping its oldest entry when it holds `limit` already. */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, limit: number): void {
  if (map.size >= limit) map.delete(map.keys().next().value as K);
  map.set(key, value);
}
