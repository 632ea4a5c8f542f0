// The module's types (a team would write these once, or get them from JSDoc).
export declare const VERSION: string;
export declare function parseCsvSync(text: string): string[][];
export declare function summariseSync(rows: string[][], column: number): { rows: number; total: number; fingerprint: string; parsedInThisWorker: number };
export declare const format: { money(n: number): string };
