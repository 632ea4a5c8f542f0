/**
 * Stateful legacy code: an Inventory configured once lives in its own worker; its methods are
 * called through a typed remote, in order, and its state stays there between calls.
 *
 *   pnpm example stateful-instance
 */
import { createInstance } from '@tothread/core';
import type { Inventory } from './legacy/inventory.cjs';

await using inventory = await createInstance<typeof Inventory>('./legacy/inventory.cjs', 'Inventory', 'north', { lowStockAt: 3 });

console.log(`inventory of ${await inventory.warehouse}, in a dedicated worker`);
console.log(`  received: widget -> ${await inventory.receiveSync('widget', 10)}, gadget -> ${await inventory.receiveSync('gadget', 4)}`);
console.log(`  shipped:  widget -> ${await inventory.shipSync('widget', 8)} left`);
await inventory.shipSync('gadget', 9).catch((error: Error) => console.log(`  refused:  ${error.name}: ${error.message}`));
console.log(`  low stock: ${(await inventory.lowStockSync()).join(', ')}`);
console.log(`  history kept in the worker: ${(await inventory.historySync()).join(' ')}`);
