export * from './charsets.ts';
export * from './code-config.ts';
export * from './code-space.ts';
export * from './generator.ts';
