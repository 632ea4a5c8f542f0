export declare function parseLineSync(line: string): string[];
export declare function failingStepSync(ms: number): never;
