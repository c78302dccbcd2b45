export * from './decide.ts';
export * from './discount.ts';
export * from './effective.ts';
export * from './schema.ts';
export * from './time-zone.ts';
export * from './windows.ts';
