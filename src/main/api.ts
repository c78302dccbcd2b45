import { main } from './runtime.ts';

await main({ api: true, workers: false });
