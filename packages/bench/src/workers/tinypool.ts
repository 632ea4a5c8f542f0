/** The Tinypool worker file: `run(task)` calls the default export with the task. */
export { increment as default } from './tasks.js';
