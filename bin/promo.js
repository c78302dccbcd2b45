#!/usr/bin/env node
// Launcher for the `promo` CLI. The CLI is TypeScript run by Node's type stripping (Node >= 24), so this
// small JS file picks a Node that can run it: the current one when new enough, else the project's pinned
// Node (the `node` devDependency), and forwards arguments, exit status and signals.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const major = Number(process.versions.node.split('.')[0]);

if (major >= 24) {
  await import(entry);
} else {
  const pinned = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(pinned)) {
    process.stderr.write(`promo: needs Node 24 or newer (this is ${process.version}); run "npm install" to get the pinned Node.\n`);
    process.exit(1);
  }
  const child = spawn(pinned, [entry, ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}
