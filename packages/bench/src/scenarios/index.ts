/** Every scenario, in the order `pnpm bench` runs them. */
import type { Scenario } from '../scenario.js';
import { cpu } from './cpu.js';
import { eventLoop } from './event-loop.js';
import { map } from './map.js';
import { overhead } from './overhead.js';
import { seeds } from './seeds.js';
import { soak } from './soak.js';
import { startup } from './startup.js';
import { transfer } from './transfer.js';

/** The scenarios `pnpm bench` runs when none is named, in this order. */
export const SCENARIOS: readonly Scenario[] = [overhead, map, cpu, eventLoop, transfer, startup, seeds, soak];
