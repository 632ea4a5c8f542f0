// Stateful legacy code: an in-memory inventory, configured once, with sync methods.
'use strict';

class Inventory {
  #stock = new Map();
  #log = [];
  constructor(warehouse, { lowStockAt = 5 } = {}) {
    this.warehouse = warehouse;
    this.lowStockAt = lowStockAt;
  }
  receiveSync(sku, quantity) {
    this.#stock.set(sku, (this.#stock.get(sku) ?? 0) + quantity);
    this.#log.push(`+${quantity} ${sku}`);
    return this.#stock.get(sku);
  }
  shipSync(sku, quantity) {
    const have = this.#stock.get(sku) ?? 0;
    if (have < quantity) throw new RangeError(`only ${have} of ${sku} in ${this.warehouse}`);
    this.#stock.set(sku, have - quantity);
    this.#log.push(`-${quantity} ${sku}`);
    return have - quantity;
  }
  lowStockSync() {
    return [...this.#stock].filter(([, n]) => n <= this.lowStockAt).map(([sku]) => sku);
  }
  historySync() {
    return [...this.#log];
  }
}

module.exports = { Inventory };
