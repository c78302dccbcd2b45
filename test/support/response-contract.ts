import { afterAll, afterEach } from 'vitest';
import { takeResponseViolations } from '../../src/http/response-contract.ts';

/**
 * Setup file (vitest.config.ts): every response a test's platform sent that did not match the schema its operation
 * declares for that status (HTTP_RESPONSE_VALIDATION, on in test/support/platform.ts) fails the test that caused it.
 * Responses sent outside a test (beforeAll hooks) fail the file's last hook.
 */
function assertNone(where: string): void {
  const violations = takeResponseViolations();
  if (violations.length === 0) return;
  const lines = violations.map((v) => `  ${v.operation} → ${v.status}: ${v.problems.join('; ')}`);
  throw new Error(`${violations.length} response(s) ${where} do not match their declared schema:\n${lines.join('\n')}`);
}

afterEach(() => assertNone('in this test'));
afterAll(() => assertNone("in this file's hooks"));
