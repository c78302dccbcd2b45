import { main } from './runtime.ts';

await main({ api: false, workers: true });
