export declare function countPrimesSync(limit: number, onProgress: (percent: number) => void): number;
