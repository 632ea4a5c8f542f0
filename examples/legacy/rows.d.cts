export declare function readRowsSync(count: number, produced: SharedArrayBuffer): Generator<{ id: number; digest: string }, void, unknown>;
