export declare function sleepSync(ms: number): void;
export declare function brewCoffeeSync(unitMs: number): 'coffee';
export declare function toastBagelSync(unitMs: number): 'bagel';
