import { CodeGenerator, resolveCodeShape } from './src/codes/index.ts';
import { checkedRows } from './src/imports/records.ts';
import { StagingPayload } from './src/imports/staging.ts';
const shape = resolveCodeShape({ prefix: 'MIG-', length: 12 });
const payloads = Array.from({ length: 6 }, () => 'code,redemption_quantity,redeemed_quantity\n' + new CodeGenerator(shape).generate(50_000).map((c, i) => (i % 10 === 0 ? `${c},5,2\n` : `${c},,\n`)).join(''));
for (let k = 0; k < 30; k++) {
  const payload = payloads[k % 6]!;
  const t = performance.now();
  const s = new StagingPayload();
  let n = 0; for (const p of s.pieces(checkedRows({ source: 'csv', payload, firstRow: 1, firstLine: 2 }, shape))) n += p.length;
  if (k % 10 === 9) console.log(Math.round(performance.now() - t), 'ms', s.rows, n);
}
