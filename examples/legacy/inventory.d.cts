export declare class Inventory {
  readonly warehouse: string;
  constructor(warehouse: string, options?: { lowStockAt?: number });
  receiveSync(sku: string, quantity: number): number;
  shipSync(sku: string, quantity: number): number;
  lowStockSync(): string[];
  historySync(): string[];
}
